"""The transaction manager on the embedded chain, against SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from govledger.chain.client import Web3Chain
from govledger.chain.transactions import build_transaction
from govledger.chain.txmanager import TxManager, TxManagerOptions
from govledger.db.engine import session_scope
from govledger.db.models import AccountNonce, Operation
from govledger.errors import IdempotencyConflictError, PermissionDeniedError, ValidationError
from govledger.operations import WriteRequest
from tests.support.consortium import SET_THRESHOLD, Consortium, deploy_consortium, dept, payload


@pytest.fixture
def chain() -> Web3Chain:
    return Web3Chain("embedded")


@pytest.fixture
def consortium(chain: Web3Chain) -> Consortium:
    return deploy_consortium(chain)


@pytest.fixture
def manager(chain: Web3Chain, migrated_engine: Engine, consortium: Consortium) -> TxManager:
    return TxManager(
        chain,
        migrated_engine,
        consortium.deployment,
        consortium.signers,
        TxManagerOptions(confirmations=1, poll_seconds=0.05),
    )


def propose_threshold(department: str, threshold: int, key: str | None = None) -> WriteRequest:
    body = "0x" + payload(["uint8"], [threshold]).hex()
    return WriteRequest(
        department=department,
        kind="consortium.propose",
        contract="Consortium",
        function="propose",
        args=[SET_THRESHOLD, body],
        idempotency_key=key,
    )


def drain(manager: TxManager, rounds: int = 50) -> None:
    for _ in range(rounds):
        if not manager.run_once():
            return


def test_a_write_is_queued_then_confirmed_with_its_events(manager: TxManager):
    operation = manager.submit(propose_threshold("CS-DRB", 3))
    assert operation.status == "queued" and operation.tx_hash is None
    drain(manager)
    done = manager.get(operation.id)
    assert done.status == "confirmed", done
    assert done.nonce == 0 and done.block_number and done.tx_hash
    (event,) = [e for e in done.result["events"] if e["event"] == "ProposalCreated"]
    assert event["args"]["proposalId"] == 1
    assert event["args"]["proposerDept"] == "0x" + dept("CS-DRB").hex()


def test_same_idempotency_key_and_body_returns_the_same_operation(manager: TxManager, migrated_engine: Engine):
    first = manager.submit(propose_threshold("CS-DRB", 3, key="k-1"))
    again = manager.submit(propose_threshold("CS-DRB", 3, key="k-1"))
    assert again.id == first.id
    with pytest.raises(IdempotencyConflictError):
        manager.submit(propose_threshold("CS-DRB", 2, key="k-1"))
    # The same key is a different operation for another department.
    other = manager.submit(propose_threshold("CS-MSA", 3, key="k-1"))
    assert other.id != first.id
    drain(manager)
    with session_scope(migrated_engine) as session:
        assert len(session.exec(select(Operation)).all()) == 2


def test_a_refused_write_fails_with_the_decoded_custom_error_and_uses_no_nonce(manager: TxManager, migrated_engine):
    refused = manager.submit(
        WriteRequest(
            department="CS-PSB",
            kind="consortium.propose",
            contract="Consortium",
            function="propose",
            args=[SET_THRESHOLD, "0x" + payload(["uint8"], [1]).hex()],
        )
    )
    drain(manager)
    failed = manager.get(refused.id)
    assert failed.status == "failed"
    assert failed.error.name == "ConsortiumMissingRole"
    assert failed.error.args["requiredRoles"] == 1
    assert failed.nonce is None
    ok = manager.submit(propose_threshold("CS-DRB", 3))
    drain(manager)
    assert manager.get(ok.id).nonce == 0


def test_dependent_writes_in_flight_together_all_succeed(manager: TxManager, consortium: Consortium):
    """approve and execute are refused by gas estimation until the proposal they need is mined."""
    propose = manager.submit(propose_threshold("CS-DRB", 3))
    approve = manager.submit(WriteRequest("CS-MSA", "consortium.approve", "Consortium", "approve", [1]))
    execute = manager.submit(WriteRequest("CS-DRB", "consortium.execute", "Consortium", "execute", [1]))
    drain(manager)
    assert [manager.get(op.id).status for op in (propose, approve, execute)] == ["confirmed"] * 3
    assert consortium.contract.call("threshold") == 3


def test_many_writes_from_one_account_get_contiguous_nonces(manager: TxManager, migrated_engine: Engine):
    operations = [manager.submit(propose_threshold("CS-DRB", 2)) for _ in range(60)]
    drain(manager)
    done = [manager.get(op.id) for op in operations]
    assert {op.status for op in done} == {"confirmed"}
    assert sorted(op.nonce for op in done) == list(range(60))
    with session_scope(migrated_engine) as session:
        (row,) = session.exec(select(AccountNonce)).all()
        assert row.next_nonce == 60


def test_bad_arguments_and_unknown_departments_are_refused_before_anything_is_stored(manager: TxManager):
    with pytest.raises(ValidationError):
        manager.submit(WriteRequest("CS-DRB", "consortium.approve", "Consortium", "approve", ["not a number"]))
    with pytest.raises(PermissionDeniedError):
        manager.submit(propose_threshold("CS-NOBODY", 2))


def test_wait_returns_once_confirmed(manager: TxManager):
    manager.start()
    try:
        operation = manager.submit(propose_threshold("CS-DRB", 3))
        done = manager.wait(operation.id, timeout=10)
        assert done.status == "confirmed"
    finally:
        manager.stop()


def test_a_nonce_another_process_reserves_while_this_one_signs_is_not_used_twice(
    manager: TxManager, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine, monkeypatch
):
    """Transactions are signed before the write transaction with predicted nonces (TxManager._presign)."""
    drain_first = manager.submit(propose_threshold("CS-DRB", 3))
    drain(manager)
    assert manager.get(drain_first.id).nonce == 0
    signer = consortium.signers["CS-DRB"]
    presign = manager._presign

    def another_process_takes_nonce_1_meanwhile(*args):
        presigned = presign(*args)  # for nonce 1, as the account's row predicts
        with session_scope(migrated_engine) as session:
            row = session.exec(select(AccountNonce).where(AccountNonce.address == signer.address)).one()
            row.next_nonce += 1
            session.add(row)
        filler = build_transaction(chain, sender=signer.address, to=signer.address, data=b"", nonce=1, gas=21_000)
        chain.send_raw_transaction(signer.sign_transaction(filler).raw)
        return presigned

    monkeypatch.setattr(manager, "_presign", another_process_takes_nonce_1_meanwhile)
    second = manager.submit(propose_threshold("CS-DRB", 2))
    drain(manager)

    done = manager.get(second.id)
    assert done.status == "confirmed" and done.nonce == 2, done
    assert chain.w3.eth.get_transaction(done.tx_hash)["nonce"] == 2  # the bytes sent were signed for nonce 2
    with session_scope(migrated_engine) as session:
        assert session.get(Operation, second.id).attempts == 1  # signed once, never re-queued

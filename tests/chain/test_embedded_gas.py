"""The embedded chain's quick gas estimates: always enough, about as tight as py-evm's binary search."""

from __future__ import annotations

from typing import Any

import pytest
from eth.estimators.gas import binary_gas_search_intrinsic_tolerance

from govledger.chain.artifacts import load_artifact
from govledger.chain.client import CallReverted, Web3Chain
from govledger.chain.embedded_gas import estimate_gas_from_one_run
from govledger.chain.transactions import build_transaction, wait_for_receipt
from tests.contracts.test_record_registry import RECORD, RECORDS, SCHEMA, SHA256, content
from tests.support.consortium import SET_THRESHOLD, deploy_consortium, new_signer, payload


def binary_search_estimate(chain: Web3Chain, tx: dict[str, Any]) -> int:
    """What py-evm's own estimator answers for ``tx``."""
    evm_chain = chain._tester.backend.chain
    evm_chain.gas_estimator = binary_gas_search_intrinsic_tolerance
    try:
        return chain.estimate_gas(tx)
    finally:
        evm_chain.gas_estimator = estimate_gas_from_one_run


def sent_with_exactly(chain: Web3Chain, signer: Any, tx: dict[str, Any], gas: int) -> int:
    """Send ``tx`` with the gas limit ``gas``; the receipt's status."""
    unsigned = build_transaction(
        chain,
        sender=signer.address,
        to=tx.get("to"),
        data=tx.get("data", b""),
        nonce=chain.transaction_count(signer.address),
        gas=gas,
        value=tx.get("value", 0),
    )
    tx_hash = chain.send_raw_transaction(bytes(signer.sign_transaction(unsigned).raw))
    return wait_for_receipt(chain, tx_hash, timeout=10).status


def test_every_estimate_is_enough_and_no_looser_than_the_binary_search():
    chain = Web3Chain()
    consortium = deploy_consortium(chain)
    governor = consortium.signers["CS-DRB"]
    artifact = load_artifact("RecordRegistry")
    cases = {
        "deploy a contract": (
            consortium.deployer,
            {"data": artifact.bytecode + artifact.interface.encode_constructor([consortium.contract.address])},
        ),
        "call a contract": (
            governor,
            {
                "to": consortium.contract.address,
                "data": consortium.contract.encode("propose", SET_THRESHOLD, payload(["uint8"], [1])),
            },
        ),
        "call a contract that calls another": (
            consortium.signers["CS-MSA"],
            {
                "to": consortium.module(RECORDS).address,
                "data": consortium.module(RECORDS).encode("anchorRecord", RECORD, content("v1"), SHA256, SCHEMA, [], 0),
            },
        ),
        "plain transfer": (governor, {"to": new_signer(chain).address, "value": 1}),
    }
    for name, (signer, tx) in cases.items():
        request = {"from": signer.address, **tx}
        fast, searched = chain.estimate_gas(request), binary_search_estimate(chain, request)
        print(f"gas estimate {name}: quick={fast} binary search={searched}")
        # At most the 1/64 a nested call keeps back above what the binary search finds.
        assert 21_000 <= fast <= searched * 64 // 63, name
        assert sent_with_exactly(chain, signer, tx, fast) == 1, name


def test_a_call_that_reverts_still_reports_the_contracts_error():
    chain = Web3Chain()
    consortium = deploy_consortium(chain)
    outsider = new_signer(chain)
    request = {
        "from": outsider.address,
        "to": consortium.contract.address,
        "data": consortium.contract.encode("approve", 1),
    }
    with pytest.raises(CallReverted) as info:
        chain.estimate_gas(request)
    assert consortium.contract.interface.decode_error(info.value.data).name == "ConsortiumNotMember"


def test_the_estimator_survives_a_revert_to_genesis():
    chain = Web3Chain()
    tester = chain._tester
    genesis = tester.take_snapshot()
    deploy_consortium(chain)
    tester.revert_to_snapshot(genesis)
    assert tester.backend.chain.gas_estimator is estimate_gas_from_one_run

"""The transaction manager: turns persisted operations into mined transactions, exactly once each.

Life of an operation (rows in ``operations``):

    queued ──(estimate, reserve nonce, sign: one DB transaction)──> submitted ──(receipt at depth)──> confirmed
       │                                                               │                             or failed
       └──(the contract would refuse it)──> failed                      └──(nonce used by another tx)──> queued

Why it is built this way:
- Nothing is sent before it is persisted. The nonce, the signed bytes and the tx hash are committed in the
  same database transaction that claims the operation; sending happens after the commit. A crash at any
  point leaves either a queued row (signed again later) or a submitted row whose exact bytes are
  re-broadcast, so a transaction can never be sent twice under two different nonces.
- Nonces come from ``account_nonces``, reserved under a row lock (PostgreSQL ``FOR UPDATE``; SQLite
  serialises writers with ``BEGIN IMMEDIATE``), so several workers and several service processes can share
  one account without clashing. Claiming uses ``FOR UPDATE SKIP LOCKED`` so two processes never sign the
  same operation. Many transactions are in flight per account; nothing waits for a receipt to send the next.
- "nonce too low" means look for the receipt, never resend under a new nonce; a transaction that is not
  mined after ``rebroadcast_after`` seconds is re-broadcast unchanged at the same nonce.
- A nonce that can never be used by its operation (the node refuses the bytes for good) is filled with a
  zero-value self-transfer, so later nonces of the account are not stuck behind a gap.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi.exceptions import EncodingError
from sqlalchemy import Engine, bindparam, func, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from govledger.chain.abi import json_friendly
from govledger.chain.client import AlreadyKnownError, CallReverted, Chain, NonceTooLowError, Receipt
from govledger.chain.contracts import BoundContract
from govledger.chain.deploy import Deployment
from govledger.chain.transactions import GAS_MARGIN, build_transaction, explain_failure, revert_error
from govledger.db.engine import is_postgres, session_scope
from govledger.db.in_lists import padded
from govledger.db.models import AccountNonce, Operation, OperationStatus, utc_now
from govledger.errors import (
    ChainError,
    ChainUnavailableError,
    ConfigurationError,
    ContractRevertError,
    GovLedgerError,
    PermissionDeniedError,
    ValidationError,
)
from govledger.keys import SignedTransaction, Signer
from govledger.operations.models import OperationPublic, WriteRequest
from govledger.operations.store import OPERATIONS, Alongside, OperationStore

log = logging.getLogger(__name__)

QUEUED = OperationStatus.QUEUED.value
SUBMITTED = OperationStatus.SUBMITTED.value
CONFIRMED = OperationStatus.CONFIRMED.value
FAILED = OperationStatus.FAILED.value

#: Gas of a plain value transfer, used for the self-transfer that fills an unusable nonce.
TRANSFER_GAS = 21_000
#: In-flight transactions are looked at again at the same chain head only after this long (re-broadcasts,
#: a re-org that kept the height); otherwise only when a new block arrives. Looking costs a query over every
#: in-flight row, and polling runs several times per block.
TRACK_SAME_HEAD_SECONDS = 1.0


@dataclass(frozen=True)
class _Plan:
    """An operation ready to be claimed and signed: its calldata, target and gas are known."""

    operation_id: str
    to: str
    data: bytes
    gas: int


def senders_with_status(chain_id: int, status: str) -> SelectOfScalar[str]:
    """The accounts with operations in ``status``: what the transaction manager asks several times a second.

    Answered from one short range of ix_operations_chain_id_status_sender (migration 0005), however many
    settled operations the ledger holds.
    """
    return select(Operation.sender).where(Operation.chain_id == chain_id, Operation.status == status).distinct()


@dataclass
class TxManagerOptions:
    confirmations: int = 1
    max_in_flight_per_account: int = 512
    batch_size: int = 256
    poll_seconds: float = 0.2
    rebroadcast_after_seconds: float = 30.0
    #: A transaction the node's pool does not count is sent again after this long, then after twice as long
    #: each time the node still does not count it (up to rebroadcast_after_seconds): a restarted node needs
    #: the first re-send at once, a node whose pool is stuck gains nothing from a flood of them.
    forgotten_resend_seconds: float = 2.0
    max_send_refusals: int = 10
    #: How long a nonce may look used by someone else before the operation is signed again.
    foreign_nonce_grace_seconds: float = 3.0


class TxManager:
    """Signs, sends and tracks the operations of the departments whose keys this process holds."""

    def __init__(
        self,
        chain: Chain,
        engine: Engine,
        deployment: Deployment,
        signers: Mapping[str, Signer],
        options: TxManagerOptions | None = None,
    ):
        self.chain = chain
        self.engine = engine
        self.options = options or TxManagerOptions()
        self.store = OperationStore(engine, chain.chain_id)
        self._signers_by_department = dict(signers)
        self._signers_by_address = {signer.address: signer for signer in signers.values()}
        self._contracts = {name: deployment.bind(chain, name) for name in deployment.contracts}
        self._postgres = is_postgres(engine)
        # In-memory bookkeeping only: losing it on a crash makes the next run re-broadcast at once,
        # which is exactly what recovery needs.
        self._last_broadcast: dict[str, float] = {}
        self._foreign_nonce_since: dict[str, float] = {}
        self._send_refusals: dict[str, int] = {}
        self._forgotten_resends: dict[str, int] = {}
        self._wake = threading.Event()
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._settled_listeners: list[Callable[[list[Operation]], None]] = []
        self._tracked_head: int | None = None
        self._tracked_at = float("-inf")

    # ------------------------------------------------------------ what callers use

    def signer_for(self, department: str) -> Signer:
        try:
            return self._signers_by_department[department]
        except KeyError:
            raise PermissionDeniedError(
                f"this service holds no signing key for department {department}",
                code="no_signing_key",
            ) from None

    def contract(self, name: str) -> BoundContract:
        try:
            return self._contracts[name]
        except KeyError:
            raise ConfigurationError(f"contract {name} is not part of this deployment") from None

    def submit(self, request: WriteRequest, alongside: Alongside | None = None) -> OperationPublic:
        """Persist a write (idempotently) and wake the sender; returns the queued operation.

        ``alongside`` stores the caller's rows in the same database transaction (see OperationStore.create).
        """
        signer = self.signer_for(request.department)
        interface = self.contract(request.contract).interface
        try:
            interface.encode_call(request.function, interface.coerce_args(request.function, request.args))
        except (EncodingError, ValueError, TypeError) as exc:
            raise ValidationError(
                f"invalid arguments for {request.function}: {exc}", code="invalid_arguments"
            ) from None
        operation, created = self.store.create(request, signer.address, alongside)
        if created:
            self._wake.set()
        return operation

    def get(self, operation_id: str) -> OperationPublic:
        return self.store.get(operation_id)

    def on_settled(self, listener: Callable[[list[Operation]], None]) -> None:
        """Call ``listener`` with the operations this process saw confirmed or failed, after each round.

        For in-process memories of chain state (department standing, verification answers) that must not
        outlive a change this service itself made.
        """
        self._settled_listeners.append(listener)

    def wait(self, operation_id: str, timeout: float) -> OperationPublic:
        """The operation once confirmed or failed, or as it stands when ``timeout`` seconds have passed."""
        deadline = time.monotonic() + timeout
        while True:
            operation = self.store.get(operation_id)
            remaining = deadline - time.monotonic()
            if operation.finished or remaining <= 0:
                return operation
            with self._changed:
                # Woken by this process's tracker; the timeout covers other processes' progress.
                self._changed.wait(min(remaining, 0.25))

    # ------------------------------------------------------------ background worker

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self.reconcile_nonces()
        self._thread = threading.Thread(target=self._run, name="govledger-txmanager", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.store.stop()

    def _run(self) -> None:
        backoff = self.options.poll_seconds
        while not self._stop.is_set():
            try:
                busy = self.run_once()
                backoff = self.options.poll_seconds
            except GovLedgerError as exc:
                # The node or the database is away; everything is persisted, so just try again later.
                log.warning("transaction manager paused: %s (%s)", exc.message, exc.code)
                busy = False
                backoff = min(backoff * 2, 5.0)
            except Exception:
                log.exception("transaction manager step failed")
                busy = False
                backoff = min(backoff * 2, 5.0)
            if not busy:
                self._wake.wait(backoff)
                self._wake.clear()

    def run_once(self) -> bool:
        """One round: sign and send what is queued, then track what is in flight. True if anything moved."""
        sent = self._send_queued()
        settled = self._track_submitted()
        return sent > 0 or settled > 0

    def reconcile_nonces(self) -> None:
        """Catch up with transactions sent from our accounts by someone else while we were away."""
        for address in self._signers_by_address:
            with session_scope(self.engine) as session:
                row = self._lock_nonce_row(session, address)
                if row is None:
                    continue
                in_flight = session.exec(
                    select(func.count()).where(
                        Operation.chain_id == self.chain.chain_id,
                        Operation.sender == address,
                        Operation.status == SUBMITTED,
                    )
                ).one()
                if in_flight:
                    continue
                pending = self.chain.transaction_count(address, "pending")
                if pending > row.next_nonce:
                    log.info("account %s: nonce moved on chain from %d to %d", address, row.next_nonce, pending)
                    row.next_nonce = pending
                    session.add(row)

    # ------------------------------------------------------------ sending

    def _senders_with(self, status: str) -> list[str]:
        with session_scope(self.engine, read_only=True) as session:
            rows = session.exec(senders_with_status(self.chain.chain_id, status)).all()
        return [sender for sender in rows if sender in self._signers_by_address]

    def _send_queued(self) -> int:
        sent = 0
        for sender in self._senders_with(QUEUED):
            sent += self._send_for(self._signers_by_address[sender])
        return sent

    def _send_for(self, signer: Signer) -> int:
        with session_scope(self.engine, read_only=True) as session:
            in_flight = session.exec(
                select(func.count()).where(
                    Operation.chain_id == self.chain.chain_id,
                    Operation.sender == signer.address,
                    Operation.status == SUBMITTED,
                )
            ).one()
            room = min(self.options.max_in_flight_per_account - int(in_flight), self.options.batch_size)
            if room <= 0:
                return 0
            candidates = session.exec(
                select(Operation)
                .where(
                    Operation.chain_id == self.chain.chain_id,
                    Operation.sender == signer.address,
                    Operation.status == QUEUED,
                )
                .order_by(col(Operation.created_at), col(Operation.id))
                .limit(room)
            ).all()
        plans = self._plan(list(candidates), signer)
        if not plans:
            return 0
        fees = self.chain.fee_fields()
        signed = self._claim_and_sign(signer, plans, fees)
        self._broadcast(signed)
        return len(signed)

    def _plan(self, operations: list[Operation], signer: Signer) -> list[_Plan]:
        """Calldata and gas of each operation, estimated in one batch; fails those the contract refuses."""
        drafts: list[tuple[Operation, BoundContract, bytes]] = []
        for operation in operations:
            contract = self.contract(operation.contract)
            interface = contract.interface
            data = interface.encode_call(
                operation.function, interface.coerce_args(operation.function, json.loads(operation.args_json))
            )
            drafts.append((operation, contract, data))
        estimates = self.chain.estimate_gas_many(
            [{"from": signer.address, "to": contract.address, "data": data} for _, contract, data in drafts]
        )
        plans: list[_Plan] = []
        for (operation, contract, data), estimate in zip(drafts, estimates, strict=True):
            if isinstance(estimate, CallReverted):
                # It may depend on a write accepted before it that is not mined yet (approve after propose,
                # from any department): the refusal is final only once every earlier write has settled.
                if not self._earlier_writes_unsettled(operation):
                    self._fail_unsent(operation.id, revert_error(contract.interface, estimate.data))
                continue
            plans.append(_Plan(operation.id, contract.address, data, int(estimate * GAS_MARGIN)))
        return plans

    def _earlier_writes_unsettled(self, operation: Operation) -> bool:
        with session_scope(self.engine, read_only=True) as session:
            earlier = session.exec(
                select(Operation.id)
                .where(
                    Operation.chain_id == self.chain.chain_id,
                    col(Operation.status).in_([QUEUED, SUBMITTED]),
                    col(Operation.created_at) < operation.created_at,
                )
                .limit(1)
            ).first()
        return earlier is not None

    def _claim_and_sign(self, signer: Signer, plans: list[_Plan], fees: dict[str, int]) -> list[tuple[str, bytes]]:
        """Claim still-queued operations, reserve their nonces and persist the signed bytes, atomically.

        The signing itself is done before the write transaction, with the nonces the account's row predicts:
        signing a few hundred transactions inside it held the database's write lock (which every request
        waits for on SQLite) for tens of milliseconds a round. Inside, each operation gets the nonce the
        reservation actually gives it; a transaction signed for another nonce (another process took some
        meanwhile) is signed again there, so what is stored is always what the reservation decided.
        """
        by_id = {plan.operation_id: plan for plan in plans}
        presigned = self._presign(signer, plans, fees)
        signed: list[tuple[str, bytes]] = []
        with session_scope(self.engine) as session:
            query = select(Operation).where(col(Operation.id).in_(padded(by_id)), Operation.status == QUEUED)
            if self._postgres:
                query = query.with_for_update(skip_locked=True)
            rows = sorted(session.exec(query).all(), key=lambda row: (row.created_at, row.id))
            if not rows:
                return []
            first_nonce = self._reserve_nonces(session, signer.address, len(rows))
            now = utc_now()
            for offset, row in enumerate(rows):
                plan = by_id[row.id]
                nonce = first_nonce + offset
                signed_tx = presigned.get((row.id, nonce)) or self._sign(signer, plan, nonce, fees)
                row.nonce = nonce
                row.gas_limit = plan.gas
                row.raw_tx = signed_tx.raw.hex()
                row.tx_hash = signed_tx.tx_hash
                row.status = SUBMITTED
                row.submitted_at = now
                row.attempts += 1
                session.add(row)
                signed.append((row.id, signed_tx.raw))
        return signed

    def _presign(
        self, signer: Signer, plans: list[_Plan], fees: dict[str, int]
    ) -> dict[tuple[str, int], SignedTransaction]:
        """Each plan signed with the nonce it will get if nobody else reserves any first, by (id, nonce)."""
        with session_scope(self.engine, read_only=True) as session:
            row = session.exec(
                select(AccountNonce.next_nonce).where(
                    AccountNonce.chain_id == self.chain.chain_id, AccountNonce.address == signer.address
                )
            ).first()
        if row is None:
            return {}  # the account's first use: the reservation asks the node
        return {
            (plan.operation_id, row + offset): self._sign(signer, plan, row + offset, fees)
            for offset, plan in enumerate(plans)
        }

    def _sign(self, signer: Signer, plan: _Plan, nonce: int, fees: dict[str, int]) -> SignedTransaction:
        tx = build_transaction(
            self.chain, sender=signer.address, to=plan.to, data=plan.data, nonce=nonce, gas=plan.gas, fees=fees
        )
        return signer.sign_transaction(tx)

    def _lock_nonce_row(self, session: Session, address: str) -> AccountNonce | None:
        query = select(AccountNonce).where(
            AccountNonce.chain_id == self.chain.chain_id, AccountNonce.address == address
        )
        if self._postgres:
            query = query.with_for_update()
        return session.exec(query).first()

    def _reserve_nonces(self, session: Session, address: str, count: int) -> int:
        row = self._lock_nonce_row(session, address)
        if row is None:
            # First use of this account on this chain: start from what the node knows, once.
            start = self.chain.transaction_count(address, "pending")
            insert = pg_insert if self._postgres else sqlite_insert
            session.execute(
                insert(AccountNonce)
                .values(chain_id=self.chain.chain_id, address=address, next_nonce=start)
                .on_conflict_do_nothing()
            )
            row = self._lock_nonce_row(session, address)
            if row is None:
                raise ChainError(f"could not reserve a nonce for {address}")
        first = row.next_nonce
        row.next_nonce = first + count
        session.add(row)
        return first

    def _broadcast(self, signed: list[tuple[str, bytes]]) -> None:
        """Send signed transactions (one JSON-RPC batch), in nonce order; refusals are counted per operation."""
        if not signed:
            return
        now = time.monotonic()
        for operation_id, _ in signed:
            self._last_broadcast[operation_id] = now
        try:
            outcomes = self.chain.send_raw_transactions([raw for _, raw in signed])
        except ChainUnavailableError as exc:
            log.warning("%d operations not sent yet, node unreachable: %s", len(signed), exc.message)
            return
        for (operation_id, _), refusal in zip(signed, outcomes, strict=True):
            if refusal is None or isinstance(refusal, AlreadyKnownError | NonceTooLowError):
                continue  # sent; or already in the pool, or the nonce is used: the tracker looks for the receipt
            refusals = self._send_refusals.get(operation_id, 0) + 1
            self._send_refusals[operation_id] = refusals
            log.warning("node refused operation %s (%d times): %s", operation_id, refusals, refusal.message)

    def _fail_unsent(self, operation_id: str, exc: ContractRevertError) -> None:
        with session_scope(self.engine) as session:
            row = session.get(Operation, operation_id)
            if row is None or row.status != QUEUED:
                return
            row.status = FAILED
            row.error_code = exc.code
            row.error_name = exc.error_name
            row.error_message = exc.message
            row.error_args_json = json.dumps(json_friendly(exc.error_args))
            row.confirmed_at = utc_now()
            session.add(row)
        self._notify()

    # ------------------------------------------------------------ tracking

    def _track_submitted(self) -> int:
        settled = 0
        senders = self._senders_with(SUBMITTED)
        if not senders:
            return 0
        head = self.chain.block_number()
        now = time.monotonic()
        same_head_wait = min(
            TRACK_SAME_HEAD_SECONDS, self.options.rebroadcast_after_seconds, self.options.forgotten_resend_seconds
        )
        if head == self._tracked_head and now - self._tracked_at < same_head_wait:
            return 0  # no new block since the last look: no receipt can have appeared
        self._tracked_head, self._tracked_at = head, now
        for sender in senders:
            settled += self._track_for(self._signers_by_address[sender], head)
        if settled:
            self._notify()
        return settled

    def _track_for(self, signer: Signer, head: int) -> int:
        with session_scope(self.engine, read_only=True) as session:
            in_flight = session.exec(
                select(Operation)
                .where(
                    Operation.chain_id == self.chain.chain_id,
                    Operation.sender == signer.address,
                    Operation.status == SUBMITTED,
                )
                .order_by(col(Operation.nonce))
                .limit(5000)
            ).all()
        if not in_flight:
            return 0
        mined_nonces = self.chain.transaction_count(signer.address, "latest")
        # The node's pool no longer holding a nonce we sent (it restarted, or dropped it) is worth a re-send
        # at once: every later transaction of the account waits behind it.
        known_nonces = mined_nonces
        if any((operation.nonce or 0) >= mined_nonces for operation in in_flight):
            known_nonces = self.chain.transaction_count(signer.address, "pending")
        now = time.monotonic()
        finished: list[tuple[Operation, Receipt]] = []
        requeue: list[str] = []
        fill: list[Operation] = []
        mined_not_final: list[tuple[str, Receipt | None]] = []
        resend: list[tuple[str, bytes]] = []
        mined: list[Operation] = []
        for operation in in_flight:
            assert operation.nonce is not None and operation.tx_hash is not None and operation.raw_tx is not None
            if operation.nonce < mined_nonces:
                mined.append(operation)
                continue
            if operation.block_number is not None:
                mined_not_final.append((operation.id, None))  # re-org took it out of its block
            if self._send_refusals.get(operation.id, 0) >= self.options.max_send_refusals:
                fill.append(operation)
            else:
                since = now - self._last_broadcast.get(operation.id, float("-inf"))
                forgotten = operation.nonce >= known_nonces and since >= self._forgotten_resend_wait(operation.id)
                if forgotten or since >= self.options.rebroadcast_after_seconds:
                    if forgotten:
                        self._forgotten_resends[operation.id] = self._forgotten_resends.get(operation.id, 0) + 1
                    resend.append((operation.id, bytes.fromhex(operation.raw_tx)))
        self._broadcast(resend)
        receipts = self.chain.get_receipts([operation.tx_hash or "" for operation in mined])
        for operation, receipt in zip(mined, receipts, strict=True):
            if receipt is None:
                first_seen = self._foreign_nonce_since.setdefault(operation.id, now)
                if now - first_seen >= self.options.foreign_nonce_grace_seconds:
                    requeue.append(operation.id)
                continue
            self._foreign_nonce_since.pop(operation.id, None)
            if receipt.block_number + self.options.confirmations - 1 <= head:
                finished.append((operation, receipt))
            elif operation.block_hash != receipt.block_hash:
                mined_not_final.append((operation.id, receipt))
        self._record_progress(finished, mined_not_final, requeue)
        for operation in fill:
            self._fill_nonce(signer, operation)
        return len(finished) + len(requeue) + len(fill)

    def _record_progress(
        self,
        finished: list[tuple[Operation, Receipt]],
        mined_not_final: list[tuple[str, Receipt | None]],
        requeue: list[str],
    ) -> None:
        if not (finished or mined_not_final or requeue):
            return
        outcomes = [(operation, receipt, self._outcome(operation, receipt)) for operation, receipt in finished]
        settled: list[Operation] = []
        now = utc_now()
        with session_scope(self.engine) as session:
            # Settled operations are written as plain UPDATEs (hundreds per block under load), not through
            # the ORM's loading and unit of work: the write lock this holds is the one every request waits for.
            still_submitted = self._still_submitted(session, [operation.id for operation, _, _ in outcomes])
            updates: list[dict[str, Any]] = []
            for operation, receipt, (status, fields) in outcomes:
                if operation.id not in still_submitted:
                    continue  # another process settled it first
                values = {
                    "block_number": receipt.block_number,
                    "block_hash": receipt.block_hash,
                    "confirmed_at": now,
                    "status": status,
                    **fields,
                }
                updates.append({"operation_id": operation.id, **values})
                for name, value in values.items():
                    setattr(operation, name, value)
                settled.append(operation)
                self._forget(operation.id)
            _update_by_id(session, updates)
            self._record_reorged_and_requeued(session, mined_not_final, requeue)
            # Before the commit as well as after it: a caller waiting for one of these operations may see it
            # confirmed as soon as it commits, and must not then be answered from a memory that predates it.
            self._tell_settled(settled)
        self._tell_settled(settled)

    def _still_submitted(self, session: Session, operation_ids: list[str]) -> set[str]:
        """Those of ``operation_ids`` no other process has settled (locked until commit on PostgreSQL)."""
        found: set[str] = set()
        for start in range(0, len(operation_ids), 500):
            query = select(Operation.id).where(
                col(Operation.id).in_(padded(operation_ids[start : start + 500])), Operation.status == SUBMITTED
            )
            if self._postgres:
                query = query.with_for_update()
            found.update(session.exec(query).all())
        return found

    def _record_reorged_and_requeued(
        self, session: Session, mined_not_final: list[tuple[str, Receipt | None]], requeue: list[str]
    ) -> None:
        """Rare cases, one row at a time: a re-org moved a transaction; a nonce was used by someone else."""
        for operation_id, maybe_receipt in mined_not_final:
            row = session.get(Operation, operation_id)
            if row is None or row.status != SUBMITTED:
                continue
            row.block_number = maybe_receipt.block_number if maybe_receipt else None
            row.block_hash = maybe_receipt.block_hash if maybe_receipt else None
            session.add(row)
        for operation_id in requeue:
            row = session.get(Operation, operation_id)
            if row is None or row.status != SUBMITTED:
                continue
            log.warning("operation %s: nonce %s was used by another transaction; signing again", row.id, row.nonce)
            row.status = QUEUED
            row.nonce = None
            row.raw_tx = None
            row.tx_hash = None
            row.block_number = None
            row.block_hash = None
            session.add(row)
            self._forget(operation_id)
        if requeue:
            self._wake.set()

    def _tell_settled(self, settled: list[Operation]) -> None:
        if settled:
            for listener in self._settled_listeners:
                try:
                    listener(settled)
                except Exception:
                    log.exception("a listener for settled operations failed")

    def _outcome(self, operation: Operation, receipt: Receipt) -> tuple[str, dict[str, Any]]:
        """Final status and fields of a mined operation: its decoded events, or why it failed."""
        if receipt.status == 1:
            events = []
            for log_entry in receipt.logs:
                for contract in self._contracts.values():
                    event = contract.decode_log(log_entry)
                    if event is not None:
                        events.append(
                            {
                                "contract": contract.name,
                                "event": event.name,
                                "args": json_friendly(event.args),
                                "log_index": log_entry.log_index,
                            }
                        )
                        break
            return CONFIRMED, {"result_json": json.dumps({"events": events}, ensure_ascii=False)}
        contract = self.contract(operation.contract)
        interface = contract.interface
        data = interface.encode_call(
            operation.function, interface.coerce_args(operation.function, json.loads(operation.args_json))
        )
        decoded = explain_failure(
            self.chain,
            interface,
            sender=operation.sender,
            to=contract.address,
            data=data,
            block_number=receipt.block_number,
        )
        return FAILED, {
            "error_code": "contract_reverted",
            "error_name": decoded.name,
            "error_message": f"the contract refused the transaction: {decoded.name}",
            "error_args_json": json.dumps(json_friendly(decoded.args)),
        }

    def _fill_nonce(self, signer: Signer, operation: Operation) -> None:
        """Give up on an operation the node keeps refusing and keep the account's nonces contiguous."""
        assert operation.nonce is not None
        tx = build_transaction(
            self.chain, sender=signer.address, to=signer.address, data=b"", nonce=operation.nonce, gas=TRANSFER_GAS
        )
        filler = signer.sign_transaction(tx)
        with session_scope(self.engine) as session:
            row = session.get(Operation, operation.id)
            if row is None or row.status != SUBMITTED:
                return
            row.status = FAILED
            row.error_code = "send_refused"
            row.error_message = "the node refused this transaction repeatedly; its nonce was filled with a no-op"
            row.result_json = json.dumps({"filler_tx_hash": filler.tx_hash})
            row.confirmed_at = utc_now()
            session.add(row)
        self._forget(operation.id)
        try:
            self.chain.send_raw_transaction(filler.raw)
        except ChainError as exc:
            log.error("could not fill nonce %s of %s: %s", operation.nonce, signer.address, exc.message)
        self._notify()

    def _forgotten_resend_wait(self, operation_id: str) -> float:
        """Seconds since the last send before a transaction the node's pool does not count is sent again."""
        doublings = min(self._forgotten_resends.get(operation_id, 0), 16)
        return min(self.options.forgotten_resend_seconds * 2**doublings, self.options.rebroadcast_after_seconds)

    def _forget(self, operation_id: str) -> None:
        self._forgotten_resends.pop(operation_id, None)
        self._last_broadcast.pop(operation_id, None)
        self._foreign_nonce_since.pop(operation_id, None)
        self._send_refusals.pop(operation_id, None)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()


def _update_by_id(session: Session, updates: list[dict[str, Any]]) -> None:
    """One executemany per set of columns (confirmed and failed operations write different ones)."""
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for values in updates:
        by_columns.setdefault(tuple(sorted(values)), []).append(values)
    for columns, rows in by_columns.items():
        statement = (
            update(OPERATIONS)
            .where(OPERATIONS.c.id == bindparam("operation_id"))
            .values({name: bindparam(name) for name in columns if name != "operation_id"})
        )
        session.connection().execute(statement, rows)

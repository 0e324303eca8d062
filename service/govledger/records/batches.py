"""Merkle batches of records: persisted with every proof before their one transaction is submitted.

Two ways in: the batcher gathers single-record requests that wait in ``records`` (mode "batch", no batch
yet), and a bulk request brings up to 10,000 records at once. Either way one database transaction writes
the batch row and each record's leaf and proof; only then is ``anchorBatch`` submitted, under the
idempotency key ``batch:<id>``, so a crash in between is repaired by submitting again (``resubmit_orphans``)
without ever anchoring a record twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, update
from sqlmodel import Session, col, func, select

from govledger.chain.txmanager import TxManager
from govledger.db.bulk import insert_rows
from govledger.db.engine import is_postgres, session_scope
from govledger.db.in_lists import padded
from govledger.db.models import AnchoredRecord, RecordBatch
from govledger.errors import ConflictError, GovLedgerError, IdempotencyConflictError
from govledger.merkle import RECORD_LEAF_ENCODING, StandardMerkleTree
from govledger.operations import OperationPublic
from govledger.operations.writer import ContractWriter
from govledger.records.models import RecordIn, record_leaf_values

log = logging.getLogger(__name__)

BATCH_MODE = "batch"


def _leaf_values(row: AnchoredRecord) -> list[Any]:
    return record_leaf_values(row.record_id, row.content_hash, row.hash_algorithm, row.schema_id)


class BatchWriter:
    """Builds, persists and submits Merkle batches for one chain."""

    def __init__(self, engine: Engine, tx_manager: TxManager):
        self.engine = engine
        self.tx_manager = tx_manager
        self.writes = ContractWriter(tx_manager, "RecordRegistry")
        self.chain_id = tx_manager.chain.chain_id

    # ------------------------------------------------------------ bulk requests

    def anchor_many(
        self, department: str, records: Sequence[RecordIn], idempotency_key: str | None, request_hash: str
    ) -> tuple[RecordBatch, OperationPublic]:
        """Persist up to 10,000 records as one batch with their proofs, then submit its transaction."""
        if idempotency_key is not None:
            existing = self._batch_by_key(department, idempotency_key)
            if existing is not None:
                if existing.request_hash != request_hash:
                    raise IdempotencyConflictError(
                        "this Idempotency-Key was already used for a different batch",
                        details={"batch_id": existing.id},
                    )
                return existing, self.submit(existing)
        ids = [record.record_id for record in records]
        if len(set(ids)) != len(ids):
            raise ConflictError("the batch names the same record id more than once", code="duplicate_record_id")
        # Ids already anchored are not looked for first: the unique index refuses them in the insert below,
        # and only then is it worth a query to say which one (a look-up of 1,000 ids was 6 % of the request).
        tree = StandardMerkleTree.of([r.leaf_values() for r in records], RECORD_LEAF_ENCODING)
        proofs = tree.proofs_json()
        batch = RecordBatch(
            chain_id=self.chain_id,
            department=department,
            root=tree.root,
            leaf_count=len(records),
            idempotency_key=idempotency_key,
            request_hash=request_hash,
        )
        created_at = batch.created_at  # one request, one moment: the same value converts once (db/bulk.py)
        rows = [
            {
                "chain_id": self.chain_id,
                "record_id": record.record_id,
                "department": department,
                "content_hash": record.content_hash,
                "hash_algorithm": record.hash_algorithm,
                "schema_id": record.schema_id,
                "mode": BATCH_MODE,
                "request_hash": request_hash,
                "batch_id": batch.id,
                "leaf_index": index,
                "leaf_hash": tree.leaf_hash_at(index),
                "proof_json": proofs[index],
                "created_at": created_at,
            }
            for index, record in enumerate(records)
        ]
        try:
            with session_scope(self.engine) as session:
                session.add(batch)
                session.flush()
                insert_rows(session.connection(), AnchoredRecord.__table__, rows)  # type: ignore[attr-defined]
        except ConflictError:
            # A concurrent request took one of the ids (or the same key) first.
            if idempotency_key is not None and self._batch_by_key(department, idempotency_key) is not None:
                return self.anchor_many(department, records, idempotency_key, request_hash)
            self._refuse_existing(ids)
            raise ConflictError("a record in the batch was anchored meanwhile", code="record_exists") from None
        return batch, self.submit(batch)

    # ------------------------------------------------------------ the batcher's work

    def seal_pending(self, department: str, max_size: int) -> RecordBatch | None:
        """Turn up to ``max_size`` waiting records of a department into a persisted batch (not yet submitted)."""
        with session_scope(self.engine) as session:
            query = (
                select(AnchoredRecord)
                .where(
                    AnchoredRecord.chain_id == self.chain_id,
                    AnchoredRecord.mode == BATCH_MODE,
                    col(AnchoredRecord.batch_id).is_(None),
                    AnchoredRecord.department == department,
                )
                .order_by(col(AnchoredRecord.id))
                .limit(max_size)
            )
            if is_postgres(self.engine):
                query = query.with_for_update(skip_locked=True)
            pending = list(session.exec(query).all())
            if not pending:
                return None
            tree = StandardMerkleTree.of([_leaf_values(row) for row in pending], RECORD_LEAF_ENCODING)
            proofs = tree.proofs_json()
            batch = RecordBatch(chain_id=self.chain_id, department=department, root=tree.root, leaf_count=len(pending))
            session.add(batch)
            session.flush()
            session.execute(
                update(AnchoredRecord),
                [
                    {
                        "id": row.id,
                        "batch_id": batch.id,
                        "leaf_index": index,
                        "leaf_hash": tree.leaf_hash_at(index),
                        "proof_json": proofs[index],
                    }
                    for index, row in enumerate(pending)
                ],
            )
        return batch

    def departments_waiting(self) -> dict[str, int]:
        """Departments with records waiting for a batch, and how many."""
        with session_scope(self.engine, read_only=True) as session:
            rows = session.exec(
                select(AnchoredRecord.department, func.count())
                .where(
                    AnchoredRecord.chain_id == self.chain_id,
                    AnchoredRecord.mode == BATCH_MODE,
                    col(AnchoredRecord.batch_id).is_(None),
                )
                .group_by(AnchoredRecord.department)
            ).all()
        return {department: int(count) for department, count in rows}

    def resubmit_orphans(self) -> int:
        """Submit batches persisted before a crash but never handed to the transaction manager."""
        with session_scope(self.engine, read_only=True) as session:
            orphans = session.exec(
                select(RecordBatch).where(
                    RecordBatch.chain_id == self.chain_id, col(RecordBatch.operation_id).is_(None)
                )
            ).all()
        for batch in orphans:
            self.submit(batch)
        return len(orphans)

    # ------------------------------------------------------------ internals

    def submit(self, batch: RecordBatch) -> OperationPublic:
        """Hand a persisted batch to the transaction manager (idempotent: same key, same operation).

        A new operation is linked to its batch in the operation's own database transaction; only an operation
        that already existed (a retry, or a crash between the two steps) is linked afterwards.
        """
        linked: list[str] = []

        def link(session: Session, operation_id: str) -> None:
            session.execute(
                update(RecordBatch).where(col(RecordBatch.id) == batch.id).values(operation_id=operation_id)
            )
            linked.append(operation_id)

        operation = self.writes.submit(
            batch.department,
            "records.anchor_batch",
            "anchorBatch",
            [batch.root, batch.leaf_count],
            f"batch:{batch.id}",
            alongside=None if batch.operation_id else link,
        )
        if batch.operation_id != operation.id and operation.id not in linked:
            with session_scope(self.engine) as session:
                row = session.get(RecordBatch, batch.id)
                if row is not None:
                    row.operation_id = operation.id
                    session.add(row)
        batch.operation_id = operation.id
        return operation

    def _batch_by_key(self, department: str, key: str) -> RecordBatch | None:
        with session_scope(self.engine, read_only=True) as session:
            return session.exec(
                select(RecordBatch).where(RecordBatch.department == department, RecordBatch.idempotency_key == key)
            ).first()

    def _refuse_existing(self, record_ids: list[str]) -> None:
        with session_scope(self.engine, read_only=True) as session:
            for start in range(0, len(record_ids), 500):
                chunk = record_ids[start : start + 500]
                taken = session.exec(
                    select(AnchoredRecord.record_id).where(
                        AnchoredRecord.chain_id == self.chain_id, col(AnchoredRecord.record_id).in_(padded(chunk))
                    )
                ).first()
                if taken is not None:
                    raise ConflictError(
                        f"record {taken} is already anchored; add a new version instead",
                        code="record_exists",
                        details={"record_id": taken},
                    )


class RecordBatcher:
    """Background thread: seals waiting records into batches of up to ``max_size`` at most every ``max_delay``.

    A batch is sealed early as soon as a department has ``max_size`` records waiting, so throughput is
    bounded by the chain's capacity for batch transactions, not by one transaction per record.
    """

    def __init__(self, writer: BatchWriter, *, max_size: int = 1000, max_delay: float = 1.0):
        self.writer = writer
        self.max_size = max_size
        self.max_delay = max_delay
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._queued_since_wake = 0
        self._count_lock = threading.Lock()

    def notify(self) -> None:
        """Called after a record was queued; wakes the batcher at once when a batch could be full."""
        with self._count_lock:
            self._queued_since_wake += 1
            if self._queued_since_wake < self.max_size:
                return
            self._queued_since_wake = 0
        self._wake.set()

    def run_once(self, *, only_full: bool = False) -> int:
        sealed = 0
        self.writer.resubmit_orphans()
        for department, count in self.writer.departments_waiting().items():
            while count > 0 and (not only_full or count >= self.max_size):
                batch = self.writer.seal_pending(department, self.max_size)
                if batch is None:
                    break
                self.writer.submit(batch)
                sealed += 1
                count -= batch.leaf_count
        return sealed

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="govledger-batcher", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            woke_early = self._wake.wait(self.max_delay)
            self._wake.clear()
            try:
                self.run_once(only_full=woke_early)
                if woke_early:
                    continue
            except GovLedgerError as exc:
                log.warning("record batcher paused: %s (%s)", exc.message, exc.code)
            except Exception:
                log.exception("record batcher step failed")

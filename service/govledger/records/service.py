"""The shared-records use cases: anchor one or many, maintain jointly, read history, hand out proofs.

Reads combine the service's own rows (what was asked, the batch and proof) with the indexed chain events
(what the chain says happened: versions, endorsements, maintainers), so a record's history is the chain's.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from govledger.chain.txmanager import TxManager
from govledger.consortium.authority import DepartmentAuthority
from govledger.consortium.departments import Role, decode_department_code, encode_department_code
from govledger.db.engine import session_scope
from govledger.db.in_lists import padded
from govledger.db.models import AnchoredRecord, ChainEvent, RecordBatch, utc_now
from govledger.errors import ConflictError, ContractRevertError, NotFoundError, PermissionDeniedError, ValidationError
from govledger.hashing import HashAlgorithm
from govledger.operations import OperationPublic
from govledger.operations.writer import ContractWriter
from govledger.records.batches import BATCH_MODE, BatchWriter, RecordBatcher
from govledger.records.bundle import build_bundle
from govledger.records.intake import RecordIntake
from govledger.records.models import (
    BatchPublic,
    JointRecordIn,
    MaintainerIn,
    RecordIn,
    RecordPublic,
    VersionIn,
)
from govledger.shortids import encode_short_id

INDIVIDUAL_MODE = "individual"
CONTRACT = "RecordRegistry"


def _request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class RecordService:
    def __init__(self, engine: Engine, tx_manager: TxManager, authority: DepartmentAuthority, batcher: RecordBatcher):
        self.engine = engine
        self.tx_manager = tx_manager
        self.authority = authority
        self.batcher = batcher
        self.writer: BatchWriter = batcher.writer
        self.intake = RecordIntake(engine)
        self.writes = ContractWriter(tx_manager, CONTRACT)
        self.chain_id = tx_manager.chain.chain_id

    # ------------------------------------------------------------ anchoring

    def anchor(self, department: str, record: RecordIn) -> RecordPublic:
        """Queue one record for the next Merkle batch; the same record sent again is the same record."""
        self.tx_manager.signer_for(department)  # refuse at once if this service cannot sign for it
        self.authority.require(department, Role.RECORD_KEEPER)
        fingerprint = _request_hash(record.fingerprint())
        row = {
            "chain_id": self.chain_id,
            "record_id": record.record_id,
            "department": department,
            "content_hash": record.content_hash or "",
            "hash_algorithm": record.hash_algorithm,
            "schema_id": record.schema_id,
            "mode": BATCH_MODE,
            "request_hash": fingerprint,
            "created_at": utc_now(),
        }
        if self.intake.add(row):
            self.batcher.notify()
            return self._public(AnchoredRecord.model_validate(row), queued=True)
        existing = self._row(record.record_id)
        if existing.department != department or existing.request_hash != fingerprint:
            raise ConflictError(
                f"record {record.record_id} is already anchored with other content or by another department; "
                "add a new version instead",
                code="record_exists",
            )
        return self._public(existing)

    def anchor_many(self, department: str, records: list[RecordIn], idempotency_key: str | None) -> BatchPublic:
        """Anchor up to 10,000 records in one Merkle batch and one transaction."""
        self.tx_manager.signer_for(department)
        self.authority.require(department, Role.RECORD_KEEPER)
        request_hash = _request_hash([r.fingerprint() for r in records])
        batch, operation = self.writer.anchor_many(department, records, idempotency_key, request_hash)
        return BatchPublic(
            batch_id=batch.id,
            department=department,
            root=batch.root,
            leaf_count=batch.leaf_count,
            operation=operation.model_dump(mode="json"),
        )

    def anchor_joint(self, department: str, record: JointRecordIn, idempotency_key: str | None) -> OperationPublic:
        """Anchor a record on its own so that co-maintainers can add versions and others endorse them."""
        self.authority.require(department, Role.RECORD_KEEPER)
        if department in record.co_maintainers:
            raise ValidationError("the owner cannot also be a co-maintainer", code="invalid_co_maintainer")
        fingerprint = _request_hash(
            {**record.fingerprint(), "co": record.co_maintainers, "k": record.required_endorsements}
        )
        operation = self.writes.submit(
            department,
            "records.anchor",
            "anchorRecord",
            [
                "0x" + encode_short_id(record.record_id).hex(),
                record.content_hash,
                int(HashAlgorithm.from_name(record.hash_algorithm)),
                "0x" + encode_short_id(record.schema_id).hex(),
                ["0x" + encode_department_code(code).hex() for code in record.co_maintainers],
                record.required_endorsements,
            ],
            idempotency_key,
        )
        row = AnchoredRecord(
            chain_id=self.chain_id,
            record_id=record.record_id,
            department=department,
            content_hash=record.content_hash or "",
            hash_algorithm=record.hash_algorithm,
            schema_id=record.schema_id,
            mode=INDIVIDUAL_MODE,
            request_hash=fingerprint,
            operation_id=operation.id,
        )
        try:
            with session_scope(self.engine) as session:
                session.add(row)
        except ConflictError:
            existing = self._row(record.record_id)
            if existing.operation_id != operation.id:
                raise ConflictError(f"record {record.record_id} is already anchored", code="record_exists") from None
        return operation

    def append_version(
        self, department: str, record_id: str, version: VersionIn, idempotency_key: str | None
    ) -> OperationPublic:
        self._require_named(department, record_id)
        return self.writes.submit(
            department,
            "records.append_version",
            "appendVersion",
            [
                "0x" + encode_short_id(record_id).hex(),
                version.content_hash,
                int(HashAlgorithm.from_name(version.hash_algorithm)),
            ],
            idempotency_key,
        )

    def endorse(self, department: str, record_id: str, version: int, idempotency_key: str | None) -> OperationPublic:
        self._require_named(department, record_id)
        return self.writes.submit(
            department,
            "records.endorse",
            "endorse",
            ["0x" + encode_short_id(record_id).hex(), version],
            idempotency_key,
        )

    def set_maintainer(
        self, department: str, record_id: str, change: MaintainerIn, idempotency_key: str | None
    ) -> OperationPublic:
        owner = decode_department_code(self._on_chain(record_id)["ownerDept"])
        if owner != department:
            raise PermissionDeniedError(
                f"record {record_id} belongs to {owner}; only its owner names maintainers", code="not_record_owner"
            )
        return self.writes.submit(
            department,
            "records.set_maintainer",
            "setMaintainer",
            [
                "0x" + encode_short_id(record_id).hex(),
                "0x" + encode_department_code(change.department).hex(),
                change.named,
            ],
            idempotency_key,
        )

    # ------------------------------------------------------------ reads

    def known_ids(self, record_ids: list[str]) -> set[str]:
        """Which of these record ids this service has anchored or queued already."""
        with session_scope(self.engine, read_only=True) as session:
            rows = session.exec(
                select(AnchoredRecord.record_id).where(
                    AnchoredRecord.chain_id == self.chain_id, col(AnchoredRecord.record_id).in_(padded(record_ids))
                )
            ).all()
        return set(rows)

    def get(self, record_id: str) -> RecordPublic:
        """A record with the status of its anchoring and its full history as the chain recorded it."""
        return self._public(self._row(record_id), with_history=True)

    def lookup(self, record_ids: list[str]) -> tuple[list[RecordPublic], list[str]]:
        """Many records' anchoring state at once (no history), and the ids this service does not know.

        For a department system that sent thousands of records and wants to know which are anchored:
        three queries for the lot instead of four requests' worth per record.
        """
        wanted = list(dict.fromkeys(record_ids))
        with session_scope(self.engine, read_only=True) as session:
            rows = session.exec(
                select(AnchoredRecord).where(
                    AnchoredRecord.chain_id == self.chain_id, col(AnchoredRecord.record_id).in_(padded(wanted))
                )
            ).all()
            batch_ids = {row.batch_id for row in rows if row.batch_id}
            batches = {
                batch.id: batch
                for batch in session.exec(select(RecordBatch).where(col(RecordBatch.id).in_(padded(batch_ids))))
            }
        found = []
        for row in rows:
            batch = batches.get(row.batch_id or "")
            found.append((row, batch, self._operation_id(row, batch)))
        operation_ids = sorted({operation_id for *_, operation_id in found if operation_id})
        operations = {op.id: op for op in self.tx_manager.store.get_many(operation_ids)}
        by_id = {
            row.record_id: self._public_from(row, batch, operations.get(operation_id or ""), [])
            for row, batch, operation_id in found
        }
        return [by_id[i] for i in wanted if i in by_id], [i for i in wanted if i not in by_id]

    def proof_bundle(self, record_id: str) -> dict[str, Any]:
        """The self-contained proof of a batched record, once its batch is on chain."""
        row = self._row(record_id)
        if row.mode != BATCH_MODE:
            raise ValidationError(
                f"record {record_id} is anchored on its own; its proof is the RecordAnchored event",
                code="no_merkle_proof",
            )
        batch = self._batch(row.batch_id)
        operation = self.tx_manager.get(batch.operation_id) if batch and batch.operation_id else None
        if (
            batch is None
            or operation is None
            or operation.status != "confirmed"
            or operation.tx_hash is None
            or operation.block_number is None
            or operation.block_hash is None
        ):
            raise ConflictError(
                f"record {record_id} is not anchored yet; its proof is ready once its batch is confirmed",
                code="proof_not_ready",
            )
        return build_bundle(
            record_id=encode_short_id(row.record_id),
            content_hash=row.content_hash,
            hash_algorithm=row.hash_algorithm,
            schema_id=encode_short_id(row.schema_id),
            proof=json.loads(row.proof_json or "[]"),
            root=batch.root,
            chain_id=self.chain_id,
            contract=self.tx_manager.contract(CONTRACT).address,
            tx_hash=operation.tx_hash,
            block_number=operation.block_number,
            block_hash=operation.block_hash,
            department=row.department,
        )

    # ------------------------------------------------------------ internals

    def _on_chain(self, record_id: str) -> dict[str, Any]:
        """The record as the contract holds it; 404 for a record never anchored on its own."""
        try:
            view: dict[str, Any] = self.tx_manager.contract(CONTRACT).call("recordOf", encode_short_id(record_id))
        except ContractRevertError as exc:
            if exc.error_name == "RecordRegistryUnknownRecord":
                raise NotFoundError(
                    f"no jointly maintained record {record_id} on chain", code="record_not_found"
                ) from None
            raise
        return view

    def _require_named(self, department: str, record_id: str) -> None:
        """Only departments named on a record (owner, co-maintainers) may change or endorse it: 403 otherwise."""
        self.authority.require(department)
        self._on_chain(record_id)
        named = self.tx_manager.contract(CONTRACT).call(
            "isNamed", encode_short_id(record_id), encode_department_code(department)
        )
        if not named:
            raise PermissionDeniedError(f"{department} is not named on record {record_id}", code="not_named_on_record")

    def _row(self, record_id: str, *, missing_ok: bool = False) -> Any:
        with session_scope(self.engine, read_only=True) as session:
            row = session.exec(
                select(AnchoredRecord).where(
                    AnchoredRecord.chain_id == self.chain_id, AnchoredRecord.record_id == record_id
                )
            ).first()
        if row is None and not missing_ok:
            raise NotFoundError(f"no record {record_id}", code="record_not_found")
        return row

    def _batch(self, batch_id: str | None) -> RecordBatch | None:
        if batch_id is None:
            return None
        with session_scope(self.engine, read_only=True) as session:
            return session.get(RecordBatch, batch_id)

    def _public(self, row: AnchoredRecord, *, with_history: bool = False, queued: bool = False) -> RecordPublic:
        """The record as the API shows it; ``queued`` means just stored, so no batch or operation to look up."""
        batch = None if queued else self._batch(row.batch_id)
        operation_id = self._operation_id(row, batch)
        operation = self.tx_manager.get(operation_id) if operation_id else None
        history = self._history(row.record_id) if with_history else []
        return self._public_from(row, batch, operation, history)

    @staticmethod
    def _operation_id(row: AnchoredRecord, batch: RecordBatch | None) -> str | None:
        """A batched record is anchored by its batch's transaction, a record on its own by its own."""
        return batch.operation_id if batch else row.operation_id

    @staticmethod
    def _public_from(
        row: AnchoredRecord,
        batch: RecordBatch | None,
        operation: OperationPublic | None,
        history: list[dict[str, Any]],
    ) -> RecordPublic:
        if operation is None:
            status = "pending"
        elif operation.status == "confirmed":
            status = "anchored"
        elif operation.status == "failed":
            status = "failed"
        else:
            status = "submitted"
        return RecordPublic(
            record_id=row.record_id,
            department=row.department,
            schema_id=row.schema_id,
            hash_algorithm=row.hash_algorithm,
            content_hash=row.content_hash,
            mode=row.mode,
            status=status,
            batch_id=row.batch_id,
            batch_root=batch.root if batch else None,
            leaf_hash=row.leaf_hash,
            operation_id=RecordService._operation_id(row, batch),
            tx_hash=operation.tx_hash if operation else None,
            block_number=operation.block_number if operation else None,
            created_at=row.created_at,
            history=history,
        )

    def _history(self, record_id: str) -> list[dict[str, Any]]:
        subject = "record:0x" + encode_short_id(record_id).hex()
        with session_scope(self.engine, read_only=True) as session:
            events = session.exec(
                select(ChainEvent)
                .where(ChainEvent.chain_id == self.chain_id, ChainEvent.subject_id == subject)
                .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))
            ).all()
        return [
            {
                "event": event.event_name,
                "department": event.department,
                "action_seq": event.action_seq,
                "args": json.loads(event.args_json),
                "block_number": event.block_number,
                "tx_hash": event.tx_hash,
                "log_index": event.log_index,
                "block_timestamp": event.block_timestamp,
            }
            for event in events
        ]

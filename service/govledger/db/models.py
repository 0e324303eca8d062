"""The govledger database tables (sqlmodel, ``table=True``).

These classes are the single description of the schema: Alembic migrations in ``db/migrations`` must
produce exactly these tables (a test compares them). Change a table here, then add a migration.
Timestamps are timezone-aware UTC on both SQLite and PostgreSQL (sqlmodel's UTCDateTime type).
Numbers that come from the chain (block numbers, nonces, gas, chain ids) are BIGINT because
permissioned networks are free to use values beyond 32 bits.
"""

import uuid
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, Integer, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# SQLite only auto-numbers a column declared exactly INTEGER PRIMARY KEY, so BIGINT elsewhere only.
_BIG_AUTOINCREMENT = BigInteger().with_variant(Integer, "sqlite")


def utc_now() -> datetime:
    """The current time as an aware UTC datetime, the only kind stored in the database."""
    return datetime.now(UTC)


def new_id() -> str:
    """A random primary key (uuid4 as 32 hex characters)."""
    return uuid.uuid4().hex


class OperationStatus(StrEnum):
    """Life cycle of an Operation: queued -> submitted -> confirmed | failed."""

    QUEUED = "queued"
    SUBMITTED = "submitted"
    CONFIRMED = "confirmed"
    FAILED = "failed"


class Operation(SQLModel, table=True):
    """One requested chain transaction, tracked from the API request until it is mined or fails.

    ``(department, idempotency_key)`` is unique so a retried request finds its first operation;
    ``request_hash`` lets the caller tell a genuine retry from a reused key with a different body.
    ``raw_tx`` keeps the signed transaction so it can be re-broadcast unchanged with the same nonce.
    """

    __tablename__ = "operations"
    __table_args__ = (
        UniqueConstraint("department", "idempotency_key", name="uq_operations_department_idempotency_key"),
        Index("ix_operations_chain_id_sender_nonce", "chain_id", "sender", "nonce"),
        Index("ix_operations_status_created_at", "status", "created_at"),
        # Which accounts have work waiting (the transaction manager's poll): see migration 0005.
        Index("ix_operations_chain_id_status_sender", "chain_id", "status", "sender"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    department: str = Field(index=True)
    kind: str
    idempotency_key: str | None = None
    request_hash: str
    contract: str
    function: str
    args_json: str = Field(sa_type=Text)
    sender: str = Field(index=True)
    chain_id: int = Field(sa_type=BigInteger)
    # Indexed through ix_operations_status_created_at, whose leading column serves lookups by status.
    status: str = Field(default=OperationStatus.QUEUED.value)
    nonce: int | None = Field(default=None, sa_type=BigInteger)
    tx_hash: str | None = Field(default=None, index=True)
    raw_tx: str | None = Field(default=None, sa_type=Text)
    gas_limit: int | None = Field(default=None, sa_type=BigInteger)
    block_number: int | None = Field(default=None, sa_type=BigInteger)
    block_hash: str | None = None
    error_code: str | None = None
    error_name: str | None = None
    error_message: str | None = None
    error_args_json: str | None = Field(default=None, sa_type=Text)
    result_json: str | None = Field(default=None, sa_type=Text)
    attempts: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs={"onupdate": utc_now})
    submitted_at: datetime | None = None
    confirmed_at: datetime | None = None


class AccountNonce(SQLModel, table=True):
    """The next nonce to use for a sending account, reserved under a row lock by the tx manager."""

    __tablename__ = "account_nonces"

    chain_id: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    address: str = Field(primary_key=True)
    next_nonce: int = Field(sa_type=BigInteger)


class ApiKey(SQLModel, table=True):
    """An API key of a department. Only ``prefix`` (the lookup part) is stored in clear."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("prefix", name="uq_api_keys_prefix"),)

    id: str = Field(default_factory=new_id, primary_key=True)
    prefix: str
    secret_hash: str
    department: str = Field(index=True)
    role: str
    label: str
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ChainEvent(SQLModel, table=True):
    """A contract event seen by the indexer; ``(chain_id, tx_hash, log_index)`` makes replays idempotent."""

    __tablename__ = "chain_events"
    # Every audit query filters on chain_id and reads in (block_number, log_index) order with a keyset
    # cursor, so each filter has an index that ends in that order: a page is then an index range read,
    # however deep, instead of a sort of every matching row (see docs/AUDITING.md and scripts/bench-audit).
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_chain_events_chain_id_tx_hash_log_index"),
        Index("ix_chain_events_chain_id_block_number_log_index", "chain_id", "block_number", "log_index"),
        Index("ix_chain_events_chain_id_department_action_seq", "chain_id", "department", "action_seq"),
        Index("ix_chain_events_chain_id_department_block", "chain_id", "department", "block_number", "log_index"),
        Index("ix_chain_events_chain_id_subject_id_block", "chain_id", "subject_id", "block_number", "log_index"),
        Index("ix_chain_events_chain_id_event_name_block", "chain_id", "event_name", "block_number", "log_index"),
        # Turns a time range into a block range (block timestamps never decrease along the chain).
        Index("ix_chain_events_chain_id_block_timestamp", "chain_id", "block_timestamp", "block_number"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_BIG_AUTOINCREMENT)
    chain_id: int = Field(sa_type=BigInteger)
    contract_address: str
    contract_name: str
    event_name: str
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    tx_hash: str
    log_index: int
    department: str | None = None
    subject_id: str | None = None
    action_seq: int | None = Field(default=None, sa_type=BigInteger)
    args_json: str = Field(sa_type=Text)
    block_timestamp: int | None = Field(default=None, sa_type=BigInteger)


class IndexerCheckpoint(SQLModel, table=True):
    """How far an indexer has processed the chain; it resumes from here after a restart."""

    __tablename__ = "indexer_checkpoints"

    name: str = Field(primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    block_number: int = Field(sa_type=BigInteger)
    block_hash: str
    updated_at: datetime = Field(default_factory=utc_now, sa_column_kwargs={"onupdate": utc_now})


class IndexedBlock(SQLModel, table=True):
    """The hash of each block the indexer processed, to notice when the chain re-organised under it."""

    __tablename__ = "indexed_blocks"

    chain_id: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    block_number: int = Field(primary_key=True, sa_type=BigInteger, sa_column_kwargs={"autoincrement": False})
    block_hash: str


class RecordBatch(SQLModel, table=True):
    """A Merkle batch of records anchored by one ``anchorBatch`` transaction.

    The batch row and its records' proofs are committed before the operation is submitted; a batch whose
    ``operation_id`` is still empty after a crash is submitted again under the same idempotency key.
    """

    __tablename__ = "record_batches"
    __table_args__ = (
        UniqueConstraint("chain_id", "root", name="uq_record_batches_chain_id_root"),
        UniqueConstraint("department", "idempotency_key", name="uq_record_batches_department_idempotency_key"),
    )

    id: str = Field(default_factory=new_id, primary_key=True)
    chain_id: int = Field(sa_type=BigInteger)
    department: str = Field(index=True)
    root: str
    leaf_count: int
    operation_id: str | None = Field(default=None, index=True)
    idempotency_key: str | None = None
    request_hash: str | None = None
    created_at: datetime = Field(default_factory=utc_now)


class AnchoredRecord(SQLModel, table=True):
    """A shared record's hash and metadata as a department asked to anchor it (never its content).

    ``mode`` is "batch" (a leaf of a Merkle batch, cheap) or "individual" (its own on-chain entry, which
    supports versions, co-maintainers and endorsements). A batch record with no ``batch_id`` is waiting
    for the batcher.
    """

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("chain_id", "record_id", name="uq_records_chain_id_record_id"),
        Index("ix_records_mode_batch_id_department", "mode", "batch_id", "department"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_BIG_AUTOINCREMENT)
    chain_id: int = Field(sa_type=BigInteger)
    record_id: str
    department: str
    content_hash: str
    hash_algorithm: str
    schema_id: str
    mode: str
    request_hash: str
    batch_id: str | None = None
    leaf_index: int | None = None
    leaf_hash: str | None = None
    proof_json: str | None = Field(default=None, sa_type=Text)
    operation_id: str | None = None
    created_at: datetime = Field(default_factory=utc_now)


class IssuedCertificate(SQLModel, table=True):
    """An e-certificate's hashes and metadata as issued through this service (never the document or the
    holder's identity number: only the salted commitment to it).

    The chain is the authority on status; this row lets the service find a certificate by its document
    hash and hand out its QR code and proof.
    """

    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("chain_id", "certificate_id", name="uq_certificates_chain_id_certificate_id"),
        Index("ix_certificates_document_hash", "document_hash"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=_BIG_AUTOINCREMENT)
    chain_id: int = Field(sa_type=BigInteger)
    certificate_id: str
    department: str = Field(index=True)
    certificate_type: str
    document_hash: str
    hash_algorithm: str
    holder_commitment: str
    valid_from: int = Field(sa_type=BigInteger)
    valid_until: int = Field(sa_type=BigInteger)
    request_hash: str
    operation_id: str | None = None
    batch_root: str | None = None
    leaf_index: int | None = None
    proof_json: str | None = Field(default=None, sa_type=Text)
    created_at: datetime = Field(default_factory=utc_now)

"""The tables keep the promises other layers build on: uniqueness, UTC timestamps, 64-bit chain numbers."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine
from sqlmodel import col, select

from govledger.db.engine import session_scope
from govledger.db.models import ApiKey, ChainEvent, IndexedBlock, Operation, OperationStatus
from govledger.errors import ConflictError


def operation(department: str = "CS-MSA", idempotency_key: str | None = "key-1") -> Operation:
    return Operation(
        department=department,
        kind="records.anchor",
        idempotency_key=idempotency_key,
        request_hash="ab" * 32,
        contract="RecordRegistry",
        function="anchor",
        args_json="{}",
        sender="0x" + "11" * 20,
        chain_id=1337,
    )


def chain_event(tx_hash: str = "0x" + "aa" * 32, log_index: int = 0, block_number: int = 10) -> ChainEvent:
    return ChainEvent(
        chain_id=1337,
        contract_address="0x" + "22" * 20,
        contract_name="RecordRegistry",
        event_name="RecordAnchored",
        block_number=block_number,
        block_hash="0x" + "bb" * 32,
        tx_hash=tx_hash,
        log_index=log_index,
        args_json="{}",
    )


def add_in_own_scope(engine: Engine, row: object) -> None:
    with session_scope(engine) as session:
        session.add(row)


def test_the_same_event_cannot_be_stored_twice(migrated_engine: Engine) -> None:
    add_in_own_scope(migrated_engine, chain_event())

    with pytest.raises(ConflictError):
        add_in_own_scope(migrated_engine, chain_event())


def test_events_at_other_log_positions_are_stored(migrated_engine: Engine) -> None:
    add_in_own_scope(migrated_engine, chain_event(log_index=0))
    add_in_own_scope(migrated_engine, chain_event(log_index=1))
    add_in_own_scope(migrated_engine, chain_event(tx_hash="0x" + "cc" * 32, log_index=0))

    with session_scope(migrated_engine, read_only=True) as session:
        ids = [event.id for event in session.exec(select(ChainEvent).order_by(col(ChainEvent.id))).all()]
    assert all(isinstance(event_id, int) for event_id in ids)
    assert len(set(ids)) == 3


def test_an_idempotency_key_cannot_be_reused_in_one_department(migrated_engine: Engine) -> None:
    add_in_own_scope(migrated_engine, operation())

    with pytest.raises(ConflictError):
        add_in_own_scope(migrated_engine, operation())


def test_departments_may_use_the_same_idempotency_key(migrated_engine: Engine) -> None:
    add_in_own_scope(migrated_engine, operation(department="CS-MSA"))
    add_in_own_scope(migrated_engine, operation(department="CS-HEALTH"))


def test_operations_without_idempotency_key_do_not_collide(migrated_engine: Engine) -> None:
    add_in_own_scope(migrated_engine, operation(idempotency_key=None))
    add_in_own_scope(migrated_engine, operation(idempotency_key=None))


def test_a_new_operation_is_queued_with_no_attempts(migrated_engine: Engine) -> None:
    created = operation()
    add_in_own_scope(migrated_engine, created)

    with session_scope(migrated_engine, read_only=True) as session:
        stored = session.get(Operation, created.id)
    assert stored is not None
    assert stored.status == OperationStatus.QUEUED
    assert stored.attempts == 0
    assert len(stored.id) == 32


def test_timestamps_come_back_as_aware_utc(migrated_engine: Engine) -> None:
    in_another_zone = datetime(2026, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    key = ApiKey(
        prefix="abc123",
        secret_hash="h",
        department="CS-MSA",
        role="operator",
        label="desk",
        expires_at=in_another_zone,
    )
    add_in_own_scope(migrated_engine, key)

    with session_scope(migrated_engine, read_only=True) as session:
        stored = session.get(ApiKey, key.id)
    assert stored is not None
    assert stored.expires_at == in_another_zone
    assert stored.expires_at is not None and stored.expires_at.utcoffset() == timedelta(0)
    assert stored.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - stored.created_at) < timedelta(minutes=1)


def test_api_key_prefixes_are_unique(migrated_engine: Engine) -> None:
    first = ApiKey(prefix="abc123", secret_hash="h1", department="CS-MSA", role="operator", label="a")
    second = ApiKey(prefix="abc123", secret_hash="h2", department="CS-HEALTH", role="operator", label="b")
    add_in_own_scope(migrated_engine, first)

    with pytest.raises(ConflictError):
        add_in_own_scope(migrated_engine, second)


def test_updating_an_operation_moves_updated_at(migrated_engine: Engine) -> None:
    created = operation()
    add_in_own_scope(migrated_engine, created)

    with session_scope(migrated_engine) as session:
        stored = session.get(Operation, created.id)
        assert stored is not None
        stored.status = OperationStatus.SUBMITTED
    assert stored.updated_at > created.updated_at


def test_chain_numbers_beyond_32_bits_are_kept(migrated_engine: Engine) -> None:
    beyond_int32 = 2**40 + 7
    add_in_own_scope(migrated_engine, IndexedBlock(chain_id=beyond_int32, block_number=beyond_int32, block_hash="0x"))

    with session_scope(migrated_engine, read_only=True) as session:
        stored = session.get(IndexedBlock, (beyond_int32, beyond_int32))
    assert stored is not None

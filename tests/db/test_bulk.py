"""insert_rows writes exactly what SQLAlchemy's own insert would, on both databases, in one executemany."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, insert, text
from sqlmodel import col, select

from govledger.db.bulk import insert_rows
from govledger.db.engine import session_scope
from govledger.db.models import AnchoredRecord
from govledger.errors import ConflictError

RECORDS = AnchoredRecord.__table__  # type: ignore[attr-defined]


def rows(prefix: str, count: int) -> list[dict]:
    return [
        {
            "chain_id": 2**40 + 7,  # a 64-bit chain id
            "record_id": f"{prefix}-{i}",
            "department": "CS-MSA",
            "content_hash": f"{i:064x}",
            "hash_algorithm": "sha256",
            "schema_id": "business-licence",
            "mode": "batch",
            "request_hash": "ab" * 32,
            "batch_id": "batch-1",
            "leaf_index": i,
            "leaf_hash": f"{i + 1:064x}",
            "proof_json": '["0x01", "0x02"]',
        }
        for i in range(count)
    ]


def stored(engine: Engine, prefix: str) -> list[AnchoredRecord]:
    with session_scope(engine, read_only=True) as session:
        query = select(AnchoredRecord).where(col(AnchoredRecord.record_id).startswith(prefix))
        return list(session.exec(query.order_by(col(AnchoredRecord.leaf_index))).all())


def comparable(record: AnchoredRecord) -> dict:
    return record.model_dump(exclude={"id", "record_id", "created_at"})


def test_rows_read_back_the_same_as_rows_sqlalchemy_inserted(migrated_engine: Engine):
    before = datetime.now(UTC)
    with session_scope(migrated_engine) as session:
        session.execute(insert(AnchoredRecord), rows("orm", 50))
    with session_scope(migrated_engine) as session:
        insert_rows(session.connection(), RECORDS, rows("fast", 50))

    by_orm, by_insert_rows = stored(migrated_engine, "orm"), stored(migrated_engine, "fast")
    assert len(by_insert_rows) == 50
    assert [comparable(r) for r in by_insert_rows] == [comparable(r) for r in by_orm]
    # The column default (created_at) is applied and comes back as an aware UTC time, as the ORM's does.
    for record in by_insert_rows:
        assert record.created_at.tzinfo is not None and record.created_at.utcoffset().total_seconds() == 0
        assert before <= record.created_at <= datetime.now(UTC)
    assert len({r.id for r in by_insert_rows}) == 50  # the autoincrement key is left to the database
    # Stored in the same form too: SQLite keeps times as text, and range filters compare that text.
    with migrated_engine.connect() as connection:
        raw = dict(connection.execute(text("SELECT record_id, created_at FROM records")).all())
    assert {type(raw["orm-0"]), len(str(raw["orm-0"]))} == {type(raw["fast-0"]), len(str(raw["fast-0"]))}


def test_a_taken_unique_key_rolls_back_every_row(migrated_engine: Engine):
    with session_scope(migrated_engine) as session:
        insert_rows(session.connection(), RECORDS, rows("dup", 1))
    clash = rows("new", 10) + rows("dup", 1)
    with pytest.raises(ConflictError), session_scope(migrated_engine) as session:
        insert_rows(session.connection(), RECORDS, clash)
    assert stored(migrated_engine, "new") == []


def test_no_rows_is_nothing_to_do(migrated_engine: Engine):
    with session_scope(migrated_engine) as session:
        insert_rows(session.connection(), RECORDS, [])
    assert stored(migrated_engine, "") == []

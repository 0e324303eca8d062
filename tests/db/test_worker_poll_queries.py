"""The background worker's frequent question stays cheap however many operations the ledger has settled."""

from __future__ import annotations

import time
import uuid

from sqlalchemy.dialects import sqlite

from govledger.chain.txmanager import senders_with_status
from govledger.db.bulk import insert_rows
from govledger.db.engine import create_db_engine, session_scope
from govledger.db.migrate import upgrade_database
from govledger.db.models import Operation

CHAIN_ID = 31337
OPERATIONS = Operation.__table__  # type: ignore[attr-defined]


def operation(sender: str, status: str, nonce: int | None) -> dict[str, object]:
    return {
        "id": uuid.uuid4().hex, "department": "CS-DRB", "kind": "anchor", "request_hash": "h", "contract": "C",
        "function": "f", "args_json": "[]", "sender": sender, "chain_id": CHAIN_ID, "status": status,
        "nonce": nonce,
    }  # fmt: skip


def test_accounts_with_waiting_work_are_found_from_an_index_range_not_every_operation(sqlite_database_url: str):
    upgrade_database(sqlite_database_url)
    engine = create_db_engine(sqlite_database_url)
    settled = [operation(f"0x{n % 7:040x}", "confirmed", n) for n in range(20_000)]
    waiting = [operation("0x" + "a" * 40, "queued", None), operation("0x" + "b" * 40, "submitted", 1)]
    with session_scope(engine) as session:
        insert_rows(session.connection(), OPERATIONS, settled + waiting)

    query = senders_with_status(CHAIN_ID, "queued")
    sql = str(query.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as connection:
        plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        started = time.perf_counter()
        for _ in range(100):
            found = connection.exec_driver_sql(sql).scalars().all()
        per_query_ms = (time.perf_counter() - started) * 10
    engine.dispose()

    print(f"worker poll: {per_query_ms:.3f} ms per query over 20,002 operations; plan: {plan}")
    assert found == ["0x" + "a" * 40]
    assert "ix_operations_chain_id_status_sender" in plan and "COVERING INDEX" in plan, plan

"""Group commit of single-record requests: many requests, one database transaction (``db/group_commit.py``).

Every accepted record must be in the database before its request is answered (the batcher and a restarted
service find it there). The writer inserts every row that has queued up in one ``INSERT ... ON CONFLICT DO
NOTHING RETURNING``, so a record id sent twice is stored once and each request learns whether it was first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from govledger.db.engine import is_postgres, session_scope
from govledger.db.group_commit import MAX_GROUP, GroupCommitter
from govledger.db.models import AnchoredRecord


class RecordIntake(GroupCommitter[dict[str, Any], bool]):
    """Inserts record rows in groups; ``add`` returns once its row is committed (True) or already existed."""

    def __init__(self, engine: Engine, *, max_group: int = MAX_GROUP):
        super().__init__("record-intake", self._commit_rows, max_group=max_group)
        self.engine = engine
        self._insert = pg_insert if is_postgres(engine) else sqlite_insert

    def add(self, row: dict[str, Any]) -> bool:
        """Commit ``row``; False if a record with its ``(chain_id, record_id)`` was already stored."""
        return self.submit(row)

    def _commit_rows(self, rows: list[dict[str, Any]]) -> list[bool]:
        inserted = self._insert_rows(rows)
        claimed: set[tuple[int, str]] = set()
        firsts = []
        for row in rows:
            key = (row["chain_id"], row["record_id"])
            # The same id twice in one group: the first request inserted it, the second finds it stored.
            firsts.append(key in inserted and key not in claimed)
            claimed.add(key)
        return firsts

    def _insert_rows(self, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
        statement = (
            self._insert(AnchoredRecord)
            .on_conflict_do_nothing(index_elements=["chain_id", "record_id"])
            .returning(col(AnchoredRecord.chain_id), col(AnchoredRecord.record_id))
        )
        with session_scope(self.engine) as session:
            result = session.execute(statement, rows)
            return {(int(chain_id), str(record_id)) for chain_id, record_id in result.all()}

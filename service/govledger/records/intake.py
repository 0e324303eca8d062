"""Group commit of single-record requests: many requests, one database transaction.

Every accepted record must be in the database before its request is answered (the batcher and a restarted
service find it there). Committing each request on its own makes every request queue for SQLite's single
write lock (and costs PostgreSQL a round-trip and a WAL flush each), which bounded the single-record path to
a few hundred requests per second. Here request threads hand their row to one writer thread and wait; the
writer inserts everything that has queued up meanwhile in one ``INSERT ... ON CONFLICT DO NOTHING
RETURNING`` and then answers each request. Under light load a group is one row and nothing waits longer
than one commit; under heavy load groups grow by themselves.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from govledger.db.engine import is_postgres, session_scope
from govledger.db.models import AnchoredRecord
from govledger.errors import DatabaseUnavailableError

log = logging.getLogger(__name__)

#: Rows per transaction at most; a bound on how long one commit holds the write lock.
MAX_GROUP = 1000
#: A request waits this long for its group to commit before it is told to retry.
COMMIT_TIMEOUT_SECONDS = 30.0


@dataclass
class _Pending:
    row: dict[str, Any]
    done: Future[bool] = field(default_factory=Future)


class RecordIntake:
    """Inserts record rows in groups; ``add`` returns once its row is committed (True) or already existed."""

    def __init__(self, engine: Engine, *, max_group: int = MAX_GROUP):
        self.engine = engine
        self.max_group = max_group
        self._insert = pg_insert if is_postgres(engine) else sqlite_insert
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def add(self, row: dict[str, Any]) -> bool:
        """Commit ``row``; False if a record with its ``(chain_id, record_id)`` was already stored."""
        pending = _Pending(row)
        self._queue.put(pending)
        # After the put: if stop() ran meanwhile, its writer may be gone, and this starts the next one.
        self._ensure_started()
        try:
            return pending.done.result(timeout=COMMIT_TIMEOUT_SECONDS)
        except TimeoutError:
            raise DatabaseUnavailableError("the database did not accept the record in time, try again") from None

    def stop(self, timeout: float = 10.0) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="govledger-record-intake", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Pending]) -> None:
        try:
            inserted = self._insert_rows([pending.row for pending in group])
        except Exception as exc:  # every waiting request must hear about it, whatever it was
            for pending in group:
                pending.done.set_exception(exc)
            return
        claimed: set[tuple[int, str]] = set()
        for pending in group:
            key = (pending.row["chain_id"], pending.row["record_id"])
            # The same id twice in one group: the first request inserted it, the second finds it stored.
            first = key in inserted and key not in claimed
            claimed.add(key)
            pending.done.set_result(first)

    def _insert_rows(self, rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
        statement = (
            self._insert(AnchoredRecord)
            .on_conflict_do_nothing(index_elements=["chain_id", "record_id"])
            .returning(col(AnchoredRecord.chain_id), col(AnchoredRecord.record_id))
        )
        with session_scope(self.engine) as session:
            result = session.execute(statement, rows)
            return {(int(chain_id), str(record_id)) for chain_id, record_id in result.all()}

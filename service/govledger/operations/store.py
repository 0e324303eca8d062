"""Writing and reading operation rows: the idempotent entry point of every write.

An operation row is committed before the transaction manager may sign or send anything, so an accepted
request survives a crash. ``(department, idempotency_key)`` is unique in the database; a retried request
with the same key and the same body gets the first operation back, a different body is a 409.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from govledger.db.bulk import insert_rows
from govledger.db.engine import database_error_from, session_scope
from govledger.db.group_commit import GroupCommitter
from govledger.db.in_lists import padded
from govledger.db.models import Operation, OperationStatus
from govledger.errors import ConflictError, IdempotencyConflictError, NotFoundError
from govledger.operations.models import OperationPublic, WriteRequest

#: Writes more rows into the session that creates an operation, given the new operation's id.
Alongside = Callable[[Session, str], None]

OPERATIONS = Operation.__table__  # type: ignore[attr-defined]
_OPERATION_COLUMNS = [column.name for column in OPERATIONS.columns]
#: What the API shows of operations, read as plain rows (no ORM objects, no signed transaction bytes).
_LOOKUP = sa_select(*(column for column in OPERATIONS.columns if column.name != "raw_tx"))


def _column_values(row: Operation) -> dict[str, Any]:
    """The row as its table's columns, for a Core insert (every default was set when the object was made)."""
    return {name: getattr(row, name) for name in _OPERATION_COLUMNS}


class OperationStore:
    """Operation rows of one chain."""

    def __init__(self, engine: Engine, chain_id: int):
        self.engine = engine
        self.chain_id = chain_id
        # Concurrent requests' operations are committed together (db/group_commit.py): with one transaction
        # per request, request threads queued for the database's write lock and bounded certificate issue.
        self._writes: GroupCommitter[tuple[Operation, Alongside | None], None] = GroupCommitter(
            "operation-intake", self._commit_group
        )

    def stop(self) -> None:
        """Let the group-commit writer finish what was handed to it and end (it restarts on the next create)."""
        self._writes.stop()

    def create(
        self, request: WriteRequest, sender: str, alongside: Alongside | None = None
    ) -> tuple[OperationPublic, bool]:
        """Persist a new queued operation, or return the existing one for the same Idempotency-Key.

        ``alongside(session, operation_id)`` adds the caller's own rows (a certificate, say) to the same
        database transaction, so the operation and what it is about are stored together or not at all. When
        one of those rows is refused as a duplicate and the key names no earlier operation, the
        ConflictError reaches the caller. Returns the operation and whether it was created now.
        """
        request_hash = request.request_hash()
        # Insert first and look for the earlier operation only when the key's unique index refuses the row:
        # retries are the exception, so the usual request costs one transaction, not a read and a write.
        row = Operation(
            department=request.department,
            kind=request.kind,
            idempotency_key=request.idempotency_key,
            request_hash=request_hash,
            contract=request.contract,
            function=request.function,
            args_json=json.dumps(request.args, ensure_ascii=False),
            sender=sender,
            chain_id=self.chain_id,
            status=OperationStatus.QUEUED.value,
        )
        try:
            self._writes.submit((row, alongside))
        except ConflictError:
            # A retry (or two identical retries racing): the unique constraint let exactly one in.
            if request.idempotency_key is None:
                raise
            existing = self._by_key(request.department, request.idempotency_key)
            if existing is None:
                raise
            return self._same_request(existing, request_hash), False
        return OperationPublic.from_row(row), True

    def _commit_group(self, items: list[tuple[Operation, Alongside | None]]) -> list[BaseException | None]:
        """One transaction for the group: a duplicate refuses only its own operation.

        The whole group is first written at once (one executemany of the operation rows, then the callers'
        rows); only if that meets a conflict is it written again one savepoint per operation, to find whose
        it is. Conflicts are rare (a retried request), and the ORM's unit of work plus a savepoint for every
        operation cost a fifth of an API process's CPU under certificate issue.

        Any other database error (a connection lost mid-group, say) fails the whole group: the transaction
        cannot be trusted after it, and session_scope turns it into what every caller should hear (503).
        """
        with session_scope(self.engine) as session:
            if len(items) == 1:
                # Alone in its group: its conflict fails the group, which is the same answer to the same caller.
                self._write(session, items)
                return [None]
            if self._write_all_at_once(session, items):
                return [None] * len(items)
            return self._write_one_by_one(session, items)

    def _write_all_at_once(self, session: Session, items: list[tuple[Operation, Alongside | None]]) -> bool:
        """True if the whole group was written; False (nothing written) if one of its items was refused."""
        try:
            with session.begin_nested():
                self._write(session, items)
        except IntegrityError:
            return False
        except SQLAlchemyError:
            raise
        except Exception:  # one caller's own failure: the one-by-one pass tells that caller alone
            return False
        return True

    @staticmethod
    def _write(session: Session, items: list[tuple[Operation, Alongside | None]]) -> None:
        insert_rows(session.connection(), OPERATIONS, [_column_values(row) for row, _ in items])
        for row, alongside in items:
            if alongside is not None:
                alongside(session, row.id)

    def _write_one_by_one(
        self, session: Session, items: list[tuple[Operation, Alongside | None]]
    ) -> list[BaseException | None]:
        outcomes: list[BaseException | None] = []
        for item in items:
            try:
                with session.begin_nested():
                    self._write(session, [item])
                outcomes.append(None)
            except IntegrityError as exc:
                outcomes.append(database_error_from(exc))
            except SQLAlchemyError:
                raise
            except Exception as exc:  # the caller of this one operation hears about it
                outcomes.append(exc)
        return outcomes

    def get(self, operation_id: str) -> OperationPublic:
        with session_scope(self.engine, read_only=True) as session:
            row = session.get(Operation, operation_id)
        if row is None:
            raise NotFoundError(f"no operation {operation_id}", code="operation_not_found")
        return OperationPublic.from_row(row)

    def get_many(self, operation_ids: Sequence[str]) -> list[OperationPublic]:
        """Plain rows without the signed bytes: a system tracking its writes asks about 1,000 at a time."""
        with session_scope(self.engine, read_only=True) as session:
            rows = session.execute(_LOOKUP.where(OPERATIONS.c.id.in_(padded(operation_ids)))).all()
        return [OperationPublic.from_row(row) for row in rows]

    def count_by_status(self) -> dict[str, int]:
        from sqlalchemy import func

        with session_scope(self.engine, read_only=True) as session:
            rows = session.exec(
                select(Operation.status, func.count())
                .where(Operation.chain_id == self.chain_id)
                .group_by(Operation.status)
            ).all()
        return {status: int(count) for status, count in rows}

    def _by_key(self, department: str, key: str) -> Operation | None:
        with session_scope(self.engine, read_only=True) as session:
            return session.exec(
                select(Operation).where(Operation.department == department, Operation.idempotency_key == key)
            ).first()

    @staticmethod
    def _same_request(existing: Operation, request_hash: str) -> OperationPublic:
        if existing.request_hash != request_hash:
            raise IdempotencyConflictError(
                "this Idempotency-Key was already used for a different request; use a new key for a new request",
                details={"operation_id": existing.id},
            )
        return OperationPublic.from_row(existing)

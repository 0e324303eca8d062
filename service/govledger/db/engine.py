"""Engines and sessions for the govledger database (SQLite file by default, PostgreSQL by URL).

Everything that opens a database connection goes through ``create_db_engine`` so that both backends
get the settings the service relies on, and through ``session_scope`` so that a unit of work either
commits as a whole or rolls back. SQLAlchemy exceptions are turned into ``GovLedgerError`` subclasses
here; callers above this layer never see them.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlmodel import Session

from govledger.errors import ConfigurationError, ConflictError, DatabaseUnavailableError, GovLedgerError

SQLITE_BUSY_TIMEOUT_SECONDS = 30.0
# Waiting for the write lock: SQLite's own wait per attempt, then a pause before the next (``_begin_immediate``).
_BEGIN_ATTEMPT_MS = 2
_BEGIN_PAUSE_SECONDS = 0.001
#: Above the API's 40 request threads plus the background workers.
SQLITE_POOL_SIZE = 64
#: Each SQLite connection's own cache of database pages (SQLite's default: 2,000 KiB). Every connection of
#: every process keeps its own, and in WAL mode a connection drops it whenever another one has written since
#: its last transaction, which in this service is nearly always; the file's pages stay in the kernel's page
#: cache either way. Measured in the benchmark (two API processes using 16 connections each under load):
#: SQLite held 7 MiB per API process with the default and 3-4 MiB with 256 KiB, and the service's footprint
#: after the records, certificate and verification rows was 280-281 MiB, 275 with 512 KiB, 268-272 with
#: 256 KiB, with single-record and certificate rates unchanged; 512 KiB keeps twice the pages for reads.
SQLITE_PAGE_CACHE_KIB = 512
POSTGRES_CONNECT_TIMEOUT_SECONDS = 10
POSTGRES_POOL_SIZE = 5
POSTGRES_MAX_OVERFLOW = 10
# Below the usual server/firewall idle limits, so the pool never hands out a connection that was
# silently dropped while it sat idle.
POSTGRES_POOL_RECYCLE_SECONDS = 1800

# Execution option read by the SQLite "begin" hook; see ``_use_immediate_transactions``.
_READ_ONLY_OPTION = "govledger_read_only"

#: One lock per SQLite engine that this process's writing units of work take in turn; see ``session_scope``.
_SQLITE_WRITERS: weakref.WeakKeyDictionary[Engine, threading.RLock] = weakref.WeakKeyDictionary()


def create_db_engine(url: str) -> Engine:
    """Create an engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    No connection is opened here; the first one is opened when the engine is first used.
    """
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _create_sqlite_engine(parsed)
    return _create_postgres_engine(parsed)


def is_postgres(engine: Engine) -> bool:
    """True if ``engine`` talks to PostgreSQL (advisory locks, ``FOR UPDATE`` etc. are available)."""
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """Yield a session whose work is committed on normal exit and rolled back on any exception.

    ``read_only=True`` is for units of work that only read: on SQLite they do not take the write lock
    (so they never wait for writers), on PostgreSQL the transaction is declared READ ONLY.
    Objects loaded in the scope stay usable after it ends (``expire_on_commit=False``).

    On SQLite, this process's writing scopes also queue on a lock of their own before SQLite's write lock.
    Why: a connection that finds the write lock taken sleeps in SQLite's busy handler in growing steps (up
    to 100 ms), so under many concurrent writers the lock sits free while they all sleep; measured, half
    the time of a certificate issue went there. Waiting on a Python lock instead wakes the next writer the
    moment the last one commits. Other processes on the same file still meet the busy handler.
    """
    bind = engine.execution_options(**_read_only_options(engine)) if read_only else engine
    writers = None if read_only else _SQLITE_WRITERS.get(engine)
    with writers or nullcontext():
        session = Session(bind, expire_on_commit=False)
        try:
            yield session
            session.commit()
        except SQLAlchemyError as exc:
            _rollback_quietly(session)
            raise database_error_from(exc) from exc
        except BaseException:
            _rollback_quietly(session)
            raise
        finally:
            session.close()


def _rollback_quietly(session: Session) -> None:
    # The rollback of a connection that already failed can fail too; the first error is the one to report.
    try:
        session.rollback()
    except SQLAlchemyError:
        session.invalidate()


def _read_only_options(engine: Engine) -> dict[str, Any]:
    if is_postgres(engine):
        return {"postgresql_readonly": True}
    return {_READ_ONLY_OPTION: True}


def database_error_from(exc: SQLAlchemyError) -> GovLedgerError:
    """Translate a SQLAlchemy exception into the govledger error a caller should see.

    The driver's message stays out of the result (API clients see it; it names hosts, tables and
    values) and is kept only as ``__cause__`` when the caller raises ``from exc``, for the logs.
    """
    if isinstance(exc, IntegrityError) and not _is_missing_value(exc):
        return ConflictError("the change conflicts with data already stored")
    if _is_unavailable(exc):
        return DatabaseUnavailableError("the database is unavailable, try again later")
    return GovLedgerError("unexpected database error", code="database_error")


def _is_missing_value(exc: IntegrityError) -> bool:
    # A NULL in a required column is a bug in the caller, not a conflict with stored data.
    return getattr(exc.orig, "sqlstate", None) == "23502" or "NOT NULL constraint failed" in str(exc.orig)


def _is_unavailable(exc: SQLAlchemyError) -> bool:
    # OperationalError covers refused connections, a server that went away and, on SQLite, a lock
    # that was still held when busy_timeout ran out: all of them may succeed on a later attempt.
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | PoolTimeoutError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError("the database URL cannot be parsed") from exc
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    if backend == "sqlite" and driver == "pysqlite":
        return parsed
    if backend == "postgresql":
        if "+" not in parsed.drivername:
            # A bare postgresql:// would select psycopg2, which govledger does not install.
            return parsed.set(drivername="postgresql+psycopg")
        if driver == "psycopg":
            return parsed
    raise ConfigurationError(
        f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:///PATH or postgresql+psycopg://..."
    )


def _create_sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        # One connection per concurrent user (request threads and workers), kept open: a connection opened
        # per request would pay the PRAGMAs below, and journal_mode needs the database lock, every time.
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=0,
        # The most recently returned connection is handed out next, so a few connections with warm caches do
        # most of the work. First in, first out cycled every request thread through every connection, and
        # each connection's page and statement caches grew to their full size: in the benchmark, SQLite held
        # 22 MB in one API process after the single-record row that way, 14 MB after that row and the batch
        # row this way.
        pool_use_lifo=True,
        connect_args={
            # Sessions may be handed between threads (FastAPI runs sync routes in a thread pool);
            # the pool still gives each connection to one user at a time.
            "check_same_thread": False,
            # sqlite3 turns this into busy_timeout: wait for a competing writer instead of failing at
            # once with "database is locked".
            "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
        },
    )
    event.listen(engine, "connect", _configure_sqlite_connection)
    _use_immediate_transactions(engine)
    # Re-entrant: a writing scope opened inside another on the same thread must not deadlock here (it
    # would still wait for SQLite's lock, which the outer scope holds; no code does that).
    _SQLITE_WRITERS[engine] = threading.RLock()
    return engine


def _configure_sqlite_connection(dbapi_connection: Any, _connection_record: Any) -> None:
    # Take transaction control away from the sqlite3 module; the "begin" hook emits BEGIN itself.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        # WAL lets readers proceed while one writer writes; NORMAL sync is durable in WAL mode except
        # for the last transactions before a power cut, which the chain itself can replay.
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA cache_size = -{SQLITE_PAGE_CACHE_KIB}")
    finally:
        cursor.close()


def _use_immediate_transactions(engine: Engine) -> None:
    """Start every SQLite transaction with BEGIN IMMEDIATE, unless it was opened read-only.

    Why: a plain (deferred) transaction starts as a reader and becomes a writer at its first write.
    If another connection committed in between, SQLite cannot upgrade the stale snapshot and fails
    with SQLITE_BUSY ("database is locked") at once, without consulting busy_timeout, because waiting
    could not help. Typical service code reads before it writes (idempotency check, nonce lookup),
    so under concurrent writers that failure would be routine. BEGIN IMMEDIATE takes the write lock
    up front, where busy_timeout does apply: competing writers queue instead of failing. In WAL mode
    readers are not blocked by it. Read-only scopes use a deferred BEGIN so they never queue behind
    writers.
    """

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY_OPTION):
            connection.exec_driver_sql("BEGIN DEFERRED")
        else:
            _begin_immediate(connection)


def _begin_immediate(connection: Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another process's write lock in steps of a millisecond or two.

    SQLite's own busy handler sleeps in growing steps up to 100 ms, so when several processes write
    (``serve --processes``) the lock often sits free while all of them sleep; within one process the writers'
    lock of ``session_scope`` already takes turns. Here SQLite waits at most ``_BEGIN_ATTEMPT_MS`` per
    attempt and the attempts repeat until ``SQLITE_BUSY_TIMEOUT_SECONDS``; every other statement keeps the
    full busy timeout.
    """
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {_BEGIN_ATTEMPT_MS}")
    try:
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_SECONDS
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as exc:
                if not _is_sqlite_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(_BEGIN_PAUSE_SECONDS)
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)}")


def _is_sqlite_busy(exc: OperationalError) -> bool:
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or "locked" in str(exc.orig)


def _create_postgres_engine(url: URL) -> Engine:
    return create_engine(
        url,
        # A restarted server leaves dead connections in the pool; test each one before use.
        pool_pre_ping=True,
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_MAX_OVERFLOW,
        pool_recycle=POSTGRES_POOL_RECYCLE_SECONDS,
        connect_args={"connect_timeout": POSTGRES_CONNECT_TIMEOUT_SECONDS, "application_name": "govledger"},
    )

"""Engines and sessions: SQLite pragmas and concurrency, PostgreSQL reconnects, errors that cross the layer."""

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from govledger.db.engine import (
    SQLITE_PAGE_CACHE_KIB,
    DatabaseUnavailableError,
    create_db_engine,
    is_postgres,
    session_scope,
)
from govledger.db.migrate import upgrade_database
from govledger.db.models import IndexedBlock
from govledger.errors import ConfigurationError, ConflictError, GovLedgerError


def pragma(engine: Engine, name: str) -> object:
    with engine.connect() as connection:
        return connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def migrated(url: str) -> Iterator[Engine]:
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def sqlite_engine(sqlite_database_url: str) -> Iterator[Engine]:
    yield from migrated(sqlite_database_url)


@pytest.fixture
def postgresql_engine(postgresql_database_url: str) -> Iterator[Engine]:
    yield from migrated(postgresql_database_url)


def test_sqlite_database_runs_in_wal_mode(sqlite_engine: Engine) -> None:
    assert pragma(sqlite_engine, "journal_mode") == "wal"


def test_sqlite_connections_get_the_service_pragmas(sqlite_engine: Engine) -> None:
    assert pragma(sqlite_engine, "foreign_keys") == 1
    assert pragma(sqlite_engine, "busy_timeout") == 30_000
    assert pragma(sqlite_engine, "synchronous") == 1  # NORMAL
    assert pragma(sqlite_engine, "cache_size") == -SQLITE_PAGE_CACHE_KIB  # negative: KiB, not pages


def test_concurrent_sqlite_writers_never_see_database_is_locked(sqlite_engine: Engine) -> None:
    # Each unit of work reads before it writes, the pattern that fails at once with "database is
    # locked" under SQLite's default deferred transactions when another writer commits in between.
    threads, writes_per_thread = 8, 50
    start_together = threading.Barrier(threads)

    def write(thread: int) -> None:
        start_together.wait()
        for n in range(writes_per_thread):
            with session_scope(sqlite_engine) as session:
                count = session.exec(select(func.count()).select_from(IndexedBlock)).one()
                session.add(IndexedBlock(chain_id=thread, block_number=n, block_hash=f"0x{count:064x}"))

    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(write, thread) for thread in range(threads)]:
            future.result()

    with session_scope(sqlite_engine, read_only=True) as session:
        assert session.exec(select(func.count()).select_from(IndexedBlock)).one() == threads * writes_per_thread


def test_read_only_scope_on_sqlite_does_not_wait_for_an_open_write(sqlite_engine: Engine) -> None:
    with session_scope(sqlite_engine) as writer:
        writer.add(IndexedBlock(chain_id=1, block_number=1, block_hash="0x01"))
        writer.flush()  # the write lock is now held until this scope ends

        # A write scope would queue here for busy_timeout (30 s); a read-only one reads the last commit.
        with session_scope(sqlite_engine, read_only=True) as reader:
            assert reader.exec(select(IndexedBlock)).all() == []


def test_session_scope_commits_on_success(migrated_engine: Engine) -> None:
    with session_scope(migrated_engine) as session:
        session.add(IndexedBlock(chain_id=1, block_number=7, block_hash="0x07"))

    with session_scope(migrated_engine, read_only=True) as session:
        assert session.get(IndexedBlock, (1, 7)) is not None


def test_session_scope_rolls_back_when_the_work_fails(migrated_engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(migrated_engine) as session:
        session.add(IndexedBlock(chain_id=1, block_number=7, block_hash="0x07"))
        session.flush()
        raise RuntimeError("the caller gave up")

    with session_scope(migrated_engine, read_only=True) as session:
        assert session.get(IndexedBlock, (1, 7)) is None


@pytest.mark.postgres
def test_read_only_scope_refuses_writes_on_postgresql(postgresql_engine: Engine) -> None:
    with pytest.raises(GovLedgerError), session_scope(postgresql_engine, read_only=True) as session:
        session.add(IndexedBlock(chain_id=1, block_number=7, block_hash="0x07"))


def test_objects_stay_readable_after_their_scope_ends(migrated_engine: Engine) -> None:
    with session_scope(migrated_engine) as session:
        block = IndexedBlock(chain_id=1, block_number=9, block_hash="0x09")
        session.add(block)

    assert block.block_hash == "0x09"


def test_is_postgres_tells_the_backends_apart(migrated_engine: Engine, database_url: str) -> None:
    assert is_postgres(migrated_engine) is database_url.startswith("postgresql")


def test_a_postgresql_url_without_driver_uses_psycopg() -> None:
    engine = create_db_engine("postgresql://postgres@127.0.0.1:5432/test")

    assert engine.dialect.driver == "psycopg"
    assert is_postgres(engine)


@pytest.mark.parametrize("url", ["mysql://root@localhost/govledger", "postgresql+psycopg2://u@h/db", "not a url"])
def test_unsupported_database_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        create_db_engine(url)


def test_an_unreachable_server_raises_database_unavailable() -> None:
    # Port 1 on the loopback interface refuses connections at once.
    engine = create_db_engine("postgresql+psycopg://postgres@127.0.0.1:1/govledger")

    with pytest.raises(DatabaseUnavailableError) as raised, session_scope(engine) as session:
        session.exec(select(1)).one()
    assert raised.value.status == 503
    assert raised.value.code == "database_unavailable"


@pytest.mark.postgres
def test_pool_reconnects_after_the_server_dropped_its_connection(
    postgresql_engine: Engine, postgres_admin_conninfo: str
) -> None:
    with session_scope(postgresql_engine) as session:
        first_backend = session.exec(select(func.pg_backend_pid())).one()

    # What a server restart does to every pooled connection.
    with psycopg.connect(postgres_admin_conninfo, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (first_backend,))

    with session_scope(postgresql_engine) as session:
        assert session.exec(select(func.pg_backend_pid())).one() != first_backend


def test_a_missing_required_value_is_an_internal_error_not_a_conflict(migrated_engine: Engine) -> None:
    with pytest.raises(GovLedgerError) as raised, session_scope(migrated_engine) as session:
        session.add(IndexedBlock(chain_id=1, block_number=1, block_hash=None))  # type: ignore[arg-type]

    assert not isinstance(raised.value, ConflictError)
    assert raised.value.code == "database_error"

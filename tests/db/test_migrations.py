"""The packaged Alembic migrations build exactly the schema that govledger.db.models declares."""

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, inspect, text
from sqlmodel import SQLModel

import govledger.db.models  # noqa: F401  (registers the tables)
from govledger.db.engine import create_db_engine
from govledger.db.migrate import MIGRATION_LOCK_KEY, current_revision, head_revision, upgrade_database
from govledger.errors import GovLedgerError

MODEL_TABLES = {
    "operations",
    "account_nonces",
    "api_keys",
    "chain_events",
    "indexer_checkpoints",
    "indexed_blocks",
    "record_batches",
    "records",
    "certificates",
}


def schema_differences(url: str) -> list[object]:
    engine = create_db_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return list(compare_metadata(context, SQLModel.metadata))
    finally:
        engine.dispose()


def table_names(url: str) -> set[str]:
    engine = create_db_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_migrations_produce_exactly_the_models_schema(database_url: str) -> None:
    upgrade_database(database_url)

    assert table_names(database_url) == MODEL_TABLES | {"alembic_version"}
    assert schema_differences(database_url) == []


def test_an_empty_database_differs_from_the_models(database_url: str) -> None:
    # Guards the comparison above: it must be able to see a missing schema at all.
    assert schema_differences(database_url) != []


def test_a_new_database_has_no_revision_until_upgraded(database_url: str) -> None:
    assert current_revision(database_url) is None

    assert upgrade_database(database_url) == head_revision()
    assert current_revision(database_url) == head_revision()


def test_upgrading_twice_changes_nothing(database_url: str) -> None:
    first = upgrade_database(database_url)
    second = upgrade_database(database_url)

    assert first == second == current_revision(database_url)
    assert schema_differences(database_url) == []


def test_concurrent_upgrades_all_succeed(database_url: str) -> None:
    upgraders = 4
    start_together = threading.Barrier(upgraders)

    def upgrade() -> str:
        start_together.wait()
        return upgrade_database(database_url)

    with ThreadPoolExecutor(max_workers=upgraders) as pool:
        revisions = list(pool.map(lambda _: upgrade(), range(upgraders)))

    assert revisions == [head_revision()] * upgraders
    assert schema_differences(database_url) == []


@pytest.mark.postgres
def test_upgrades_from_concurrent_processes_on_postgresql_wait_for_each_other(
    postgresql_database_url: str,
) -> None:
    # Threads of one process are serialised in-process; separate processes (service replicas
    # starting together) rely on the advisory lock. Holding it here makes both processes queue on
    # it, so the test fails if upgrade_database stops taking it, then lets them run one by one.
    engine = create_db_engine(postgresql_database_url)
    script = "import sys; from govledger.db.migrate import upgrade_database; print(upgrade_database(sys.argv[1]))"
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as holder:
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            processes = [
                subprocess.Popen(
                    [sys.executable, "-c", script, postgresql_database_url], stdout=subprocess.PIPE, text=True
                )
                for _ in range(2)
            ]
            wait_for_lock_waiters(holder, expected=2)
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            outputs = [process.communicate(timeout=60)[0].strip() for process in processes]
    finally:
        engine.dispose()

    assert [process.returncode for process in processes] == [0, 0]
    assert outputs == [head_revision()] * 2
    assert schema_differences(postgresql_database_url) == []


def wait_for_lock_waiters(connection: Connection, *, expected: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = connection.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        ).scalar_one()
        if waiting >= expected:
            return
        time.sleep(0.05)
    pytest.fail(f"fewer than {expected} upgraders waited for the migration lock")


def test_upgrade_does_not_depend_on_the_working_directory(
    sqlite_database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    assert upgrade_database(sqlite_database_url) == head_revision()
    assert os.listdir(elsewhere) == []


def test_a_database_from_a_newer_release_is_refused(sqlite_database_url: str) -> None:
    upgrade_database(sqlite_database_url)
    engine = create_db_engine(sqlite_database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = 'ffff_from_the_future'")
    finally:
        engine.dispose()

    with pytest.raises(GovLedgerError) as raised:
        upgrade_database(sqlite_database_url)
    assert raised.value.code == "database_migration_failed"

"""Bring a database to the current schema with the Alembic migrations shipped inside the package.

Used at service start-up and by ``govledger db upgrade``. Works from any working directory and
without an alembic.ini: the Alembic configuration is built here, pointing at ``db/migrations``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from govledger.db.engine import create_db_engine, database_error_from, is_postgres, session_scope
from govledger.errors import GovLedgerError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Key of the PostgreSQL advisory lock held while migrating (the bytes of "govledgr"). Several service
# processes may start at once; the lock makes them migrate one after the other, and the later ones
# then find the schema at head and do nothing.
MIGRATION_LOCK_KEY = int.from_bytes(b"govledgr", "big")

# Alembic keeps the running migration in module-level proxies (alembic.context, alembic.op), so two
# threads of one process must not run it at the same time. Always taken before the database lock.
_alembic_in_use = threading.Lock()


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config for the packaged migrations.

    ``url`` is only needed to run Alembic commands by hand, e.g. to draft the next migration after
    changing models.py (against a scratch database already at head)::

        config = alembic_config("sqlite:///scratch.db")
        command.upgrade(config, "head")
        command.revision(config, "add certificates", autogenerate=True, rev_id="0002")

    Then edit the draft so that it reads well and runs on both SQLite and PostgreSQL.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # Config values go through configparser interpolation, where "%" (URL-escaped passwords) is special.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of govledger."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise GovLedgerError("no database migrations are packaged", code="database_error")
    return head


def upgrade_database(url: str) -> str:
    """Apply every pending migration to the database at ``url`` and return the head revision.

    Safe to call when the database is already current, and from several processes at once.
    """
    engine = create_db_engine(url)
    try:
        with _alembic_in_use:
            _upgrade_to_head(engine)
    except SQLAlchemyError as exc:
        raise database_error_from(exc) from exc
    except CommandError as exc:
        # Typically a database migrated by a newer govledger than this one.
        raise GovLedgerError(f"the database cannot be migrated: {exc}", code="database_migration_failed") from exc
    finally:
        engine.dispose()
    return head_revision()


def _upgrade_to_head(engine: Engine) -> None:
    # One transaction for the whole upgrade: PostgreSQL has transactional DDL, so a failing
    # migration leaves the schema as it was. The lock is transaction-scoped and so released by the
    # commit, when the new schema becomes visible to the next upgrader. On SQLite the transaction
    # starts with BEGIN IMMEDIATE, which serialises concurrent upgraders in the same way.
    with engine.begin() as connection:
        if is_postgres(engine):
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def current_revision(url: str) -> str | None:
    """The migration the database at ``url`` is at, or None if it was never migrated."""
    engine = create_db_engine(url)
    try:
        with session_scope(engine, read_only=True) as session:
            return MigrationContext.configure(session.connection()).get_current_revision()
    finally:
        engine.dispose()

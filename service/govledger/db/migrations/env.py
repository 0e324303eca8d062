"""Alembic environment for govledger: runs migrations against the tables declared in govledger.db.models.

``govledger.db.migrate`` hands over an open connection (already inside a transaction, and on
PostgreSQL holding the migration lock) through ``config.attributes["connection"]``. Without one, an
engine is built from the ``sqlalchemy.url`` option, which is how ``alembic revision --autogenerate``
is run by hand (see govledger.db.migrate.alembic_config).
"""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import govledger.db.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from govledger.db.engine import create_db_engine


def render_plain_sqlalchemy_type(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write sqlmodel's column types as the plain SQLAlchemy types they store as.

    Why: migrations are history; they must keep working when sqlmodel renames or changes its helpers.
    """
    if type_ == "type" and isinstance(obj, AutoString):
        return "sa.String()" if obj.length is None else f"sa.String(length={obj.length})"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things in place; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=render_plain_sqlalchemy_type,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("govledger migrations run against a live database only (no --sql mode)")

handed_over = context.config.attributes.get("connection")
if handed_over is not None:
    run_migrations(handed_over)
else:
    engine = create_db_engine(context.config.get_main_option("sqlalchemy.url") or "")
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()

"""The govledger database: tables (models), engines and sessions (engine), schema migrations (migrate).

SQLite (a WAL-mode file) by default, PostgreSQL by URL. The schema changes only through the Alembic
migrations in ``db/migrations``, applied by ``migrate.upgrade_database``.
"""

"""Shared pytest configuration: real databases (SQLite and PostgreSQL) and real anvil nodes as fixtures."""

pytest_plugins = ["tests.fixtures.databases", "tests.fixtures.anvil"]

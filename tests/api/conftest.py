"""Fixtures for API tests: a small real runtime (a migrated database, settings, readiness checks) and apps on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from govledger.api.app import create_app
from govledger.config import Settings
from govledger.db.engine import create_db_engine
from govledger.db.migrate import upgrade_database

PUBLIC_RATE_LIMIT = 5
AUTH_FAILURE_LIMIT = 3


@dataclass
class StandInRuntime:
    """The runtime shape create_app expects, built from a real engine and settings, without chain workers."""

    settings: Settings
    engine: Engine
    chain_ready: Callable[[], bool] = lambda: True
    deployment_ready: Callable[[], bool] = lambda: True
    events: list[str] = field(default_factory=list)

    def readiness(self) -> dict[str, str]:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:
            database = f"error: {type(exc).__name__}"
        return {
            "database": database,
            "chain": "ok" if self.chain_ready() else "error: chain unreachable",
            "contracts": "ok" if self.deployment_ready() else "error: contracts not deployed",
        }

    def start(self) -> None:
        self.events.append("start")

    def stop(self) -> None:
        self.events.append("stop")


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "demo": True,
        "data_dir": data_dir,
        "public_rate_limit_per_minute": PUBLIC_RATE_LIMIT,
        "auth_failure_limit_per_minute": AUTH_FAILURE_LIMIT,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def app_with(runtime: StandInRuntime, *routers: APIRouter, max_body_bytes: int | None = None) -> FastAPI:
    """create_app plus test-only routers (used to exercise dependencies the real routes use)."""
    app = create_app(runtime) if max_body_bytes is None else create_app(runtime, max_body_bytes=max_body_bytes)
    for router in routers:
        app.include_router(router)
    return app


@pytest.fixture(scope="module")
def sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One migrated SQLite database per module, for tests about HTTP behaviour rather than storage."""
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'govledger.db'}"
    upgrade_database(url)
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


@pytest.fixture
def runtime(sqlite_engine: Engine, tmp_path: Path) -> StandInRuntime:
    return StandInRuntime(settings=make_settings(tmp_path), engine=sqlite_engine)


@pytest.fixture
def db_runtime(migrated_engine: Engine, tmp_path: Path) -> StandInRuntime:
    """A runtime on each database backend in turn (SQLite and PostgreSQL)."""
    return StandInRuntime(settings=make_settings(tmp_path), engine=migrated_engine)


@pytest.fixture
def app(runtime: StandInRuntime) -> FastAPI:
    return create_app(runtime)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client

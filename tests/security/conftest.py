"""One demo service per security module (embedded chain, SQLite), plus ways to read what it has written.

The route tests run a fresh demo per test on both databases; the security tests ask questions of the HTTP
surface and of the chain rather than of storage, so one service per module on SQLite keeps them fast.
``ChainState`` is what "nothing was written" is measured against: every department signer's transaction
count and every department's Consortium ``actionCount``, read from the node, plus the service's own count
of operations (a write accepted but not yet sent shows there first).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import select

from govledger.api.app import create_app
from govledger.api.ratelimit import TokenBucketLimiter
from govledger.consortium.departments import encode_department_code
from govledger.db.engine import session_scope
from govledger.db.models import Operation
from govledger.demo import DEMO_DEPARTMENTS, PreparedDemo, prepare_demo

ROLES = ("department_admin", "department_user", "auditor")
SETTLE_TIMEOUT_SECONDS = 20.0


@dataclass(frozen=True)
class ChainState:
    nonces: dict[str, int]
    action_counts: dict[str, int]
    operations: int

    def writes_since(self, earlier: ChainState) -> int:
        """How many transactions, department actions and operations were added after ``earlier``."""
        return (
            sum(self.nonces.values())
            - sum(earlier.nonces.values())
            + sum(self.action_counts.values())
            - sum(earlier.action_counts.values())
            + self.operations
            - earlier.operations
        )


@dataclass
class SecurityService:
    client: TestClient
    demo: PreparedDemo
    app: FastAPI

    def key(self, department: str, role: str) -> dict[str, str]:
        for dept, key_role, key in self.demo.api_keys:
            if dept == department and key_role == role:
                return {"Authorization": f"Bearer {key}"}
        raise KeyError((department, role))

    def chain_state(self) -> ChainState:
        runtime = self.demo.runtime
        consortium = runtime.tx_manager.contract("Consortium")
        nonces = {
            code: runtime.chain.transaction_count(signer.address, "pending") for code, signer in runtime.signers.items()
        }
        actions = {
            code: int(consortium.call("actionCount", encode_department_code(code))) for code, *_ in DEMO_DEPARTMENTS
        }
        with session_scope(runtime.engine, read_only=True) as session:
            operations = int(session.exec(select(func.count()).select_from(Operation)).one())
        return ChainState(nonces, actions, operations)

    def settle(self) -> None:
        """Wait until every accepted operation is confirmed or failed, so that chain reads stand still."""
        deadline = time.monotonic() + SETTLE_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            with session_scope(self.demo.runtime.engine, read_only=True) as session:
                open_operations = session.exec(
                    select(func.count())
                    .select_from(Operation)
                    .where(Operation.status.in_(("queued", "submitted")))  # type: ignore[attr-defined]
                ).one()
            if open_operations == 0:
                return
            time.sleep(0.1)
        raise AssertionError("operations did not settle in time")


def start_service(data_dir: Path, *, generous_limits: bool = False) -> Iterator[SecurityService]:
    demo = prepare_demo(data_dir, database_url=f"sqlite:///{data_dir.parent / (data_dir.name + '.db')}")
    app = create_app(demo.runtime)
    if generous_limits:
        # Matrix and fuzz tests make hundreds of requests from one test client address; the limits have tests
        # of their own (tests/api/test_ratelimit.py), here they would only turn answers into 429s.
        app.state.public_limiter = TokenBucketLimiter(100_000)
        app.state.auth_failure_limiter = TokenBucketLimiter(100_000)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield SecurityService(client, demo, app)


@pytest.fixture(scope="module")
def security_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecurityService]:
    """A demo service shared by one module's tests, with rate limits out of the way."""
    yield from start_service(tmp_path_factory.mktemp("security") / "demo", generous_limits=True)

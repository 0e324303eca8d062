"""SessionDep commits a route's work before the response; a failing route leaves nothing behind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from govledger.api.deps import ReadSessionDep, SessionDep
from govledger.db.models import IndexerCheckpoint
from govledger.errors import ConflictError
from tests.api.conftest import StandInRuntime, app_with

router = APIRouter()


@router.put("/test/checkpoints/{name}")
def save(name: str, session: SessionDep) -> dict[str, str]:
    """Test route writing a row."""
    session.add(IndexerCheckpoint(name=name, chain_id=1, block_number=7, block_hash="0xab"))
    return {"saved": name}


@router.put("/test/checkpoints/{name}/then-fail")
def save_then_fail(name: str, session: SessionDep) -> None:
    """Test route writing a row and then failing."""
    session.add(IndexerCheckpoint(name=name, chain_id=1, block_number=7, block_hash="0xab"))
    session.flush()
    raise ConflictError("changed my mind")


@router.get("/test/checkpoints/{name}")
def read(name: str, session: ReadSessionDep) -> dict[str, int | None]:
    """Test route reading a row."""
    row = session.get(IndexerCheckpoint, name)
    return {"block_number": row.block_number if row else None}


@pytest.fixture
def client(db_runtime: StandInRuntime) -> Iterator[TestClient]:
    with TestClient(app_with(db_runtime, router)) as test_client:
        yield test_client


def test_a_routes_writes_are_committed_by_the_time_it_answers(client: TestClient) -> None:
    assert client.put("/test/checkpoints/main").status_code == 200

    assert client.get("/test/checkpoints/main").json() == {"block_number": 7}


def test_a_failing_routes_writes_are_rolled_back(client: TestClient) -> None:
    response = client.put("/test/checkpoints/main/then-fail")

    assert response.status_code == 409
    assert client.get("/test/checkpoints/main").json() == {"block_number": None}


def test_a_conflicting_write_becomes_409_not_500(client: TestClient) -> None:
    client.put("/test/checkpoints/main")

    response = client.put("/test/checkpoints/main")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"

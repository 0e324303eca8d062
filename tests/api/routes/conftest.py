"""A whole demo service (embedded chain, deployed contracts, keys, API keys) behind a test client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from govledger.api.app import create_app
from govledger.demo import PreparedDemo, prepare_demo


@dataclass
class Service:
    client: TestClient
    demo: PreparedDemo

    def key(self, department: str, role: str) -> dict[str, str]:
        for dept, key_role, key in self.demo.api_keys:
            if dept == department and key_role == role:
                return {"Authorization": f"Bearer {key}"}
        raise KeyError((department, role))


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[Service]:
    demo = prepare_demo(tmp_path / "demo", database_url=database_url)
    with TestClient(create_app(demo.runtime)) as client:
        yield Service(client, demo)

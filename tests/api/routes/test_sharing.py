"""Data-sharing endpoints end to end: datasets, grants, revocation, logged uses and the live check."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tests.api.routes.conftest import Service
from tests.api.routes.test_records import eventually

OWNER = ("CS-DRB", "department_user")  # 数据资源管理局 owns the population dataset
CONSUMER = ("CS-HRSS", "department_user")
OTHER = ("CS-MSA", "department_user")


def at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def register(service: Service, dataset_id: str = "POP-BASE-2026") -> None:
    response = service.client.post("/api/v1/datasets?wait=true", headers=service.key(*OWNER),
                                   json={"dataset_id": dataset_id, "metadata_hash": "ab" * 32})
    assert response.json()["status"] == "confirmed", response.json()


def grant(service: Service, grant_id: str, **overrides) -> dict:
    body = {"grant_id": grant_id, "consumer": "CS-HRSS", "purpose": "SOCIAL-SECURITY-CHECK",
            "scope_hash": "cd" * 32, "valid_from": at(timedelta(minutes=-1)), "valid_until": at(timedelta(days=30)),
            **overrides}
    return service.client.post("/api/v1/datasets/POP-BASE-2026/grants?wait=true", headers=service.key(*OWNER),
                               json=body).json()


def test_the_owner_grants_the_consumer_logs_uses_and_the_ledger_shows_each(service: Service):
    client = service.client
    register(service)
    dataset = client.get("/api/v1/datasets/POP-BASE-2026", headers=service.key(*OTHER)).json()
    assert dataset["owner"] == "CS-DRB"
    assert grant(service, "G-HRSS-1")["status"] == "confirmed"
    check = client.get("/api/v1/authorisations/check", headers=service.key(*OTHER),
                       params={"dataset_id": "POP-BASE-2026", "consumer": "CS-HRSS",
                               "purpose": "SOCIAL-SECURITY-CHECK"}).json()
    assert check == {"dataset_id": "POP-BASE-2026", "consumer": "CS-HRSS", "purpose": "SOCIAL-SECURITY-CHECK",
                     "authorised": True, "grant_id": "G-HRSS-1"}
    for i in range(3):
        used = client.post("/api/v1/grants/G-HRSS-1/uses?wait=true", headers=service.key(*CONSUMER),
                           json={"request_hash": f"{i:064x}"})
        assert used.json()["status"] == "confirmed", used.json()
    assert client.get("/api/v1/grants/G-HRSS-1", headers=service.key(*OWNER)).json()["use_count"] == 3
    uses = eventually(lambda: client.get("/api/v1/grants/G-HRSS-1/uses", headers=service.key(*OWNER)).json(),
                      lambda u: len(u) == 3)
    assert [u["use_number"] for u in uses] == [1, 2, 3]
    grants = eventually(
        lambda: client.get("/api/v1/datasets/POP-BASE-2026/grants", headers=service.key(*OWNER)).json(),
        lambda g: len(g) == 1,
    )
    assert grants[0]["status"] == "live" and grants[0]["consumer"] == "CS-HRSS"
    by_consumer = client.get("/api/v1/grants", params={"consumer": "CS-HRSS"}, headers=service.key(*OWNER)).json()
    assert [g["grant_id"] for g in by_consumer] == ["G-HRSS-1"]


def test_uses_are_refused_after_revocation(service: Service):
    register(service)
    grant(service, "G-REV")
    revoked = service.client.post("/api/v1/grants/G-REV/revoke?wait=true", headers=service.key(*OWNER),
                                  json={"reason_code": "PURPOSE-ENDED"})
    assert revoked.json()["status"] == "confirmed"
    refused = service.client.post("/api/v1/grants/G-REV/uses?wait=true", headers=service.key(*CONSUMER),
                                  json={"request_hash": "11" * 32})
    assert refused.json()["status"] == "failed"
    assert refused.json()["error"]["name"] == "SharingRegistryGrantRevoked"
    status = service.client.get("/api/v1/grants/G-REV", headers=service.key(*OWNER)).json()
    assert status["status"] == "revoked" and status["use_count"] == 0


def test_uses_are_refused_after_expiry_and_before_the_window(service: Service):
    register(service)
    chain = service.demo.runtime.chain
    # The embedded chain keeps its own clock (one second a block), so the window is set by chain time.
    soon = datetime.fromtimestamp(chain.get_block("latest").timestamp + 30, UTC)
    assert grant(service, "G-EXP", valid_from=at(timedelta(minutes=-1)), valid_until=soon.isoformat())["status"] \
        == "confirmed"
    assert grant(service, "G-LATER", purpose="LATER", valid_from=at(timedelta(days=1)),
                 valid_until=at(timedelta(days=2)))["status"] == "confirmed"
    early = service.client.post("/api/v1/grants/G-LATER/uses?wait=true", headers=service.key(*CONSUMER),
                                json={"request_hash": "12" * 32})
    assert early.json()["error"]["name"] == "SharingRegistryGrantNotYetValid"
    chain.time_travel(int(soon.timestamp()) + 5)
    time.sleep(0.1)
    late = service.client.post("/api/v1/grants/G-EXP/uses?wait=true", headers=service.key(*CONSUMER),
                               json={"request_hash": "13" * 32})
    assert late.json()["status"] == "failed"
    assert late.json()["error"]["name"] == "SharingRegistryGrantExpired"


def test_a_department_acts_only_as_itself(service: Service):
    register(service)
    grant(service, "G-OWN")
    # 人社局 is a data owner too, but not of this dataset.
    not_owner = service.client.post("/api/v1/datasets/POP-BASE-2026/grants", headers=service.key(*CONSUMER),
                                    json={"consumer": "CS-MSA", "purpose": "P", "scope_hash": "cd" * 32,
                                          "valid_from": at(timedelta(0)), "valid_until": at(timedelta(days=1))})
    assert not_owner.status_code == 403 and not_owner.json()["error"]["code"] == "not_dataset_owner"
    not_consumer = service.client.post("/api/v1/grants/G-OWN/uses", headers=service.key(*OTHER),
                                       json={"request_hash": "11" * 32})
    assert not_consumer.status_code == 403 and not_consumer.json()["error"]["code"] == "not_grant_consumer"
    not_issuer = service.client.post("/api/v1/grants/G-OWN/revoke", headers=service.key(*CONSUMER),
                                     json={"reason_code": "NOPE"})
    assert not_issuer.status_code == 403 and not_issuer.json()["error"]["code"] == "not_grant_owner"
    auditor = service.client.post("/api/v1/datasets", headers=service.key("CS-AUD", "auditor"),
                                  json={"dataset_id": "X", "metadata_hash": "ab" * 32})
    assert auditor.status_code == 403


def test_bad_input_is_refused_clearly(service: Service):
    register(service)
    backwards = service.client.post("/api/v1/datasets/POP-BASE-2026/grants", headers=service.key(*OWNER),
                                    json={"consumer": "CS-HRSS", "purpose": "P", "scope_hash": "cd" * 32,
                                          "valid_from": at(timedelta(days=2)), "valid_until": at(timedelta(days=1))})
    assert backwards.status_code == 422
    naive = service.client.post("/api/v1/datasets/POP-BASE-2026/grants", headers=service.key(*OWNER),
                                json={"consumer": "CS-HRSS", "purpose": "P", "scope_hash": "cd" * 32,
                                      "valid_from": "2026-01-01T00:00:00", "valid_until": "2027-01-01T00:00:00"})
    assert naive.status_code == 422
    missing = service.client.get("/api/v1/grants/G-NONE", headers=service.key(*OWNER))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "grant_not_found"
    no_dataset = service.client.get("/api/v1/datasets/NONE", headers=service.key(*OWNER))
    assert no_dataset.status_code == 404 and no_dataset.json()["error"]["code"] == "dataset_not_found"


def test_a_department_without_the_data_owner_role_gets_403_missing_role(service: Service):
    # 市场监督管理局 issues certificates and keeps records but owns no datasets in the demo consortium.
    response = service.client.post("/api/v1/datasets", headers=service.key(*OTHER),
                                   json={"dataset_id": "MSA-DATA", "metadata_hash": "ab" * 32})
    assert response.status_code == 403 and response.json()["error"]["code"] == "missing_role"

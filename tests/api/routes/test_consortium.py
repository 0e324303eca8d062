"""Consortium endpoints end to end: API key → route → transaction manager → embedded chain → answer."""

from __future__ import annotations

from tests.api.routes.conftest import Service

ADMIN = ("CS-DRB", "department_admin")


def test_departments_are_listed_from_the_chain(service: Service):
    response = service.client.get("/api/v1/consortium/departments", headers=service.key(*ADMIN))
    assert response.status_code == 200
    codes = {d["code"]: d for d in response.json()}
    assert set(codes) == {"CS-DRB", "CS-MSA", "CS-HRSS", "CS-AUD"}
    assert codes["CS-AUD"]["roles"] == ["auditor"]
    one = service.client.get("/api/v1/consortium/departments/CS-MSA", headers=service.key(*ADMIN)).json()
    assert one["name"] == "长沙市市场监督管理局"
    missing = service.client.get("/api/v1/consortium/departments/CS-NONE", headers=service.key(*ADMIN))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "department_not_found"


def test_a_proposal_passes_through_propose_approve_execute(service: Service):
    client = service.client
    proposed = client.post(
        "/api/v1/consortium/proposals?wait=true",
        headers=service.key(*ADMIN),
        json={"kind": "set_threshold", "threshold": 3},
    )
    assert proposed.status_code == 200, proposed.json()
    operation = proposed.json()
    assert operation["status"] == "confirmed"
    (created,) = [e for e in operation["result"]["events"] if e["event"] == "ProposalCreated"]
    proposal_id = created["args"]["proposalId"]

    early = client.post(f"/api/v1/consortium/proposals/{proposal_id}/execute?wait=true", headers=service.key(*ADMIN))
    assert early.status_code == 200
    assert early.json()["status"] == "failed"
    assert early.json()["error"]["name"] == "ConsortiumThresholdNotMet"

    approved = client.post(
        f"/api/v1/consortium/proposals/{proposal_id}/approve?wait=true",
        headers=service.key("CS-MSA", "department_admin"),
    )
    assert approved.json()["status"] == "confirmed"
    executed = client.post(
        f"/api/v1/consortium/proposals/{proposal_id}/execute?wait=true",
        headers=service.key("CS-HRSS", "department_admin"),
    )
    assert executed.json()["status"] == "confirmed"
    proposal = client.get(f"/api/v1/consortium/proposals/{proposal_id}", headers=service.key(*ADMIN)).json()
    assert proposal["status"] == "executed"
    assert proposal["approvers"] == ["CS-DRB", "CS-MSA"]
    assert proposal["change"] == {"kind": "set_threshold", "threshold": 3}
    assert client.get("/api/v1/consortium", headers=service.key(*ADMIN)).json()["threshold"] == 3


def test_writes_return_202_and_the_operation_can_be_followed(service: Service):
    response = service.client.post(
        "/api/v1/consortium/proposals",
        headers=service.key(*ADMIN),
        json={"kind": "suspend_department", "code": "CS-AUD"},
    )
    assert response.status_code == 202
    operation = response.json()
    assert operation["status"] in ("queued", "submitted", "confirmed")
    assert response.headers["Location"] == f"/api/v1/operations/{operation['id']}"
    followed = service.client.get(f"/api/v1/operations/{operation['id']}?wait=true", headers=service.key(*ADMIN))
    assert followed.status_code == 200 and followed.json()["status"] == "confirmed"


def test_idempotency_key_returns_the_same_operation_and_refuses_another_body(service: Service):
    headers = {**service.key(*ADMIN), "Idempotency-Key": "gov-2026-001"}
    first = service.client.post(
        "/api/v1/consortium/proposals", headers=headers, json={"kind": "set_threshold", "threshold": 1}
    )
    again = service.client.post(
        "/api/v1/consortium/proposals", headers=headers, json={"kind": "set_threshold", "threshold": 1}
    )
    assert again.json()["id"] == first.json()["id"]
    other = service.client.post(
        "/api/v1/consortium/proposals", headers=headers, json={"kind": "set_threshold", "threshold": 2}
    )
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_only_department_admins_govern_and_other_departments_operations_are_hidden(service: Service):
    user = service.client.post(
        "/api/v1/consortium/proposals",
        headers=service.key("CS-DRB", "department_user"),
        json={"kind": "set_threshold", "threshold": 1},
    )
    assert user.status_code == 403 and user.json()["error"]["code"] == "forbidden"
    auditor = service.client.post(
        "/api/v1/consortium/proposals",
        headers=service.key("CS-AUD", "auditor"),
        json={"kind": "set_threshold", "threshold": 1},
    )
    assert auditor.status_code == 403
    anonymous = service.client.get("/api/v1/consortium/departments")
    assert anonymous.status_code == 401

    mine = service.client.post(
        "/api/v1/consortium/proposals", headers=service.key(*ADMIN), json={"kind": "set_threshold", "threshold": 1}
    ).json()
    other = service.client.get(f"/api/v1/operations/{mine['id']}", headers=service.key("CS-MSA", "department_admin"))
    assert other.status_code == 404
    audited = service.client.get(f"/api/v1/operations/{mine['id']}", headers=service.key("CS-AUD", "auditor"))
    assert audited.status_code == 200


def test_a_bulk_operation_lookup_shows_only_what_the_caller_may_see(service: Service):
    mine = service.client.post(
        "/api/v1/consortium/proposals?wait=true",
        headers=service.key(*ADMIN),
        json={"kind": "set_threshold", "threshold": 1},
    ).json()
    unknown = "0" * 32
    asked = {"ids": [unknown, mine["id"], mine["id"]]}
    own = service.client.post("/api/v1/operations/lookup", headers=service.key(*ADMIN), json=asked)
    assert own.status_code == 200, own.text
    assert [op["id"] for op in own.json()["operations"]] == [mine["id"]]
    assert own.json()["operations"][0]["status"] == mine["status"]
    assert own.json()["not_found"] == [unknown]
    # Another department's operation is reported exactly like an unknown one; an auditor sees it.
    other = service.client.post(
        "/api/v1/operations/lookup", headers=service.key("CS-MSA", "department_admin"), json=asked
    ).json()
    assert other == {"operations": [], "not_found": [unknown, mine["id"]]}
    audited = service.client.post("/api/v1/operations/lookup", headers=service.key("CS-AUD", "auditor"), json=asked)
    assert [op["id"] for op in audited.json()["operations"]] == [mine["id"]]
    malformed = service.client.post("/api/v1/operations/lookup", headers=service.key(*ADMIN), json={"ids": ["nope"]})
    assert malformed.status_code == 422 and malformed.json()["error"]["code"] == "invalid_request"


def test_a_non_governor_department_is_refused_by_the_contract(service: Service):
    response = service.client.post(
        "/api/v1/consortium/proposals?wait=true",
        headers=service.key("CS-AUD", "auditor"),
        json={"kind": "set_threshold", "threshold": 1},
    )
    assert response.status_code == 403  # API role check first; the chain check is below


def test_invalid_proposals_get_422_with_field_details(service: Service):
    bad = service.client.post(
        "/api/v1/consortium/proposals",
        headers=service.key(*ADMIN),
        json={"kind": "add_department", "code": "not valid", "name": "x", "roles": ["wizard"], "account": "0x12"},
    )
    assert bad.status_code == 422
    body = bad.json()["error"]
    assert body["code"] == "invalid_request"
    fields = {d["location"].split(".")[-1] for d in body["details"]["fields"]}
    assert {"code", "roles", "account"} <= fields
    unknown_kind = service.client.post(
        "/api/v1/consortium/proposals", headers=service.key(*ADMIN), json={"kind": "dissolve"}
    )
    assert unknown_kind.status_code == 422
    extra = service.client.post(
        "/api/v1/consortium/proposals",
        headers=service.key(*ADMIN),
        json={"kind": "set_threshold", "threshold": 1, "surprise": True},
    )
    assert extra.status_code == 422
    assert service.client.get("/api/v1/consortium/proposals/0", headers=service.key(*ADMIN)).status_code == 422
    missing = service.client.get("/api/v1/consortium/proposals/99", headers=service.key(*ADMIN))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "proposal_not_found"
    assert service.client.get("/api/v1/operations/nope", headers=service.key(*ADMIN)).status_code == 404


def test_metrics_count_operations_by_status_and_show_index_progress(service: Service):
    service.client.post(
        "/api/v1/consortium/proposals?wait=true",
        headers=service.key(*ADMIN),
        json={"kind": "set_threshold", "threshold": 3},
    )
    text = service.client.get("/metrics").text
    assert 'govledger_operations{status="confirmed"} 1.0' in text
    assert 'govledger_indexed_block{which="head"}' in text

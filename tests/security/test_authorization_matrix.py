"""Every write endpoint x every role x own versus another department's resource: only allowed cells pass.

The write endpoints are read from the app's own OpenAPI document (every POST under /api/v1 except the
public verification endpoints), so a new write route fails this test until its policy is written into
``POLICIES`` below: the policy lives here, stated independently of the route's own dependencies, so a
route that declares the wrong role is caught rather than trusted.

Each cell is one request. Denied cells must answer 401 or 403 (404 where a route hides existence) with a
stable error code, and none of them may leave a trace: the chain state (every signer's transaction count,
every department's Consortium actionCount) and the service's operation count are compared before and after
all denied cells. Allowed cells must answer 2xx. A summary line reports the figures.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from govledger.apikeys import create_api_key, revoke_api_key
from tests.security.conftest import SecurityService

ADMIN, USER, AUDITOR = "department_admin", "department_user", "auditor"
WRITERS = frozenset({ADMIN, USER})
ADMINS = frozenset({ADMIN})
PUBLIC_WRITE_PREFIX = "/api/v1/verify"
#: POST routes that only read (a list of ids in the body): any authenticated role; tested with their routes.
BULK_READS = frozenset({"/api/v1/records/lookup", "/api/v1/operations/lookup"})

# Setup resources (created once, by their owners, before any cell runs).
RECORD_ID = "SEC-JOINT-1"  # owner CS-DRB, co-maintainer CS-HRSS; CS-MSA is not named
DATASET_ID = "SEC-DS-1"  # owner CS-DRB
GRANT_ID = "SEC-G-1"  # CS-DRB -> consumer CS-HRSS
CERT_ID = "SEC-CERT-1"  # issued by CS-MSA

_serial = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}-{next(_serial)}"


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"valid_from": (now - timedelta(days=1)).isoformat(), "valid_until": (now + timedelta(days=30)).isoformat()}


def record_body() -> dict[str, Any]:
    record_id = unique("SEC-R")
    return {"record_id": record_id, "schema_id": "security-test", "content_hash": digest(record_id)}


def certificate_body() -> dict[str, Any]:
    cert_id = unique("SEC-C")
    return {"certificate_id": cert_id, "certificate_type": "security-test", "document_hash": digest(cert_id),
            "holder_commitment": digest("holder-" + cert_id), **window()}


def grant_body() -> dict[str, Any]:
    return {"grant_id": unique("SEC-G"), "consumer": "CS-MSA", "purpose": "SECURITY-TEST", "scope_hash": "cd" * 32,
            **window()}


@dataclass(frozen=True)
class Policy:
    """Who may call one write route: roles, and which department counts as the resource's own.

    ``own`` acts on its own resource (or holds the on-chain role a creation needs); each of ``others`` is a
    department acting on a resource that is not its own or lacking the role, with the codes it may get.
    """

    roles: frozenset[str]
    own: str
    body: Callable[[], dict[str, Any]] | None = None
    path: dict[str, str] = field(default_factory=dict)
    others: dict[str, frozenset[str]] = field(default_factory=dict)
    upload: bool = False
    waits: bool = True


NOT_ISSUER = frozenset({"not_issuer", "missing_role"})
MISSING_ROLE = frozenset({"missing_role"})
CERT_STATUS_OTHERS = {"CS-HRSS": frozenset({"not_issuer"}), "CS-DRB": MISSING_ROLE}

POLICIES: dict[str, Policy] = {
    "/api/v1/consortium/proposals": Policy(ADMINS, "CS-DRB", lambda: {"kind": "set_threshold", "threshold": 3}),
    "/api/v1/consortium/proposals/{proposal_id}/approve": Policy(ADMINS, "CS-MSA", path={"proposal_id": "1"}),
    "/api/v1/consortium/proposals/{proposal_id}/execute": Policy(ADMINS, "CS-HRSS", path={"proposal_id": "1"}),
    "/api/v1/records": Policy(WRITERS, "CS-DRB", record_body, waits=False),
    "/api/v1/records/batch": Policy(WRITERS, "CS-DRB", lambda: {"records": [record_body()]}),
    "/api/v1/records/joint": Policy(WRITERS, "CS-DRB", record_body),
    "/api/v1/records/{record_id}/versions": Policy(
        WRITERS, "CS-DRB", lambda: {"content_hash": digest(unique("v"))}, {"record_id": RECORD_ID},
        {"CS-MSA": frozenset({"not_named_on_record"})},
    ),
    "/api/v1/records/{record_id}/versions/{version}/endorse": Policy(
        WRITERS, "CS-HRSS", None, {"record_id": RECORD_ID, "version": "1"},
        {"CS-MSA": frozenset({"not_named_on_record"})},
    ),
    "/api/v1/records/{record_id}/maintainers": Policy(
        WRITERS, "CS-DRB", lambda: {"department": "CS-HRSS", "named": True}, {"record_id": RECORD_ID},
        {"CS-HRSS": frozenset({"not_record_owner"}), "CS-MSA": frozenset({"not_record_owner"})},
    ),
    "/api/v1/datasets": Policy(
        WRITERS, "CS-DRB", lambda: {"dataset_id": unique("SEC-DS"), "metadata_hash": "ab" * 32},
        others={"CS-MSA": MISSING_ROLE},
    ),
    "/api/v1/datasets/{dataset_id}/grants": Policy(
        WRITERS, "CS-DRB", grant_body, {"dataset_id": DATASET_ID},
        {"CS-HRSS": frozenset({"not_dataset_owner"}), "CS-MSA": MISSING_ROLE},
    ),
    "/api/v1/grants/{grant_id}/revoke": Policy(
        WRITERS, "CS-DRB", lambda: {"reason_code": "SECURITY-TEST"}, {"grant_id": GRANT_ID},
        {"CS-HRSS": frozenset({"not_grant_owner"}), "CS-MSA": MISSING_ROLE},
    ),
    "/api/v1/grants/{grant_id}/uses": Policy(
        WRITERS, "CS-HRSS", lambda: {"request_hash": digest(unique("use"))}, {"grant_id": GRANT_ID},
        {"CS-DRB": frozenset({"not_grant_consumer"}), "CS-MSA": frozenset({"not_grant_consumer"})},
    ),
    "/api/v1/certificates": Policy(WRITERS, "CS-MSA", certificate_body, others={"CS-DRB": MISSING_ROLE}),
    "/api/v1/certificates/upload": Policy(
        WRITERS, "CS-MSA", certificate_body, others={"CS-DRB": MISSING_ROLE}, upload=True
    ),
    "/api/v1/certificates/batch": Policy(
        WRITERS, "CS-MSA", lambda: {"certificates": [certificate_body()]}, others={"CS-DRB": MISSING_ROLE}
    ),
    **{
        f"/api/v1/certificates/{{cert_id}}/{action}": Policy(
            WRITERS, "CS-MSA", body, {"cert_id": CERT_ID}, CERT_STATUS_OTHERS
        )
        for action, body in [
            ("revoke", lambda: {"reason_code": "SECURITY-TEST"}),
            ("suspend", lambda: {"reason_code": "SECURITY-TEST"}),
            ("reinstate", None),
            ("supersede", lambda: {"new_certificate_id": "SEC-CERT-NEW"}),
        ]
    },
}


@dataclass(frozen=True)
class Cell:
    route: str
    role: str | None  # None: no API key at all
    department: str | None
    allowed: bool
    expected_codes: frozenset[str]


def write_routes(service: SecurityService) -> list[str]:
    """Every POST path under /api/v1 except public verification and bulk reads, from the app's OpenAPI document."""
    paths: dict[str, dict[str, Any]] = service.app.openapi()["paths"]
    return sorted(
        path
        for path, operations in paths.items()
        if "post" in operations
        and path.startswith("/api/v1")
        and not path.startswith(PUBLIC_WRITE_PREFIX)
        and path not in BULK_READS
    )


def cells_of(route: str, policy: Policy) -> list[Cell]:
    cells = [
        Cell(route, None, None, False, frozenset({"unauthenticated"})),
        Cell(route, AUDITOR, "CS-AUD", False, frozenset({"forbidden"})),
    ]
    for role in (ADMIN, USER):
        role_ok = role in policy.roles
        own_codes = frozenset() if role_ok else frozenset({"forbidden"})
        cells.append(Cell(route, role, policy.own, role_ok, own_codes))
        for department, codes in policy.others.items():
            # Role checks come first, so a wrong role is refused as such whatever the department.
            cells.append(Cell(route, role, department, False, codes if role_ok else frozenset({"forbidden"})))
    return cells


def send(service: SecurityService, cell: Cell) -> Any:
    policy = POLICIES[cell.route]
    url = cell.route.format(**policy.path)
    if policy.waits:
        url += "?wait=true"
    headers = service.key(cell.department, cell.role) if cell.role and cell.department else {}
    body = policy.body() if policy.body else None
    if policy.upload:
        assert body is not None
        document = body.pop("document_hash").encode()
        return service.client.post(url, headers=headers, files={"document": ("doc.pdf", document)},
                                    data={"metadata": json.dumps(body)})
    return service.client.post(url, headers=headers, json=body)


def create_resources(service: SecurityService) -> None:
    """The resources the ownership cells act on, each made by its owner and confirmed."""
    client, steps = service.client, []
    steps.append(client.post("/api/v1/consortium/proposals?wait=true", headers=service.key("CS-DRB", ADMIN),
                             json={"kind": "set_threshold", "threshold": 3}))
    steps.append(client.post("/api/v1/records/joint?wait=true", headers=service.key("CS-DRB", USER),
                             json={**record_body(), "record_id": RECORD_ID, "co_maintainers": ["CS-HRSS"],
                                   "required_endorsements": 1}))
    steps.append(client.post("/api/v1/datasets?wait=true", headers=service.key("CS-DRB", USER),
                             json={"dataset_id": DATASET_ID, "metadata_hash": "ab" * 32}))
    steps.append(client.post(f"/api/v1/datasets/{DATASET_ID}/grants?wait=true", headers=service.key("CS-DRB", USER),
                             json={**grant_body(), "grant_id": GRANT_ID, "consumer": "CS-HRSS"}))
    steps.append(client.post("/api/v1/certificates?wait=true", headers=service.key("CS-MSA", USER),
                             json={**certificate_body(), "certificate_id": CERT_ID}))
    for response in steps:
        assert response.status_code == 200, response.text
        operation = response.json().get("operation", response.json())
        assert operation["status"] == "confirmed", operation


@pytest.fixture(scope="module")
def prepared(security_service: SecurityService) -> SecurityService:
    create_resources(security_service)
    security_service.settle()
    return security_service


def test_every_write_route_has_a_stated_policy(prepared: SecurityService):
    routes = write_routes(prepared)
    assert len(routes) >= len(POLICIES) // 2, routes  # the enumeration itself must find the routes
    missing = sorted(set(routes) - set(POLICIES))
    assert not missing, f"write routes without an authorisation policy in this test: {missing}"
    assert set(prepared.app.openapi()["paths"]) >= BULK_READS, "a bulk read named here no longer exists"
    stale = sorted(set(POLICIES) - set(routes))
    assert not stale, f"policies for routes that no longer exist: {stale}"


def test_only_the_allowed_cells_pass_and_denied_cells_write_nothing(prepared: SecurityService):
    service = prepared
    cells = [cell for route in write_routes(service) if route in POLICIES for cell in cells_of(route, POLICIES[route])]
    denied = [cell for cell in cells if not cell.allowed]
    allowed = [cell for cell in cells if cell.allowed]

    before = service.chain_state()
    wrong: list[str] = []
    outcomes: Counter[str] = Counter()
    for cell in denied:
        response = send(service, cell)
        code = response.json().get("error", {}).get("code") if response.headers.get("content-type", "").startswith(
            "application/json") else None
        outcomes[f"{response.status_code} {code}"] += 1
        if response.status_code not in (401, 403, 404) or code not in cell.expected_codes:
            wrong.append(f"{cell}: {response.status_code} {response.text[:200]}")
    service.settle()
    leaked = service.chain_state().writes_since(before)

    refused_allowed: list[str] = []
    for cell in allowed:
        response = send(service, cell)
        if not 200 <= response.status_code < 300:
            refused_allowed.append(f"{cell}: {response.status_code} {response.text[:200]}")
    service.settle()

    print(
        f"\nauthorisation matrix: {len(cells)} cells checked over {len(POLICIES)} write routes; "
        f"{len(allowed)} allowed ({len(allowed) - len(refused_allowed)} passed), {len(denied)} denied "
        f"({len(denied) - len(wrong)} refused as expected); writes leaked: {leaked}"
    )
    print("denied answers: " + ", ".join(f"{k} x{v}" for k, v in sorted(outcomes.items())))
    assert not wrong, "\n".join(wrong)
    assert leaked == 0
    assert not refused_allowed, "\n".join(refused_allowed)


def test_revoked_expired_and_unknown_keys_are_refused_on_every_write_route(prepared: SecurityService):
    engine = prepared.demo.runtime.engine
    revoked, public = create_api_key(engine, "CS-MSA", ADMIN, "revoked for the test")
    revoke_api_key(engine, public.id)
    expired, _ = create_api_key(engine, "CS-MSA", ADMIN, "expired", expires_at=datetime.now(UTC) + timedelta(seconds=1))
    time.sleep(1.1)
    unknown = "gl_" + "0" * 40
    before = prepared.chain_state()
    checked = 0
    for route in write_routes(prepared):
        policy = POLICIES[route]
        url = route.format(**policy.path)
        for key in (revoked, expired, unknown):
            response = prepared.client.post(url, headers={"Authorization": f"Bearer {key}"},
                                            json=policy.body() if policy.body else None)
            assert response.status_code == 401, (route, response.text)
            assert response.json()["error"]["code"] in {"invalid_api_key", "api_key_revoked", "api_key_expired",
                                                         "unauthenticated"}, response.text
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            checked += 1
    prepared.settle()
    leaked = prepared.chain_state().writes_since(before)
    print(f"\nrevoked/expired/unknown keys: {checked} requests refused; writes leaked: {leaked}")
    assert leaked == 0


def test_another_departments_operation_is_reported_as_absent(prepared: SecurityService):
    response = prepared.client.post("/api/v1/records/batch?wait=true", headers=prepared.key("CS-DRB", USER),
                                    json={"records": [record_body()]})
    operation_id = response.json()["operation"]["id"]
    own = prepared.client.get(f"/api/v1/operations/{operation_id}", headers=prepared.key("CS-DRB", ADMIN))
    other = prepared.client.get(f"/api/v1/operations/{operation_id}", headers=prepared.key("CS-MSA", ADMIN))
    auditor = prepared.client.get(f"/api/v1/operations/{operation_id}", headers=prepared.key("CS-AUD", AUDITOR))
    assert own.status_code == 200 and auditor.status_code == 200
    assert other.status_code == 404 and other.json()["error"]["code"] == "operation_not_found"

"""Security headers on pages and API answers, and bad input refused with a clear 4xx, never a 500.

Pages (/verify, /verify/<id>, /audit) and API responses, including errors, must carry a
Content-Security-Policy that allows no inline script, refuse framing (X-Frame-Options DENY and
frame-ancestors 'none') and forbid content sniffing. Oversized bodies get 413, wrong content types 415,
malformed JSON 400, unknown fields, over-long strings and malformed hashes, codes and addresses 422, each
with a stable error code in the one error shape.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.security.conftest import SecurityService

MSA = ("CS-MSA", "department_user")
DRB = ("CS-DRB", "department_user")
AUDITOR = ("CS-AUD", "auditor")
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.IGNORECASE)


def directives(policy: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {p[0].lower(): (p[1] if len(p) > 1 else "") for p in parts}


def assert_hardened(response: Any, *, page: bool) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("X-Frame-Options") == "DENY"
    policy = headers.get("Content-Security-Policy", "")
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
    found = directives(policy)
    assert found.get("frame-ancestors") == "'none'", policy
    assert "default-src" in found or "script-src" in found, policy
    if page:
        assert not INLINE_SCRIPT.search(response.text), "a page carries an inline script"
        assert not INLINE_HANDLER.search(response.text), "a page carries an inline event handler"


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"valid_from": now.isoformat(), "valid_until": (now + timedelta(days=1)).isoformat()}


@pytest.fixture(scope="module")
def svc(security_service: SecurityService) -> Iterator[SecurityService]:
    yield security_service


@pytest.mark.parametrize("path", ["/verify", "/verify/SEC-NONE-1", "/audit", "/verify?lang=en"])
def test_pages_send_a_strict_policy_and_refuse_framing(svc: SecurityService, path: str):
    response = svc.client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert_hardened(response, page=True)


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("GET", "/api/v1/consortium", DRB),
        ("GET", "/api/v1/verify/certificates/SEC-NONE-1", None),
        ("GET", "/api/v1/records/SEC-NONE-1", DRB),  # 404
        ("GET", "/api/v1/consortium", None),  # 401
        ("GET", "/api/v1/audit/events", DRB),  # 403
        ("GET", "/no/such/endpoint", None),  # 404 from routing
        ("GET", "/openapi.json", None),
        ("GET", "/healthz", None),
    ],
)
def test_api_answers_and_errors_carry_the_same_headers(svc: SecurityService, method: str, path: str, who: Any):
    response = svc.client.request(method, path, headers=svc.key(*who) if who else {})
    assert_hardened(response, page=False)


def test_the_docs_page_allows_only_its_own_start_up_script(svc: SecurityService):
    response = svc.client.get("/docs")
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in policy["script-src"] and "'sha256-" in policy["script-src"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_an_oversized_body_gets_413_before_it_is_read(svc: SecurityService):
    limit = svc.demo.runtime.settings.max_request_bytes
    declared = svc.client.post("/api/v1/records/batch", headers={**svc.key(*DRB), "Content-Type": "application/json"},
                               content=b"[" + b" " * limit + b"]")
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while streaming too
        for _ in range(limit // (1 << 16) + 2):
            yield b" " * (1 << 16)

    streamed = svc.client.post("/api/v1/verify", headers={"Content-Type": "application/json"}, content=chunks())
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("path", "who", "content_type"),
    [
        ("/api/v1/records", DRB, "text/plain"),
        ("/api/v1/certificates", MSA, "application/xml"),
        ("/api/v1/verify", None, "text/plain"),
        ("/api/v1/verify/bundle", None, "application/x-www-form-urlencoded"),
    ],
)
def test_a_wrong_content_type_gets_415(svc: SecurityService, path: str, who: Any, content_type: str):
    response = svc.client.post(path, headers={**(svc.key(*who) if who else {}), "Content-Type": content_type},
                               content=b'{"record_id": "X"}')
    assert response.status_code == 415, response.text
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("body", [b'{"record_id": ', b"{'single': 'quotes'}", b"\xff\xfe\x00garbage", b'{"a": 1}}'])
@pytest.mark.parametrize(("path", "who"), [("/api/v1/records", DRB), ("/api/v1/verify", None)])
def test_malformed_json_gets_400(svc: SecurityService, path: str, who: Any, body: bytes):
    response = svc.client.post(path, headers={**(svc.key(*who) if who else {}), "Content-Type": "application/json"},
                               content=body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"


HASH = "ab" * 32
BAD_INPUTS: list[tuple[str, str, Any, dict[str, Any]]] = [
    # (name, path, who, body) - each must be 422 invalid_request
    ("unknown field in a record", "/api/v1/records", DRB,
     {"record_id": "SEC-U-1", "schema_id": "s", "content_hash": HASH, "owner": "CS-MSA"}),
    ("unknown field in a certificate", "/api/v1/certificates", MSA,
     {"certificate_type": "t", "document_hash": HASH, "holder_commitment": HASH, "issuer": "CS-HRSS", **window()}),
    ("unknown field in a verification", "/api/v1/verify", None, {"cert_id": "SEC-1", "admin": True}),
    ("unknown field in a proposal", "/api/v1/consortium/proposals", ("CS-DRB", "department_admin"),
     {"kind": "set_threshold", "threshold": 2, "force": True}),
    ("over-long record id", "/api/v1/records", DRB,
     {"record_id": "R" * 10_000, "schema_id": "s", "content_hash": HASH}),
    ("over-long holder id number", "/api/v1/certificates", MSA,
     {"certificate_type": "t", "document_hash": HASH, "holder": {"id_number": "4" * 5000}, **window()}),
    ("over-long reason", "/api/v1/grants/SEC-G-1/revoke", DRB, {"reason_code": "X" * 300}),
    ("short hash", "/api/v1/records", DRB, {"record_id": "SEC-H-1", "schema_id": "s", "content_hash": "ab" * 31}),
    ("non-hex hash", "/api/v1/records", DRB, {"record_id": "SEC-H-2", "schema_id": "s", "content_hash": "zz" * 32}),
    ("hash with junk after 0x", "/api/v1/datasets", DRB, {"dataset_id": "SEC-D", "metadata_hash": "0x" + "g" * 64}),
    ("hash as a number", "/api/v1/datasets", DRB, {"dataset_id": "SEC-D", "metadata_hash": 12345}),
    ("unknown hash algorithm", "/api/v1/records", DRB,
     {"record_id": "SEC-H-3", "schema_id": "s", "content_hash": HASH, "hash_algorithm": "md5"}),
    ("malformed department code", "/api/v1/records/SEC-JOINT-1/maintainers", DRB, {"department": "cs drb; DROP"}),
    ("over-long department code", "/api/v1/records/SEC-JOINT-1/maintainers", DRB, {"department": "CS-" + "X" * 500}),
    ("batch over the limit", "/api/v1/certificates/batch", MSA, {"certificates": []}),
    ("nested type confusion", "/api/v1/verify", None, {"holder": ["not", "an", "object"]}),
    ("huge integer", "/api/v1/consortium/proposals", ("CS-DRB", "department_admin"),
     {"kind": "set_threshold", "threshold": 10**80}),
    ("control characters in an id", "/api/v1/records", DRB,
     {"record_id": "SEC\x00\n-1", "schema_id": "s", "content_hash": HASH}),
]


@pytest.mark.parametrize(("name", "path", "who", "body"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_fields_get_422_with_a_stable_code(svc: SecurityService, name: str, path: str, who: Any, body: Any):
    response = svc.client.post(path, headers=svc.key(*who) if who else {}, json=body)
    assert response.status_code == 422, f"{name}: {response.status_code} {response.text[:300]}"
    assert response.json()["error"]["code"] in {"invalid_request", "invalid_proposal"}, response.text


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/api/v1/certificates/" + "C" * 2000 + "/revoke", MSA),
        ("/api/v1/records/%00bad/versions", DRB),
        ("/api/v1/consortium/proposals/99999999999999999999999/approve", ("CS-DRB", "department_admin")),
        ("/api/v1/consortium/proposals/-1/execute", ("CS-DRB", "department_admin")),
        ("/api/v1/records/SEC-JOINT-1/versions/0/endorse", DRB),
    ],
)
def test_malformed_path_parameters_get_422(svc: SecurityService, path: str, who: Any):
    response = svc.client.post(path, headers=svc.key(*who), json={"reason_code": "X"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


REFUSED_FILTERS = {
    "malformed address": "contract=0xZZZZ",
    "short address": "contract=0x" + "1" * 39,
    "not a time": "from_time=not-a-time",
    "negative block": "from_block=-5",
    "not a subject": "subject=nonsense",
    "over-long cursor": "cursor=" + "Q" * 500,
    "page too large": "limit=100000000",
    "block number past 64 bits": "from_block=" + "9" * 30,
}
# Filters by name: a value that names nothing matches nothing, which is a correct answer, not an error.
ANSWERED_FILTERS = {
    "over-long contract name": "contract=" + "A" * 5000,
    "NUL characters": "department=" + "%00" * 50,
    "500 event names": "event=" + ",".join(f"E{i}" for i in range(500)),
}


@pytest.mark.parametrize("query", REFUSED_FILTERS.values(), ids=REFUSED_FILTERS.keys())
def test_malformed_audit_filters_are_refused(svc: SecurityService, query: str):
    response = svc.client.get(f"/api/v1/audit/events?{query}", headers=svc.key(*AUDITOR))
    assert response.status_code == 422, f"{query[:80]}: {response.status_code} {response.text[:300]}"
    assert response.json()["error"]["code"] in {"invalid_request", "invalid_address", "invalid_cursor"}, response.text


@pytest.mark.parametrize("query", ANSWERED_FILTERS.values(), ids=ANSWERED_FILTERS.keys())
def test_odd_audit_filters_are_answered_not_crashed(svc: SecurityService, query: str):
    response = svc.client.get(f"/api/v1/audit/events?{query}", headers=svc.key(*AUDITOR))
    assert response.status_code == 200, f"{query[:80]}: {response.status_code} {response.text[:300]}"
    assert response.json()["events"] == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/verify/certificates/" + "9" * 300,
        "/api/v1/verify/certificates/SEC-1?at=yesterday",
        "/api/v1/verify/certificates/SEC-1?at=2026-01-01T00:00:00",  # no time zone
    ],
)
def test_malformed_public_queries_get_422(svc: SecurityService, path: str):
    response = svc.client.get(path)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"

"""Every failure reaches the client in the one shape {"error": {"code", "message", "details"?}}."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from govledger.api.deps import IdempotencyKeyDep
from govledger.errors import ChainUnavailableError, ConflictError, DatabaseUnavailableError, GovLedgerError
from tests.api.conftest import StandInRuntime, app_with

router = APIRouter()


class Certificate(BaseModel):
    holder: str = Field(min_length=1)
    passphrase: str = Field(min_length=20)
    copies: int


@router.post("/test/certificates")
def issue(certificate: Certificate) -> dict[str, str]:
    """Test route taking a JSON body."""
    return {"holder": certificate.holder}


@router.post("/test/idempotent")
def idempotent(key: IdempotencyKeyDep) -> dict[str, str | None]:
    """Test route reading the Idempotency-Key header."""
    return {"idempotency_key": key}


@router.get("/test/conflict")
def conflict() -> None:
    """Test route raising a 4xx GovLedgerError."""
    raise ConflictError("the record is anchored already", details={"record_id": "r-1"})


@router.get("/test/server-side")
def server_side() -> None:
    """Test route raising a 5xx GovLedgerError with internal details."""
    raise GovLedgerError("unexpected database error", code="database_error", details={"host": "db.internal:5432"})


@router.get("/test/chain-down")
def chain_down() -> None:
    """Test route failing because the node cannot be reached."""
    raise ChainUnavailableError("the chain node is unreachable", details={"url": "http://node.internal:8545"})


@router.get("/test/database-down")
def database_down() -> None:
    """Test route failing because the database cannot be reached."""
    raise DatabaseUnavailableError("the database is unreachable", details={"host": "db.internal:5432"})


@router.get("/test/crash")
def crash() -> None:
    """Test route failing with a library exception."""
    raise RuntimeError("secret-internal-state-42")


@router.get("/test/log")
def log_something() -> dict[str, str]:
    """Test route writing a log line from the worker thread."""
    logging.getLogger("govledger.test").warning("inside the route")
    return {}


@pytest.fixture
def client(runtime: StandInRuntime) -> Iterator[TestClient]:
    with TestClient(app_with(runtime, router)) as test_client:
        yield test_client


def error_of(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert {"code", "message"} <= set(body["error"]) <= {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


def test_invalid_fields_get_422_with_each_location_and_no_echo_of_values(client: TestClient) -> None:
    response = client.post("/test/certificates", json={"holder": "", "passphrase": "hunter2-secret", "copies": "x"})

    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "invalid_request"
    locations = {field["location"] for field in error["details"]["fields"]}  # type: ignore[index]
    assert locations == {"body.holder", "body.passphrase", "body.copies"}
    assert all(field["message"] for field in error["details"]["fields"])  # type: ignore[index]
    assert "body.passphrase" in str(error["message"])
    assert "hunter2-secret" not in response.text


def test_missing_fields_are_named(client: TestClient) -> None:
    response = client.post("/test/certificates", json={})

    assert response.status_code == 422
    assert {f["location"] for f in error_of(response)["details"]["fields"]} == {  # type: ignore[index]
        "body.holder",
        "body.passphrase",
        "body.copies",
    }


def test_malformed_json_gets_400(client: TestClient) -> None:
    response = client.post(
        "/test/certificates", content=b'{"holder": "a", ', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "malformed_json"
    assert error["details"]["position"] == len(b'{"holder": "a", ')  # type: ignore[index]


def test_a_json_body_that_is_not_utf8_gets_400(client: TestClient) -> None:
    response = client.post(
        "/test/certificates", content=b'{"holder": "\xff\xfe"}', headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 400
    assert error_of(response)["code"] == "malformed_json"


def test_a_json_body_sent_as_another_type_gets_415(client: TestClient) -> None:
    response = client.post(
        "/test/certificates",
        content=b'{"holder": "a", "passphrase": "p" , "copies": 1}',
        headers={"Content-Type": "text/plain"},
    )

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_a_json_body_without_content_type_gets_415(client: TestClient) -> None:
    response = client.post("/test/certificates", content=b'{"holder": "a"}')

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


def test_a_body_over_the_declared_limit_gets_413_before_it_is_read(runtime: StandInRuntime) -> None:
    with TestClient(app_with(runtime, router, max_body_bytes=64)) as client:
        response = client.post("/test/certificates", json={"holder": "x" * 100, "passphrase": "p" * 20, "copies": 1})

    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_bytes": 64}


def test_a_streamed_body_over_the_limit_gets_413(runtime: StandInRuntime) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"holder": "'
        yield b"x" * 100
        yield b'", "passphrase": "aaaaaaaaaaaaaaaaaaaaaaa", "copies": 1}'

    with TestClient(app_with(runtime, router, max_body_bytes=64)) as client:
        response = client.post("/test/certificates", content=chunks(), headers={"Content-Type": "application/json"})

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_a_body_within_the_limit_is_accepted(runtime: StandInRuntime) -> None:
    with TestClient(app_with(runtime, router, max_body_bytes=200)) as client:
        response = client.post("/test/certificates", json={"holder": "x", "passphrase": "p" * 20, "copies": 1})

    assert response.status_code == 200
    assert response.json() == {"holder": "x"}


def test_unknown_route_gets_404(client: TestClient) -> None:
    response = client.get("/no/such/thing")

    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_wrong_method_gets_405_with_allow_header(client: TestClient) -> None:
    response = client.delete("/test/certificates")

    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]


def test_govledger_errors_keep_their_status_code_and_details(client: TestClient) -> None:
    response = client.get("/test/conflict")

    assert response.status_code == 409
    assert error_of(response) == {
        "code": "conflict",
        "message": "the record is anchored already",
        "details": {"record_id": "r-1"},
    }


def test_server_side_govledger_errors_hide_their_details(client: TestClient) -> None:
    response = client.get("/test/server-side")

    assert response.status_code == 500
    assert error_of(response) == {"code": "database_error", "message": "unexpected database error"}
    assert "db.internal" not in response.text


@pytest.mark.parametrize(
    ("path", "code"), [("/test/chain-down", "chain_unavailable"), ("/test/database-down", "database_unavailable")]
)
def test_an_unavailable_dependency_gets_503_with_a_retry_hint_and_no_internals(
    client: TestClient, path: str, code: str
) -> None:
    response = client.get(path)

    assert response.status_code == 503
    assert error_of(response)["code"] == code
    assert int(response.headers["retry-after"]) > 0
    assert "internal" not in response.text


def test_other_server_errors_get_no_retry_hint(client: TestClient) -> None:
    response = client.get("/test/server-side")

    assert response.status_code == 500
    assert "retry-after" not in response.headers


def test_an_unexpected_exception_gets_a_generic_500_and_a_logged_traceback(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="govledger.api"):
        response = client.get("/test/crash")

    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal_error"
    assert response.headers["x-request-id"] in str(error["message"])
    assert "secret-internal-state-42" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    logged = [r for r in caplog.records if r.exc_info and "secret-internal-state-42" in str(r.exc_info[1])]
    assert logged
    assert logged[0].request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]


def test_log_lines_written_by_a_route_carry_the_request_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="govledger.test"):
        response = client.get("/test/log")

    [record] = [r for r in caplog.records if r.getMessage() == "inside the route"]
    assert record.request_id == response.headers["x-request-id"]  # type: ignore[attr-defined]


def test_a_well_formed_incoming_request_id_is_kept_and_a_malformed_one_replaced(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "proxy-123.abc"})
    replaced = client.get("/healthz", headers={"X-Request-ID": "evil\tvalue"})

    assert kept.headers["x-request-id"] == "proxy-123.abc"
    assert replaced.headers["x-request-id"] != "evil\tvalue"
    assert len(replaced.headers["x-request-id"]) == 32


def test_every_response_has_its_own_request_id(client: TestClient) -> None:
    ids = {client.get(path).headers["x-request-id"] for path in ["/healthz", "/healthz", "/nowhere"]}

    assert len(ids) == 3


@pytest.mark.parametrize("key", ["order-2024-0001", "a", "~" * 128])
def test_a_valid_idempotency_key_reaches_the_route(client: TestClient, key: str) -> None:
    response = client.post("/test/idempotent", headers={"Idempotency-Key": key})

    assert response.status_code == 200
    assert response.json() == {"idempotency_key": key}


def test_the_idempotency_key_is_optional(client: TestClient) -> None:
    assert client.post("/test/idempotent").json() == {"idempotency_key": None}


@pytest.mark.parametrize("key", ["", "has space", "x" * 129, "tab\there"])
def test_an_invalid_idempotency_key_gets_422(client: TestClient, key: str) -> None:
    response = client.post("/test/idempotent", headers={"Idempotency-Key": key})

    assert response.status_code == 422
    assert error_of(response)["code"] == "invalid_idempotency_key"

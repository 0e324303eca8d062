"""Routes know who is calling: API keys in headers, stable 401/403 codes, and a limit on failed attempts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import col

from govledger.api.deps import (
    AuditorDep,
    DepartmentAdminDep,
    DepartmentWriterDep,
    PrincipalDep,
    require_department,
    require_role,
)
from govledger.apikeys import create_api_key, revoke_api_key
from govledger.db.engine import session_scope
from govledger.db.models import ApiKey
from tests.api.conftest import AUTH_FAILURE_LIMIT, StandInRuntime, app_with

router = APIRouter()


@router.get("/test/whoami")
def whoami(principal: PrincipalDep) -> dict[str, str]:
    """Test route for any valid key."""
    return {"department": principal.department, "role": principal.role.value, "key_id": principal.key_id}


@router.post("/test/departments/{department}/records")
def anchor(department: str, principal: DepartmentWriterDep) -> dict[str, str]:
    """Test route for writers acting for their own department."""
    require_department(principal, department)
    return {"anchored_by": principal.department}


@router.post("/test/governance")
def govern(principal: DepartmentAdminDep) -> dict[str, str]:
    """Test route for department admins."""
    return {"role": principal.role.value}


@router.get("/test/audit")
def audit(principal: AuditorDep) -> dict[str, str]:
    """Test route for auditors."""
    return {"role": principal.role.value}


@router.get("/test/admin-or-auditor", dependencies=[Depends(require_role("department_admin", "auditor"))])
def admin_or_auditor() -> dict[str, bool]:
    """Test route using require_role directly."""
    return {"ok": True}


@pytest.fixture
def client(db_runtime: StandInRuntime) -> Iterator[TestClient]:
    with TestClient(app_with(db_runtime, router)) as test_client:
        yield test_client


@pytest.fixture
def sqlite_client(runtime: StandInRuntime) -> Iterator[TestClient]:
    with TestClient(app_with(runtime, router)) as test_client:
        yield test_client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_valid_key_in_the_authorization_header_identifies_the_caller(
    client: TestClient, db_runtime: StandInRuntime
) -> None:
    key, public = create_api_key(db_runtime.engine, "CS-MSA", "department_user", "clerk")

    response = client.get("/test/whoami", headers=bearer(key))

    assert response.status_code == 200
    assert response.json() == {"department": "CS-MSA", "role": "department_user", "key_id": public.id}


def test_a_valid_key_in_the_x_api_key_header_identifies_the_caller(
    client: TestClient, db_runtime: StandInRuntime
) -> None:
    key, _ = create_api_key(db_runtime.engine, "CS-MSA", "auditor", "audit")

    response = client.get("/test/whoami", headers={"X-API-Key": key})

    assert response.status_code == 200
    assert response.json()["role"] == "auditor"


def test_a_missing_key_gets_401_unauthenticated_with_www_authenticate(client: TestClient) -> None:
    response = client.get("/test/whoami")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer glk_aaaaaaaaaaaa_" + "b" * 43},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer "},
        {"X-API-Key": "not-a-key"},
    ],
)
def test_an_invalid_key_gets_401_invalid_api_key(sqlite_client: TestClient, headers: dict[str, str]) -> None:
    response = sqlite_client.get("/test/whoami", headers=headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert "www-authenticate" in response.headers
    presented = next(iter(headers.values())).removeprefix("Bearer").removeprefix("Basic").strip()
    assert not presented or presented not in response.text


def test_two_different_keys_in_one_request_are_refused(sqlite_client: TestClient, runtime: StandInRuntime) -> None:
    key, _ = create_api_key(runtime.engine, "CS-MSA", "auditor", "audit")
    other, _ = create_api_key(runtime.engine, "CS-MSA", "auditor", "audit 2")

    response = sqlite_client.get("/test/whoami", headers={**bearer(key), "X-API-Key": other})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"


def test_a_revoked_key_gets_401_api_key_revoked(client: TestClient, db_runtime: StandInRuntime) -> None:
    key, public = create_api_key(db_runtime.engine, "CS-MSA", "auditor", "audit")
    revoke_api_key(db_runtime.engine, public.id)

    response = client.get("/test/whoami", headers=bearer(key))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


def test_a_key_revoked_after_use_gets_401_once_the_api_key_memory_lapses(db_runtime: StandInRuntime) -> None:
    ttl = 0.5
    runtime = replace(db_runtime, settings=db_runtime.settings.model_copy(update={"api_key_cache_seconds": ttl}))
    key, public = create_api_key(runtime.engine, "CS-MSA", "auditor", "audit")
    with TestClient(app_with(runtime, router)) as client:
        assert client.get("/test/whoami", headers=bearer(key)).status_code == 200
        revoked_at = time.monotonic()
        revoke_api_key(runtime.engine, public.id)  # in the database, as the CLI does from another process

        time.sleep(max(0.0, revoked_at + ttl - time.monotonic()) + 0.05)
        response = client.get("/test/whoami", headers=bearer(key))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_revoked"


def test_a_key_used_moments_ago_is_answered_from_memory_without_the_database(db_runtime: StandInRuntime) -> None:
    runtime = replace(db_runtime, settings=db_runtime.settings.model_copy(update={"api_key_cache_seconds": 60}))
    key, public = create_api_key(runtime.engine, "CS-MSA", "auditor", "audit")
    with TestClient(app_with(runtime, router)) as client:
        assert client.get("/test/whoami", headers=bearer(key)).status_code == 200
        revoke_api_key(runtime.engine, public.id)
        # Within api_key_cache_seconds the database is not asked again (this is what saves the thread hop).
        remembered = client.get("/test/whoami", headers=bearer(key))

    assert remembered.status_code == 200
    assert remembered.json()["key_id"] == public.id


def test_an_expired_key_gets_401_api_key_expired(client: TestClient, db_runtime: StandInRuntime) -> None:
    key, public = create_api_key(
        db_runtime.engine, "CS-MSA", "auditor", "audit", expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    with session_scope(db_runtime.engine) as session:
        session.execute(
            update(ApiKey).where(col(ApiKey.id) == public.id).values(expires_at=datetime.now(UTC) - timedelta(1))
        )

    response = client.get("/test/whoami", headers=bearer(key))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_expired"


def test_a_key_with_the_wrong_role_gets_403_naming_the_needed_role(
    sqlite_client: TestClient, runtime: StandInRuntime
) -> None:
    key, _ = create_api_key(runtime.engine, "CS-MSA", "department_user", "clerk")

    response = sqlite_client.post("/test/governance", headers=bearer(key))

    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "forbidden"
    assert "department_admin" in error["message"]
    assert error["details"] == {"required_roles": ["department_admin"], "role": "department_user"}


@pytest.mark.parametrize(
    ("role", "path", "method", "allowed"),
    [
        ("department_admin", "/test/governance", "POST", True),
        ("department_user", "/test/governance", "POST", False),
        ("auditor", "/test/governance", "POST", False),
        ("department_admin", "/test/departments/CS-MSA/records", "POST", True),
        ("department_user", "/test/departments/CS-MSA/records", "POST", True),
        ("auditor", "/test/departments/CS-MSA/records", "POST", False),
        ("auditor", "/test/audit", "GET", True),
        ("department_admin", "/test/audit", "GET", False),
        ("department_admin", "/test/admin-or-auditor", "GET", True),
        ("auditor", "/test/admin-or-auditor", "GET", True),
        ("department_user", "/test/admin-or-auditor", "GET", False),
    ],
)
def test_roles_decide_which_routes_a_key_may_use(
    sqlite_client: TestClient, runtime: StandInRuntime, role: str, path: str, method: str, allowed: bool
) -> None:
    key, _ = create_api_key(runtime.engine, "CS-MSA", role, "key")

    response = sqlite_client.request(method, path, headers=bearer(key))

    assert response.status_code == (200 if allowed else 403)


def test_acting_for_another_department_gets_403_wrong_department(
    sqlite_client: TestClient, runtime: StandInRuntime
) -> None:
    key, _ = create_api_key(runtime.engine, "CS-MSA", "department_user", "clerk")

    response = sqlite_client.post("/test/departments/FIN/records", headers=bearer(key))

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "wrong_department"


def test_require_role_refuses_unknown_roles_when_routes_are_declared() -> None:
    with pytest.raises(ValueError):
        require_role("superuser")
    with pytest.raises(ValueError):
        require_role()


def test_too_many_failed_attempts_get_429_with_retry_after_even_for_a_valid_key(
    sqlite_client: TestClient, runtime: StandInRuntime
) -> None:
    valid, _ = create_api_key(runtime.engine, "CS-MSA", "auditor", "audit")
    wrong = bearer("glk_aaaaaaaaaaaa_" + "b" * 43)

    failures = [sqlite_client.get("/test/whoami", headers=wrong).status_code for _ in range(AUTH_FAILURE_LIMIT)]
    limited = sqlite_client.get("/test/whoami", headers=wrong)
    valid_while_limited = sqlite_client.get("/test/whoami", headers=bearer(valid))

    assert failures == [401] * AUTH_FAILURE_LIMIT
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert valid_while_limited.status_code == 429


def test_successful_and_missing_authentication_do_not_count_as_failures(
    sqlite_client: TestClient, runtime: StandInRuntime
) -> None:
    valid, _ = create_api_key(runtime.engine, "CS-MSA", "auditor", "audit")

    statuses = [sqlite_client.get("/test/whoami").status_code for _ in range(AUTH_FAILURE_LIMIT + 1)]
    statuses += [
        sqlite_client.get("/test/whoami", headers=bearer(valid)).status_code for _ in range(AUTH_FAILURE_LIMIT + 1)
    ]

    assert statuses == [401] * (AUTH_FAILURE_LIMIT + 1) + [200] * (AUTH_FAILURE_LIMIT + 1)


def test_protected_routes_declare_both_key_headers_in_openapi(sqlite_client: TestClient) -> None:
    schema = sqlite_client.get("/openapi.json").json()

    assert set(schema["components"]["securitySchemes"]) == {"HTTPBearer", "APIKeyHeader"}
    assert schema["paths"]["/test/whoami"]["get"]["security"]

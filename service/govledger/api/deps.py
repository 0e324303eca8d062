"""FastAPI dependencies shared by all routes: runtime, database sessions, who is calling, rate limits.

Routes declare what they need with these ``Annotated`` aliases, and tests override the functions
behind them (``app.dependency_overrides``) rather than patching internals:

    RuntimeDep          the runtime the app was created with
    SessionDep          a read-write sqlmodel Session, committed before the response is sent
    ReadSessionDep      a read-only Session (on SQLite it does not queue behind writers)
    PrincipalDep        the verified API key (Authorization: Bearer <key> or X-API-Key), else 401
    DepartmentAdminDep  PrincipalDep with role department_admin, else 403
    DepartmentWriterDep PrincipalDep with role department_admin or department_user, else 403
    AuditorDep          PrincipalDep with role auditor, else 403
    PublicRateLimitDep  spends one token of the caller's public rate limit, else 429
    IdempotencyKeyDep   the optional Idempotency-Key header, validated
    VerificationLookupsDep  this app's coalescer of public certificate lookups (api.coalesce)

``require_role(*roles)`` builds further role checks; ``require_department(principal, code)`` refuses a
principal acting for a department other than its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated, Protocol

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from govledger.api.coalesce import Coalescer
from govledger.api.ratelimit import TokenBucketLimiter, client_key
from govledger.api.recent_keys import RecentKeys
from govledger.apikeys import ApiKeyRole, Principal
from govledger.certificates.service import Evidence
from govledger.config import Settings
from govledger.db.engine import session_scope
from govledger.errors import AuthenticationError, PermissionDeniedError, ValidationError
from govledger.runtime import Runtime

logger = logging.getLogger("govledger.api.auth")

API_KEY_HEADER = "X-API-Key"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
# Visible ASCII only: the key is stored and compared byte for byte, and shows up in logs and support requests.
_IDEMPOTENCY_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,128}$")


class AppRuntime(Protocol):
    """What the API needs from the runtime (govledger.runtime.Runtime provides it)."""

    @property
    def settings(self) -> Settings: ...

    @property
    def engine(self) -> Engine: ...

    def readiness(self) -> dict[str, str]: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...


# Dependencies that only read request state are ``async def``: FastAPI runs a plain ``def`` dependency on a
# worker thread, and a thread hand-over per dependency per request cost more than the work they do.


async def get_runtime(request: Request) -> AppRuntime:
    runtime: AppRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[AppRuntime, Depends(get_runtime)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with session_scope(runtime.engine) as session:
        yield session


def get_read_session(runtime: RuntimeDep) -> Iterator[Session]:
    with session_scope(runtime.engine, read_only=True) as session:
        yield session


# scope="function": commit (or fail) before the response goes out, so a 2xx never hides a failed commit.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


# Declared as security schemes so that the OpenAPI document and /docs show how to authenticate;
# the headers are interpreted below, so a malformed header counts as a failed attempt.
_bearer_scheme = HTTPBearer(auto_error=False, description="Authorization: Bearer <API key>")
_api_key_scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="The API key itself.")


async def get_principal(
    request: Request,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer_scheme)],
    _api_key: Annotated[str | None, Security(_api_key_scheme)],
) -> Principal:
    """The caller's verified API key; failed attempts are counted per client and limited (429).

    A key verified moments ago is answered from memory on the event loop (see ``api/recent_keys.py``);
    otherwise the database is asked on a worker thread.
    """
    authorization = request.headers.get("authorization")
    header_key = request.headers.get(API_KEY_HEADER)
    if authorization is None and header_key is None:
        raise AuthenticationError(
            f"this endpoint needs an API key: send 'Authorization: Bearer <key>' or '{API_KEY_HEADER}: <key>'"
        )
    limiter: TokenBucketLimiter = request.app.state.auth_failure_limiter
    client = client_key(request)
    # Checked before the key, so that once a client is limited even a correct guess is not confirmed.
    limiter.ensure_available(client)
    try:
        presented = _presented_key(authorization, header_key)
        keys: RecentKeys = request.app.state.recent_keys
        principal = keys.known(presented)
        if principal is None:
            principal = await run_in_threadpool(keys.verify, presented)
        return principal
    except AuthenticationError as exc:
        limiter.record(client)
        logger.info("authentication failed for client %s: %s", client, exc.code)
        raise


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(*roles: ApiKeyRole | str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency returning the principal if its role is one of ``roles``, else 403 forbidden."""
    allowed = tuple(ApiKeyRole(role) for role in roles)
    if not allowed:
        raise ValueError("require_role needs at least one role")
    needed = " or ".join(role.value for role in allowed)

    async def principal_with_role(principal: PrincipalDep) -> Principal:
        if principal.role not in allowed:
            raise PermissionDeniedError(
                f"this action needs an API key with role {needed}; this key has role {principal.role.value}",
                details={"required_roles": [role.value for role in allowed], "role": principal.role.value},
            )
        return principal

    return principal_with_role


DepartmentAdminDep = Annotated[Principal, Depends(require_role(ApiKeyRole.DEPARTMENT_ADMIN))]
DepartmentWriterDep = Annotated[
    Principal, Depends(require_role(ApiKeyRole.DEPARTMENT_ADMIN, ApiKeyRole.DEPARTMENT_USER))
]
AuditorDep = Annotated[Principal, Depends(require_role(ApiKeyRole.AUDITOR))]


def require_department(principal: Principal, department_code: str) -> None:
    """Refuse (403 wrong_department) a principal acting for a department that is not its own."""
    if principal.department != department_code:
        raise PermissionDeniedError(
            f"this API key belongs to department {principal.department} and cannot act for {department_code}",
            code="wrong_department",
            details={"key_department": principal.department, "department": department_code},
        )


async def enforce_public_rate_limit(request: Request) -> None:
    limiter: TokenBucketLimiter = request.app.state.public_limiter
    limiter.acquire(client_key(request))


PublicRateLimitDep = Annotated[None, Depends(enforce_public_rate_limit)]


async def get_idempotency_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER,
            description="Optional; 1-128 visible ASCII characters. A retried request with the same key "
            "returns the first result instead of acting twice.",
        ),
    ] = None,
) -> str | None:
    if idempotency_key is not None and not _IDEMPOTENCY_KEY_PATTERN.match(idempotency_key):
        raise ValidationError(
            f"the {IDEMPOTENCY_KEY_HEADER} header must be 1-128 visible ASCII characters",
            code="invalid_idempotency_key",
        )
    return idempotency_key


IdempotencyKeyDep = Annotated[str | None, Depends(get_idempotency_key)]


def _presented_key(authorization: str | None, header_key: str | None) -> str:
    bearer_key: str | None = None
    if authorization is not None:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError("the Authorization header must be 'Bearer <API key>'", code="invalid_api_key")
        bearer_key = value.strip()
    if bearer_key is not None and header_key is not None and bearer_key != header_key:
        raise AuthenticationError(
            f"the Authorization and {API_KEY_HEADER} headers carry different keys; send one",
            code="invalid_api_key",
        )
    key = bearer_key if bearer_key is not None else header_key
    assert key is not None
    return key.strip()


async def get_service_runtime(request: Request) -> Runtime:
    """The full runtime (transaction manager, deployment, chain) for the routes that write or read the chain."""
    runtime: Runtime = request.app.state.runtime
    return runtime


ServiceRuntimeDep = Annotated[Runtime, Depends(get_service_runtime)]


async def get_verification_lookups(request: Request) -> Coalescer[str, Evidence]:
    """One coalescer per app, made on first use: the runtime of some apps (tests) has no certificates."""
    state = request.app.state
    lookups: Coalescer[str, Evidence] | None = getattr(state, "verification_lookups", None)
    if lookups is None:
        runtime: Runtime = state.runtime
        lookups = state.verification_lookups = Coalescer("verification", runtime.certificates.evidence_by_ids)
    return lookups


VerificationLookupsDep = Annotated[Coalescer[str, Evidence], Depends(get_verification_lookups)]
WaitDep = Annotated[
    bool,
    Query(description="Wait (bounded by the configured timeout) until the operation is confirmed or failed."),
]

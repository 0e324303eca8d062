"""The one place API keys are issued, checked, revoked and listed.

A key looks like ``glk_<prefix>_<secret>``: ``prefix`` (12 url-safe characters) is stored in clear and used
to find the key's row; the database holds only the SHA-256 of the whole key, so a copy of the database
does not let anyone call the API. The plaintext is returned exactly once, by ``create_api_key``.

Every key belongs to exactly one department and carries one role (``ApiKeyRole``). ``verify_api_key``
turns a presented key into a ``Principal`` or raises ``AuthenticationError`` with a stable code; the
presented key never appears in an error message or a log line.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine, or_, update
from sqlmodel import SQLModel, col, select

from govledger.consortium.departments import validate_department_code
from govledger.db.engine import session_scope
from govledger.db.models import ApiKey, utc_now
from govledger.errors import AuthenticationError, NotFoundError, ValidationError

KEY_SCHEME = "glk"
PREFIX_LENGTH = 12
SECRET_BYTES = 32
# token_urlsafe(n) yields ceil(4n/3) characters without padding.
_SECRET_LENGTH = -(-SECRET_BYTES * 4 // 3)
_PREFIX_BYTES = PREFIX_LENGTH * 3 // 4
_URLSAFE_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
MAX_LABEL_LENGTH = 200

#: ``last_used_at`` is refreshed at most this often per key, so that checking a key is a read, not a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)

# Compared against when no key has the presented prefix, so that a miss costs about the same as a hit.
_UNKNOWN_KEY_HASH = "0" * 64


class ApiKeyRole(StrEnum):
    """What a key may do, always within its own department."""

    DEPARTMENT_ADMIN = "department_admin"  # govern the department and write for it
    DEPARTMENT_USER = "department_user"  # write for the department: anchor, grant, issue ...
    AUDITOR = "auditor"  # read-only audit


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the department and role of a verified API key."""

    department: str
    role: ApiKeyRole
    key_id: str
    #: When the key stops working (None: never), so that a remembered principal expires with its key.
    expires_at: datetime | None = None


class ApiKeyPublic(SQLModel):
    """What may be shown about a key: everything except its secret and hash."""

    id: str
    prefix: str
    department: str
    role: ApiKeyRole
    label: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


def hash_api_key(key: str) -> str:
    """The stored form of ``key``: SHA-256 hex of the whole key.

    Why a fast hash and not bcrypt/scrypt: those exist to slow down guessing of low-entropy passwords.
    Our secrets are 256 random bits, which no amount of hashing speed makes guessable, while a slow hash
    would cost tens of milliseconds of CPU on every API request.
    """
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(
    engine: Engine,
    department: str,
    role: ApiKeyRole | str,
    label: str,
    expires_at: datetime | None = None,
) -> tuple[str, ApiKeyPublic]:
    """Issue a key; returns ``(plaintext, public view)``. The plaintext is not stored and cannot be shown again."""
    validate_department_code(department)
    key_role = _parse_role(role)
    label = label.strip()
    if not label or len(label) > MAX_LABEL_LENGTH:
        raise ValidationError(f"the key label must be 1-{MAX_LABEL_LENGTH} characters", code="invalid_api_key_label")
    if expires_at is not None:
        if expires_at.tzinfo is None:
            raise ValidationError("expires_at must carry a time zone", code="invalid_api_key_expiry")
        if expires_at <= utc_now():
            raise ValidationError("expires_at must be in the future", code="invalid_api_key_expiry")

    prefix = secrets.token_urlsafe(_PREFIX_BYTES)
    plaintext = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    row = ApiKey(
        prefix=prefix,
        secret_hash=hash_api_key(plaintext),
        department=department,
        role=key_role.value,
        label=label,
        expires_at=expires_at,
    )
    with session_scope(engine) as session:
        session.add(row)
        session.flush()
        public = _public(row)
    return plaintext, public


def verify_api_key(engine: Engine, presented: str) -> Principal:
    """The principal of a valid key; else AuthenticationError: invalid_api_key, api_key_revoked, api_key_expired."""
    prefix = _prefix_of(presented)
    with session_scope(engine, read_only=True) as session:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first() if prefix else None
    stored_hash = row.secret_hash if row is not None else _UNKNOWN_KEY_HASH
    # Constant-time so that response timing does not reveal how much of the hash matched.
    matches = hmac.compare_digest(hash_api_key(presented), stored_hash)
    if row is None or not matches:
        raise AuthenticationError("the API key is not valid", code="invalid_api_key")
    # Revocation and expiry are reported only to someone holding the full key, so a known prefix alone
    # tells an outsider nothing about the key's state.
    now = utc_now()
    if row.revoked_at is not None:
        raise AuthenticationError("the API key has been revoked", code="api_key_revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError("the API key has expired", code="api_key_expired")
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        _touch(engine, row.id, now)
    return Principal(department=row.department, role=ApiKeyRole(row.role), key_id=row.id, expires_at=row.expires_at)


def revoke_api_key(engine: Engine, key_id_or_prefix: str, *, department: str | None = None) -> ApiKeyPublic:
    """Revoke a key by id or prefix (idempotent). With ``department``, keys of other departments are not found."""
    with session_scope(engine) as session:
        query = select(ApiKey).where(or_(col(ApiKey.id) == key_id_or_prefix, col(ApiKey.prefix) == key_id_or_prefix))
        if department is not None:
            query = query.where(ApiKey.department == department)
        row = session.exec(query).first()
        if row is None:
            raise NotFoundError("no such API key", code="api_key_not_found")
        if row.revoked_at is None:
            row.revoked_at = utc_now()
            session.add(row)
            session.flush()
        return _public(row)


def list_api_keys(engine: Engine, department: str | None = None) -> list[ApiKeyPublic]:
    """Every key (or a department's keys), oldest first, without secrets."""
    with session_scope(engine, read_only=True) as session:
        query = select(ApiKey).order_by(col(ApiKey.created_at), col(ApiKey.id))
        if department is not None:
            query = query.where(ApiKey.department == department)
        return [_public(row) for row in session.exec(query).all()]


def _parse_role(role: ApiKeyRole | str) -> ApiKeyRole:
    try:
        return ApiKeyRole(role)
    except ValueError:
        known = ", ".join(r.value for r in ApiKeyRole)
        raise ValidationError(f"unknown API key role; roles are: {known}", code="invalid_api_key_role") from None


def _prefix_of(presented: str) -> str | None:
    """The lookup prefix of a well-formed key, else None (parsed by position: '_' is url-safe too)."""
    head = f"{KEY_SCHEME}_"
    expected_length = len(head) + PREFIX_LENGTH + 1 + _SECRET_LENGTH
    if len(presented) != expected_length or not presented.startswith(head):
        return None
    prefix = presented[len(head) : len(head) + PREFIX_LENGTH]
    separator = presented[len(head) + PREFIX_LENGTH]
    if separator != "_" or not set(presented[len(head) :]) <= _URLSAFE_ALPHABET:
        return None
    return prefix


def _touch(engine: Engine, key_id: str, now: datetime) -> None:
    # Conditional, so concurrent requests that all saw a stale value write once between them at most
    # per resolution period and never move the time backwards.
    with session_scope(engine) as session:
        session.execute(
            update(ApiKey)
            .where(col(ApiKey.id) == key_id)
            .where(or_(col(ApiKey.last_used_at).is_(None), col(ApiKey.last_used_at) < now - LAST_USED_RESOLUTION))
            .values(last_used_at=now)
        )


def _public(row: ApiKey) -> ApiKeyPublic:
    return ApiKeyPublic.model_validate(row, from_attributes=True)

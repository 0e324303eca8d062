"""API keys are issued once, stored only as hashes, verified in constant time, revoked and listed without secrets."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text, update
from sqlmodel import col

from govledger import apikeys
from govledger.apikeys import (
    PREFIX_LENGTH,
    ApiKeyRole,
    Principal,
    create_api_key,
    list_api_keys,
    revoke_api_key,
    verify_api_key,
)
from govledger.db.engine import session_scope
from govledger.db.models import ApiKey
from govledger.errors import AuthenticationError, NotFoundError, ValidationError


def set_column(engine: Engine, key_id: str, **values: object) -> None:
    with session_scope(engine) as session:
        session.execute(update(ApiKey).where(col(ApiKey.id) == key_id).values(**values))


def auth_code(engine: Engine, presented: str) -> str:
    with pytest.raises(AuthenticationError) as caught:
        verify_api_key(engine, presented)
    assert not presented or presented not in f"{caught.value.message} {caught.value.details}"
    return caught.value.code


def test_a_new_key_verifies_as_its_department_and_role(migrated_engine: Engine) -> None:
    plaintext, public = create_api_key(migrated_engine, "CS-MSA", "department_user", "registry clerk")

    assert plaintext.startswith(f"glk_{public.prefix}_")
    assert len(public.prefix) == apikeys.PREFIX_LENGTH
    assert verify_api_key(migrated_engine, plaintext) == Principal("CS-MSA", ApiKeyRole.DEPARTMENT_USER, public.id)


def test_only_the_hash_of_a_key_is_stored(migrated_engine: Engine) -> None:
    plaintext, _ = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")
    # The secret is url-safe base64 and may itself contain "_", so it is cut by length, not split on "_".
    secret = plaintext[len(f"glk_{'x' * PREFIX_LENGTH}_") :]
    assert len(secret) >= 40

    with migrated_engine.connect() as connection:
        rows = [tuple(str(v) for v in row) for row in connection.execute(text("SELECT * FROM api_keys"))]
    stored = " ".join(" ".join(row) for row in rows)
    assert plaintext not in stored
    assert secret not in stored
    assert hashlib.sha256(plaintext.encode()).hexdigest() in stored


def test_each_key_is_different(migrated_engine: Engine) -> None:
    keys = {create_api_key(migrated_engine, "CS-MSA", "auditor", f"key {i}")[0] for i in range(5)}

    assert len(keys) == 5


@pytest.mark.parametrize(
    "presented",
    [
        "",
        "glk_",
        "not-a-key",
        "glk_short_secret",
        "Bearer something",
    ],
)
def test_malformed_keys_are_invalid(migrated_engine: Engine, presented: str) -> None:
    assert auth_code(migrated_engine, presented) == "invalid_api_key"


def test_a_key_with_a_wrong_secret_is_invalid(migrated_engine: Engine) -> None:
    plaintext, _ = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")
    forged = plaintext[:-1] + ("A" if plaintext[-1] != "A" else "B")

    assert auth_code(migrated_engine, forged) == "invalid_api_key"


def test_a_revoked_key_is_refused(migrated_engine: Engine) -> None:
    plaintext, public = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")

    revoked = revoke_api_key(migrated_engine, public.id)

    assert revoked.revoked_at is not None
    assert auth_code(migrated_engine, plaintext) == "api_key_revoked"


def test_revoking_by_prefix_works_and_is_idempotent(migrated_engine: Engine) -> None:
    _, public = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")

    first = revoke_api_key(migrated_engine, public.prefix)
    second = revoke_api_key(migrated_engine, public.prefix)

    assert first.revoked_at == second.revoked_at


def test_revoke_rejects_other_departments_keys(migrated_engine: Engine) -> None:
    plaintext, public = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")

    with pytest.raises(NotFoundError):
        revoke_api_key(migrated_engine, public.id, department="FIN")
    assert verify_api_key(migrated_engine, plaintext).key_id == public.id


def test_revoking_an_unknown_key_is_not_found(migrated_engine: Engine) -> None:
    with pytest.raises(NotFoundError) as caught:
        revoke_api_key(migrated_engine, "nope")
    assert caught.value.code == "api_key_not_found"


def test_an_expired_key_is_refused(migrated_engine: Engine) -> None:
    plaintext, public = create_api_key(
        migrated_engine, "CS-MSA", "auditor", "audit office", expires_at=datetime.now(UTC) + timedelta(hours=1)
    )
    assert verify_api_key(migrated_engine, plaintext).key_id == public.id

    set_column(migrated_engine, public.id, expires_at=datetime.now(UTC) - timedelta(seconds=1))

    assert auth_code(migrated_engine, plaintext) == "api_key_expired"


def test_revocation_and_expiry_are_only_revealed_to_the_key_holder(migrated_engine: Engine) -> None:
    _, public = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")
    revoke_api_key(migrated_engine, public.id)
    guessed = f"glk_{public.prefix}_" + "A" * 43

    assert auth_code(migrated_engine, guessed) == "invalid_api_key"


@pytest.mark.parametrize(
    ("department", "role", "label", "expires_at", "code"),
    [
        ("cs-msa", "auditor", "x", None, "invalid_department_code"),
        ("CS-MSA", "superuser", "x", None, "invalid_api_key_role"),
        ("CS-MSA", "auditor", "  ", None, "invalid_api_key_label"),
        ("CS-MSA", "auditor", "x", datetime(2000, 1, 1, tzinfo=UTC), "invalid_api_key_expiry"),
        ("CS-MSA", "auditor", "x", datetime(2999, 1, 1), "invalid_api_key_expiry"),
    ],
)
def test_invalid_key_requests_are_refused(
    migrated_engine: Engine, department: str, role: str, label: str, expires_at: datetime | None, code: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        create_api_key(migrated_engine, department, role, label, expires_at=expires_at)
    assert caught.value.code == code


def test_listing_never_returns_secrets(migrated_engine: Engine) -> None:
    first, _ = create_api_key(migrated_engine, "CS-MSA", "department_admin", "head of registry")
    second, _ = create_api_key(migrated_engine, "FIN", "auditor", "finance audit")

    listed = list_api_keys(migrated_engine)

    dumped = " ".join(key.model_dump_json() for key in listed)
    assert [key.label for key in listed] == ["head of registry", "finance audit"]
    for plaintext in (first, second):
        assert plaintext not in dumped
        assert hashlib.sha256(plaintext.encode()).hexdigest() not in dumped
    assert all("secret_hash" not in key.model_dump() for key in listed)


def test_listing_by_department_shows_only_that_department(migrated_engine: Engine) -> None:
    create_api_key(migrated_engine, "CS-MSA", "department_admin", "head of registry")
    create_api_key(migrated_engine, "FIN", "auditor", "finance audit")

    assert [key.department for key in list_api_keys(migrated_engine, department="FIN")] == ["FIN"]


def test_last_use_is_recorded_at_most_once_a_minute(migrated_engine: Engine) -> None:
    plaintext, public = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")

    verify_api_key(migrated_engine, plaintext)
    [after_first] = list_api_keys(migrated_engine)
    verify_api_key(migrated_engine, plaintext)
    [after_second] = list_api_keys(migrated_engine)
    stale = datetime.now(UTC) - timedelta(minutes=2)
    set_column(migrated_engine, public.id, last_used_at=stale)
    verify_api_key(migrated_engine, plaintext)
    [after_stale] = list_api_keys(migrated_engine)

    assert after_first.last_used_at is not None
    assert after_second.last_used_at == after_first.last_used_at
    assert after_stale.last_used_at is not None and after_stale.last_used_at > stale + timedelta(minutes=1)


def test_keys_are_compared_in_constant_time_even_for_unknown_prefixes(
    migrated_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    plaintext, _ = create_api_key(migrated_engine, "CS-MSA", "auditor", "audit office")
    calls: list[tuple[str, str]] = []
    real_compare = hmac.compare_digest

    def recording_compare(a: str, b: str) -> bool:
        calls.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(apikeys.hmac, "compare_digest", recording_compare)

    verify_api_key(migrated_engine, plaintext)
    auth_code(migrated_engine, "glk_unknownprefx_" + "A" * 43)

    assert len(calls) == 2
    assert calls[0][0] == hashlib.sha256(plaintext.encode()).hexdigest()

"""Keys verified moments ago are answered from memory, for a bounded time, and never past their expiry."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from govledger.api.recent_keys import RecentKeys
from govledger.apikeys import create_api_key, revoke_api_key
from govledger.errors import AuthenticationError


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def refusal_code(keys: RecentKeys, presented: str) -> str:
    """The code of the AuthenticationError that checking ``presented`` against the database raises."""
    with pytest.raises(AuthenticationError) as refused:
        keys.verify(presented)
    return refused.value.code


def test_a_verified_key_is_known_until_its_time_is_up(migrated_engine: Engine) -> None:
    clock = Clock()
    keys = RecentKeys(migrated_engine, 2.0, clock=clock)
    key, public = create_api_key(migrated_engine, "CS-MSA", "department_user", "clerk")
    assert keys.known(key) is None  # never checked yet: the caller must ask the database

    principal = keys.verify(key)

    assert (principal.department, principal.key_id) == ("CS-MSA", public.id)
    clock.now += 1.9
    assert keys.known(key) == principal
    clock.now += 0.2
    assert keys.known(key) is None


def test_a_key_revoked_in_the_database_is_refused_once_the_memory_lapses(migrated_engine: Engine) -> None:
    clock = Clock()
    keys = RecentKeys(migrated_engine, 2.0, clock=clock)
    key, public = create_api_key(migrated_engine, "CS-MSA", "department_user", "clerk")
    keys.verify(key)

    revoke_api_key(migrated_engine, public.id)  # as `govledger apikeys revoke` does, from another process

    assert keys.known(key) is not None  # the documented window: at most api_key_cache_seconds
    clock.now += 2.0
    assert keys.known(key) is None
    assert refusal_code(keys, key) == "api_key_revoked"


def test_an_expired_key_is_never_answered_from_memory(migrated_engine: Engine) -> None:
    keys = RecentKeys(migrated_engine, 60.0)
    expires_at = datetime.now(UTC) + timedelta(seconds=0.5)
    key, _ = create_api_key(migrated_engine, "CS-MSA", "department_user", "clerk", expires_at=expires_at)
    assert keys.verify(key).expires_at == expires_at

    time.sleep(max(0.0, (expires_at - datetime.now(UTC)).total_seconds()) + 0.05)

    assert keys.known(key) is None
    assert refusal_code(keys, key) == "api_key_expired"


def test_a_wrong_key_is_never_remembered(migrated_engine: Engine) -> None:
    keys = RecentKeys(migrated_engine, 60.0)
    key, _ = create_api_key(migrated_engine, "CS-MSA", "department_user", "clerk")
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    for _ in range(2):
        assert refusal_code(keys, wrong) == "invalid_api_key"
        assert keys.known(wrong) is None


def test_zero_seconds_checks_the_database_every_time(migrated_engine: Engine) -> None:
    keys = RecentKeys(migrated_engine, 0.0)
    key, public = create_api_key(migrated_engine, "CS-MSA", "department_user", "clerk")
    keys.verify(key)
    assert keys.known(key) is None

    revoke_api_key(migrated_engine, public.id)

    assert refusal_code(keys, key) == "api_key_revoked"

"""API keys verified in the last few seconds, so that a busy department system is not checked against the
database on every request.

Why: checking a key is a database read that FastAPI must run on a worker thread; with the hand-over to that
thread and back it cost ~1.9 ms of CPU on an authenticated request that otherwise cost ~2.9 ms (measured with
wrk on one API process, see docs/PERFORMANCE.md, round 5). A department system sends many requests a second
with the same key, so remembering the answer briefly removes that cost from almost every request.

What it costs: a key revoked with ``govledger apikeys revoke`` (another process, writing to the database) keeps
working for at most ``api_key_cache_seconds`` in each API process that remembered it: the same window the
service already allows a suspended department (``authority_cache_seconds``), and far shorter than anyone
takes to notice a stolen key and revoke it. Set it to 0 to check the database on every request. An expired
key stops at its expiry time exactly, remembered or not, and a failed check is never remembered, so every
wrong key is still counted by the failed-attempt limit.

Entries are keyed by the SHA-256 of the key (the form the database stores), not by the key itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Engine

from govledger.apikeys import Principal, hash_api_key, verify_api_key
from govledger.db.models import utc_now
from govledger.ttlcache import TtlCache

#: Distinct keys remembered at once per process; a department has a handful, the consortium a few hundred.
MAX_REMEMBERED_KEYS = 10_000


class RecentKeys:
    """``known(key)`` answers from memory without blocking; ``verify(key)`` asks the database (on a thread)."""

    def __init__(self, engine: Engine, ttl_seconds: float, *, clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self._principals: TtlCache[str, Principal] = TtlCache(
            ttl_seconds, max_entries=MAX_REMEMBERED_KEYS, clock=clock
        )

    def known(self, presented: str) -> Principal | None:
        """The principal of a key verified within the last ``ttl_seconds`` and not expired since, else None."""
        principal = self._principals.peek(hash_api_key(presented))
        if principal is None or _expired(principal):
            return None
        return principal

    def verify(self, presented: str) -> Principal:
        """Check the key against the database (AuthenticationError if it is not valid) and remember it."""
        key_hash = hash_api_key(presented)
        principal = self._principals.get_or_load(key_hash, lambda: verify_api_key(self.engine, presented))
        if _expired(principal):
            # Remembered by a concurrent request a moment before its expiry: ask the database, which knows.
            self._principals.forget(key_hash)
            return verify_api_key(self.engine, presented)
        return principal


def _expired(principal: Principal) -> bool:
    return principal.expires_at is not None and principal.expires_at <= utc_now()

"""In-process token-bucket rate limiting per client, for public endpoints and failed authentication.

Each client (by IP address) has a bucket of ``per_minute`` tokens that refills continuously at
``per_minute`` tokens a minute. The limiter lives in one process: behind several workers each one
limits on its own, which is acceptable for a guard against floods and key guessing (a shared store
would be the next step if needed).

Memory stays bounded: a bucket that has refilled completely is indistinguishable from no bucket, so
such idle buckets are dropped; past ``max_clients`` the least recently seen buckets are dropped too.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.requests import HTTPConnection

from govledger.errors import RateLimitedError

DEFAULT_MAX_CLIENTS = 10_000
UNKNOWN_CLIENT = "unknown"


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """Thread-safe token buckets keyed by client; each action costs one token."""

    def __init__(
        self,
        per_minute: int,
        *,
        name: str = "requests",
        max_clients: int = DEFAULT_MAX_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.capacity = float(per_minute)
        self.name = name
        self._refill_per_second = per_minute / 60.0
        self._max_clients = max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> None:
        """Spend a token for ``client``, or raise ``RateLimitedError`` if none is left."""
        with self._lock:
            bucket = self._refilled(client)
            if bucket.tokens < 1:
                raise self._limited(bucket)
            bucket.tokens -= 1

    def ensure_available(self, client: str) -> None:
        """Raise ``RateLimitedError`` if ``client`` has no token left, without spending one."""
        with self._lock:
            bucket = self._refilled(client)
            if bucket.tokens < 1:
                raise self._limited(bucket)

    def record(self, client: str) -> None:
        """Spend a token for something that already happened (a failed login); never raises."""
        with self._lock:
            bucket = self._refilled(client)
            bucket.tokens = max(0.0, bucket.tokens - 1)

    def __len__(self) -> int:
        with self._lock:
            return len(self._buckets)

    def _refilled(self, client: str) -> _Bucket:
        now = self._clock()
        bucket = self._buckets.get(client)
        if bucket is None:
            self._make_room(now)
            bucket = _Bucket(tokens=self.capacity, updated=now)
            self._buckets[client] = bucket
        else:
            bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self._refill_per_second)
            bucket.updated = now
            self._buckets.move_to_end(client)
        return bucket

    def _make_room(self, now: float) -> None:
        # Oldest first: a bucket full by now carries no information, so dropping it changes nothing.
        # Amortised O(1): each bucket is dropped at most once after being added.
        while self._buckets:
            oldest = next(iter(self._buckets.values()))
            if oldest.tokens + (now - oldest.updated) * self._refill_per_second < self.capacity:
                break
            self._buckets.popitem(last=False)
        while len(self._buckets) >= self._max_clients:
            self._buckets.popitem(last=False)

    def _limited(self, bucket: _Bucket) -> RateLimitedError:
        retry_after = max(1, math.ceil((1 - bucket.tokens) / self._refill_per_second))
        return RateLimitedError(
            f"too many {self.name}; retry in {retry_after} s",
            details={"retry_after_seconds": retry_after},
        )


def client_key(connection: HTTPConnection) -> str:
    """The rate-limit key of a request: the peer address (X-Forwarded-For is not trusted)."""
    return connection.client.host if connection.client is not None else UNKNOWN_CLIENT

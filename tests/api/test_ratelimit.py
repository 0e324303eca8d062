"""The token-bucket limiter: per-client budgets that refill, bounded memory, safe under threads, and 429 over HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from govledger.api.deps import PublicRateLimitDep
from govledger.api.ratelimit import TokenBucketLimiter
from govledger.errors import RateLimitedError
from tests.api.conftest import PUBLIC_RATE_LIMIT, StandInRuntime, app_with


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_budget_then_429_with_the_wait_until_the_next_token() -> None:
    clock = ManualClock()
    limiter = TokenBucketLimiter(6, clock=clock)

    for _ in range(6):
        limiter.acquire("10.0.0.1")
    with pytest.raises(RateLimitedError) as caught:
        limiter.acquire("10.0.0.1")

    assert caught.value.status == 429
    assert caught.value.details == {"retry_after_seconds": 10}


def test_tokens_come_back_over_time() -> None:
    clock = ManualClock()
    limiter = TokenBucketLimiter(6, clock=clock)
    for _ in range(6):
        limiter.acquire("10.0.0.1")

    clock.now += 10
    limiter.acquire("10.0.0.1")
    with pytest.raises(RateLimitedError):
        limiter.acquire("10.0.0.1")


def test_clients_have_separate_budgets() -> None:
    limiter = TokenBucketLimiter(1, clock=ManualClock())

    limiter.acquire("10.0.0.1")
    limiter.acquire("10.0.0.2")
    with pytest.raises(RateLimitedError):
        limiter.acquire("10.0.0.1")


def test_recorded_failures_exhaust_the_budget_without_raising() -> None:
    limiter = TokenBucketLimiter(2, clock=ManualClock())

    limiter.ensure_available("10.0.0.1")
    for _ in range(5):
        limiter.record("10.0.0.1")

    with pytest.raises(RateLimitedError):
        limiter.ensure_available("10.0.0.1")


def test_checking_availability_spends_nothing() -> None:
    limiter = TokenBucketLimiter(1, clock=ManualClock())

    for _ in range(10):
        limiter.ensure_available("10.0.0.1")
    limiter.acquire("10.0.0.1")


def test_idle_buckets_are_dropped() -> None:
    clock = ManualClock()
    limiter = TokenBucketLimiter(60, clock=clock)
    for i in range(100):
        limiter.acquire(f"10.0.0.{i}")
    assert len(limiter) == 100

    clock.now += 61
    limiter.acquire("10.0.1.1")

    assert len(limiter) == 1


def test_memory_stays_bounded_under_a_flood_of_clients() -> None:
    limiter = TokenBucketLimiter(60, max_clients=50, clock=ManualClock())

    for i in range(1000):
        limiter.acquire(f"client-{i}")

    assert len(limiter) == 50


def test_the_limit_holds_under_concurrent_use() -> None:
    limiter = TokenBucketLimiter(100, clock=ManualClock())
    granted: list[int] = []
    lock = threading.Lock()

    def spend() -> None:
        for _ in range(50):
            try:
                limiter.acquire("10.0.0.1")
            except RateLimitedError:
                continue
            with lock:
                granted.append(1)

    threads = [threading.Thread(target=spend) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(granted) == 100


router = APIRouter()


@router.get("/test/public")
def public(_: PublicRateLimitDep) -> dict[str, bool]:
    """Test route behind the public rate limit."""
    return {"ok": True}


@pytest.fixture
def client(runtime: StandInRuntime) -> Iterator[TestClient]:
    with TestClient(app_with(runtime, router)) as test_client:
        yield test_client


def test_public_endpoints_answer_429_with_retry_after_past_the_limit(client: TestClient) -> None:
    statuses = [client.get("/test/public").status_code for _ in range(PUBLIC_RATE_LIMIT)]
    limited = client.get("/test/public")

    assert statuses == [200] * PUBLIC_RATE_LIMIT
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) == 60 // PUBLIC_RATE_LIMIT


def test_the_public_limit_does_not_apply_to_other_routes(client: TestClient) -> None:
    statuses = {client.get("/healthz").status_code for _ in range(PUBLIC_RATE_LIMIT * 2)}

    assert statuses == {200}

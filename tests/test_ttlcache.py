"""TtlCache: remembered answers within the ttl, reloads after it, bounded size, and many threads at once."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter

import pytest

from govledger.ttlcache import TtlCache


class CountingLoader:
    """A loader that returns ``prefix-N`` on its N-th call, so a reload is visible in the value."""

    def __init__(self, prefix: str = "v"):
        self.prefix = prefix
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.calls += 1
            return f"{self.prefix}-{self.calls}"


def test_a_value_is_reused_within_the_ttl():
    cache: TtlCache[str, str] = TtlCache(60)
    load = CountingLoader()
    assert [cache.get_or_load("k", load) for _ in range(5)] == ["v-1"] * 5
    assert load.calls == 1


def test_a_value_is_loaded_again_once_the_ttl_has_passed():
    cache: TtlCache[str, str] = TtlCache(0.2)
    load = CountingLoader()
    assert cache.get_or_load("k", load) == "v-1"
    assert cache.get_or_load("k", load) == "v-1"
    time.sleep(0.3)
    assert cache.get_or_load("k", load) == "v-2"
    assert cache.get_or_load("k", load) == "v-2"
    assert load.calls == 2


def test_keys_are_remembered_separately():
    cache: TtlCache[str, str] = TtlCache(60)
    a, b = CountingLoader("a"), CountingLoader("b")
    assert cache.get_or_load("a", a) == "a-1"
    assert cache.get_or_load("b", b) == "b-1"
    assert cache.get_or_load("a", a) == "a-1"
    assert (a.calls, b.calls) == (1, 1)


@pytest.mark.parametrize("ttl", [0, -1])
def test_a_ttl_of_zero_never_remembers(ttl: float):
    cache: TtlCache[str, str] = TtlCache(ttl)
    load = CountingLoader()
    assert [cache.get_or_load("k", load) for _ in range(3)] == ["v-1", "v-2", "v-3"]


def test_max_entries_evicts_the_oldest_stored_first():
    cache: TtlCache[int, str] = TtlCache(60, max_entries=3)
    loaders = {key: CountingLoader(str(key)) for key in range(5)}
    for key in range(5):
        cache.get_or_load(key, loaders[key])
    # 0 and 1 were stored first and went; 2, 3 and 4 are still remembered.
    for key in (2, 3, 4):
        assert cache.get_or_load(key, loaders[key]) == f"{key}-1"
    for key in (0, 1):
        assert cache.get_or_load(key, loaders[key]) == f"{key}-2"
    assert sum(loader.calls for loader in loaders.values()) == 7


def test_expired_entries_are_let_go_of_as_new_ones_are_stored():
    """A burst of distinct keys (every certificate asked once) must not stay in memory once it is stale."""
    now = [0.0]
    cache: TtlCache[int | str, str] = TtlCache(2, clock=lambda: now[0])
    for key in range(1000):
        cache.get_or_load(key, lambda: "evidence")
    assert len(cache) == 1000

    now[0] = 1.5
    cache.get_or_load("fresh", lambda: "evidence")
    assert len(cache) == 1001  # nothing is past its time yet

    now[0] = 2.5
    cache.get_or_load("later", lambda: "evidence")
    assert len(cache) == 2  # the burst is gone; "fresh" (stored at 1.5) is still within its 2 s
    assert cache.peek("fresh") == "evidence"


def test_many_keys_are_answered_from_memory_and_one_load_for_the_rest():
    cache: TtlCache[str, str] = TtlCache(60)
    asked: list[list[str]] = []

    def load_many(keys: list[str]) -> dict[str, str]:
        asked.append(keys)
        return {key: f"{key}-{len(asked)}" for key in keys}

    assert cache.get_or_load_many(["a", "b"], load_many) == {"a": "a-1", "b": "b-1"}
    assert cache.get_or_load_many(["b", "c", "a", "d"], load_many) == {"a": "a-1", "b": "b-1", "c": "c-2", "d": "d-2"}
    assert cache.get_or_load_many(["c"], load_many) == {"c": "c-2"}
    assert asked == [["a", "b"], ["c", "d"]]
    assert cache.get_or_load("d", lambda: "never") == "d-2"


def test_values_loaded_many_at_a_time_while_the_cache_was_cleared_are_not_remembered():
    cache: TtlCache[str, str] = TtlCache(60)

    def load_many_during_a_clear(keys: list[str]) -> dict[str, str]:
        cache.clear()  # a certificate operation settled while these were being read
        return dict.fromkeys(keys, "old")

    assert cache.get_or_load_many(["a"], load_many_during_a_clear) == {"a": "old"}
    assert cache.get_or_load("a", lambda: "new") == "new"


def test_a_reloaded_key_counts_as_newest_for_eviction():
    cache: TtlCache[str, str] = TtlCache(0.2, max_entries=2)
    old, other, third = CountingLoader("old"), CountingLoader("other"), CountingLoader("third")
    cache.get_or_load("old", old)
    time.sleep(0.25)
    cache.get_or_load("other", other)
    cache.get_or_load("old", old)  # expired: loaded again and stored as the newest
    cache.get_or_load("third", third)  # evicts "other", the least recently stored
    assert cache.get_or_load("old", old) == "old-2"
    assert cache.get_or_load("other", other) == "other-2"


def test_forget_drops_one_key_and_clear_drops_all():
    cache: TtlCache[str, str] = TtlCache(60)
    a, b = CountingLoader("a"), CountingLoader("b")
    cache.get_or_load("a", a)
    cache.get_or_load("b", b)
    cache.forget("a")
    cache.forget("never-stored")  # no error
    assert cache.get_or_load("a", a) == "a-2"
    assert cache.get_or_load("b", b) == "b-1"
    cache.clear()
    assert cache.get_or_load("a", a) == "a-3"
    assert cache.get_or_load("b", b) == "b-2"


def test_an_exception_from_the_loader_is_not_remembered():
    cache: TtlCache[str, str] = TtlCache(60)
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("node down")
        return "ok"

    with pytest.raises(RuntimeError):
        cache.get_or_load("k", flaky)
    assert cache.get_or_load("k", flaky) == "ok"
    assert cache.get_or_load("k", flaky) == "ok"
    assert calls == 2


def test_many_threads_share_one_cache_safely():
    """32 threads, 60 keys, a bound of 50 entries, clears mixed in: every answer is one its key's loader gave."""
    cache: TtlCache[int, str] = TtlCache(60, max_entries=50)
    loaders = {key: CountingLoader(f"k{key}") for key in range(60)}
    errors: list[BaseException] = []
    answers: Counter[str] = Counter()
    answers_lock = threading.Lock()
    start = threading.Barrier(32)

    def worker(seed: int) -> None:
        try:
            start.wait()
            rng = random.Random(seed)
            local: Counter[str] = Counter()
            for i in range(2000):
                key = rng.randrange(60)
                value = cache.get_or_load(key, loaders[key])
                assert value.startswith(f"k{key}-"), (key, value)
                local["hit"] += 1
                if i % 500 == 250:
                    cache.clear()
                elif i % 97 == 0:
                    cache.forget(key)
            with answers_lock:
                answers.update(local)
        except BaseException as exc:  # reported below, after join
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(32)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    loads = sum(loader.calls for loader in loaders.values())
    print(
        f"ttlcache threads=32 lookups={answers['hit']} loads={loads} "
        f"entries_at_end={len(cache._entries)} seconds={time.monotonic() - started:.2f}"
    )
    assert not errors, errors[:3]
    assert answers["hit"] == 32 * 2000
    assert len(cache._entries) <= 50
    # The memory did its job: far fewer loads than lookups, despite clears and a bound below the key count.
    assert loads < answers["hit"] / 2


def test_a_value_whose_load_overlapped_a_clear_is_not_remembered():
    """clear() means "what you knew may be out of date": a load that began before it must not outlive it.

    A settle listener clears the cache while a request thread is still loading the old answer (e.g. a
    verification that read the chain just before the revocation was mined); that old answer must not then
    be served for a whole ttl.
    """
    cache: TtlCache[str, str] = TtlCache(60)
    state = {"value": "before"}

    def load_racing_a_change() -> str:
        seen = state["value"]
        state["value"] = "after"  # the change lands while this load is in flight...
        cache.clear()  # ...and its listener clears the memory
        return seen

    assert cache.get_or_load("k", load_racing_a_change) == "before"
    assert cache.get_or_load("k", lambda: state["value"]) == "after"


def test_peek_answers_only_from_memory_and_only_within_the_ttl():
    now = [100.0]
    cache: TtlCache[str, str] = TtlCache(5, clock=lambda: now[0])
    assert cache.peek("k") is None
    cache.get_or_load("k", CountingLoader())
    now[0] += 4.9
    assert cache.peek("k") == "v-1"
    now[0] += 0.1
    assert cache.peek("k") is None
    assert TtlCache(0).peek("k") is None

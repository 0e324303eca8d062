"""A small thread-safe memory of recent answers, each kept for a fixed number of seconds.

Used where asking again costs a database query or a node round-trip on every request (department standing,
API keys, public verification evidence) and an answer a second or two old is acceptable; each user says
why in its own docstring and lets operators set the time (0 turns the memory off).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """``get_or_load(key, load)``: the remembered value if younger than ``ttl_seconds``, else ``load()``.

    At most ``max_entries`` values are kept (the least recently stored go first), so a flood of distinct
    keys (random certificate numbers from the public) cannot grow memory without bound.
    """

    def __init__(self, ttl_seconds: float, *, max_entries: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.ttl_seconds = ttl_seconds
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by forget/clear: a value whose load began before one of them may be stale and is not kept.
        self._generation = 0

    def get_or_load(self, key: K, load: Callable[[], V]) -> V:
        return self.get_or_load_many([key], lambda _: {key: load()})[key]

    def get_or_load_many(self, keys: Sequence[K], load_many: Callable[[list[K]], Mapping[K, V]]) -> dict[K, V]:
        """The remembered value of each key, with one ``load_many`` call for all the others.

        ``load_many`` must answer every key it is given; what it answers is remembered as ``load`` is.
        """
        if self.ttl_seconds <= 0:
            return dict(load_many(list(keys)))
        now = self._clock()
        found: dict[K, V] = {}
        with self._lock:
            generation = self._generation
            for key in keys:
                entry = self._entries.get(key)
                if entry is not None and now - entry[0] < self.ttl_seconds:
                    found[key] = entry[1]
        missing = [key for key in keys if key not in found]
        if not missing:
            return found
        loaded = load_many(missing)
        with self._lock:
            if generation == self._generation:
                for key in missing:
                    self._store(key, now, loaded[key])
        return {**found, **loaded}

    def _store(self, key: K, now: float, value: V) -> None:
        """Keep ``value`` as the newest entry; drop entries past their time and any over ``max_entries``.

        Entries are kept in the order they were stored, and all live equally long, so the expired ones are
        always the oldest: a burst of distinct keys (every certificate of a city asked once) is let go of
        ``ttl_seconds`` later instead of staying until ``max_entries`` newer ones push it out.
        """
        self._entries[key] = (now, value)
        self._entries.move_to_end(key)
        while self._entries:
            oldest_key, (stored_at, _) = next(iter(self._entries.items()))
            if now - stored_at < self.ttl_seconds and len(self._entries) <= self.max_entries:
                break
            del self._entries[oldest_key]

    def __len__(self) -> int:
        """Entries held now, expired ones not yet let go of included."""
        with self._lock:
            return len(self._entries)

    def peek(self, key: K) -> V | None:
        """The remembered value if younger than ``ttl_seconds``, else None; never loads."""
        if self.ttl_seconds <= 0:
            return None
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl_seconds:
            return entry[1]
        return None

    def forget(self, key: K) -> None:
        with self._lock:
            self._generation += 1
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._entries.clear()

"""A small thread-safe memory of recent answers, each kept for a fixed number of seconds.

Used where asking again costs a database query or a node round-trip on every request (department standing,
API keys, public verification evidence) and an answer a second or two old is acceptable; each user says
why in its own docstring and lets operators set the time (0 turns the memory off).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
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
        if self.ttl_seconds <= 0:
            return load()
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            generation = self._generation
        if entry is not None and now - entry[0] < self.ttl_seconds:
            return entry[1]
        value = load()
        with self._lock:
            if generation != self._generation:
                return value
            self._entries[key] = (now, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

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

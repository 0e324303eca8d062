"""Lookups asked on the event loop, answered together on one thread: ``await coalescer.get(key)``.

Public verification is the service's busiest read: every answer needs the certificate's row and its status
on chain. Asked one request at a time, each lookup paid a hand-over to a request thread and back, a
database query and a node round-trip of its own, which together cost more than the request's HTTP work.
Here a request waits on the event loop while one thread loads everything asked meanwhile in one call
(``load_many``: one query and one JSON-RPC batch for the lot), much as group commit does for writes: under
light load a group is one lookup and nothing waits longer than one load; under heavy load groups grow by
themselves. Answers are still read after the question arrives, never before.

One group per event loop is loading at a time; what is asked meanwhile waits for the next. Requests for the
same key in one group share its load. If ``load_many`` raises, every request of that group gets the error.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import weakref
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: Keys per load at most: a bound on one database query's parameters and one node batch.
MAX_GROUP = 256


@dataclass
class _LoopState(Generic[K, V]):
    """One event loop's lookups: those waiting for the next group, and whether a group is loading."""

    waiting: dict[K, asyncio.Future[V]] = field(default_factory=dict)
    loading: bool = False


class Coalescer(Generic[K, V]):
    """``await get(key)``: the value ``load_many`` gave for ``key``, loaded together with others' keys."""

    def __init__(self, name: str, load_many: Callable[[list[K]], Mapping[K, V]], *, max_group: int = MAX_GROUP):
        self.name = name
        self.max_group = max_group
        self._load_many = load_many
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState[K, V]] = (
            weakref.WeakKeyDictionary()
        )
        self._groups: queue.SimpleQueue[tuple[asyncio.AbstractEventLoop, dict[K, asyncio.Future[V]]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        #: Loads made and keys loaded so far: their ratio is how many lookups one load served on average.
        self.loads = 0
        self.keys_loaded = 0

    async def get(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopState()
        future = state.waiting.get(key)
        if future is None:
            future = state.waiting[key] = loop.create_future()
            if not state.loading:
                self._hand_over(loop, state)
        # Shielded: a client that hangs up cancels its own wait, never the lookup others share.
        return await asyncio.shield(future)

    def _hand_over(self, loop: asyncio.AbstractEventLoop, state: _LoopState[K, V]) -> None:
        """Give the loading thread the next group of this loop's waiting keys (on the loop's thread)."""
        keys = list(state.waiting)[: self.max_group]
        group = {key: state.waiting.pop(key) for key in keys}
        state.loading = True
        self._groups.put((loop, group))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"govledger-{self.name}", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while True:
            loop, group = self._groups.get()
            self.loads += 1
            self.keys_loaded += len(group)
            try:
                outcome: Mapping[K, V] | BaseException = self._load_many(list(group))
            except Exception as exc:  # every waiting request must hear about it, whatever it was
                outcome = exc
            # RuntimeError: the loop has closed (shut-down), so nobody is waiting any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._settle, loop, group, outcome)

    def _settle(
        self,
        loop: asyncio.AbstractEventLoop,
        group: dict[K, asyncio.Future[V]],
        outcome: Mapping[K, V] | BaseException,
    ) -> None:
        """Answer a loaded group's requests, then hand over what was asked meanwhile (on the loop's thread)."""
        for key, future in group.items():
            if future.done():
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            elif key in outcome:
                future.set_result(outcome[key])
            else:
                future.set_exception(LookupError(f"{self.name}: no answer was loaded for {key!r}"))
        state = self._loops[loop]
        state.loading = False
        if state.waiting:
            self._hand_over(loop, state)

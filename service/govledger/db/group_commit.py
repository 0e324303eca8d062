"""Group commit: many request threads, one writer thread, one database transaction per group.

Every accepted write must be committed before its request is answered. Committing each request on its own
makes every request take SQLite's single write lock in turn (and costs PostgreSQL a round-trip and a WAL
flush each); with dozens of request threads competing for the interpreter, the thread holding the lock
then waits for its turn to run while everyone else waits for the lock. Here request threads hand their item
to one writer thread and wait; the writer commits everything that has queued up meanwhile in one
transaction and then answers each request. Under light load a group is one item and nothing waits longer
than one commit; under heavy load groups grow by themselves.

The owner supplies ``commit_group(items)``, which writes a group in one transaction and returns one outcome
per item: its result, or the exception that item's caller must see (a conflict of that item alone). If
``commit_group`` itself raises, the whole group failed and every caller sees that exception.

A caller that waited ``timeout_seconds`` in the queue is told to try again (503) and its item is withdrawn,
so an error never hides a write that happened later; one whose item the writer has already taken waits for
that commit's outcome instead.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from govledger.errors import DatabaseUnavailableError

T = TypeVar("T")
R = TypeVar("R")

#: Items per transaction at most; a bound on how long one commit holds the write lock.
MAX_GROUP = 1000
#: A caller waits this long for its group to commit before it is told to retry.
COMMIT_TIMEOUT_SECONDS = 30.0


@dataclass
class _Pending(Generic[T, R]):
    item: T
    done: Future[R] = field(default_factory=Future)


class GroupCommitter(Generic[T, R]):
    """``submit(item)`` returns once the group holding ``item`` is committed: that item's outcome."""

    def __init__(
        self,
        name: str,
        commit_group: Callable[[list[T]], Sequence[R | BaseException]],
        *,
        max_group: int = MAX_GROUP,
        timeout_seconds: float = COMMIT_TIMEOUT_SECONDS,
    ):
        self.name = name
        self.max_group = max_group
        self.timeout_seconds = timeout_seconds
        self._commit_group = commit_group
        self._queue: queue.SimpleQueue[_Pending[T, R] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def submit(self, item: T) -> R:
        pending: _Pending[T, R] = _Pending(item)
        self._queue.put(pending)
        # After the put: if stop() ran meanwhile, its writer may be gone, and this starts the next one.
        self._ensure_started()
        try:
            return pending.done.result(timeout=self.timeout_seconds)
        except TimeoutError:
            pass
        # A caller told "try again" must find nothing written: withdraw the item if the writer has not taken it.
        if pending.done.cancel():
            raise DatabaseUnavailableError("the database did not accept the write in time, try again") from None
        # The writer is committing it right now, so only the outcome can say whether it was written.
        try:
            return pending.done.result(timeout=self.timeout_seconds)
        except TimeoutError:
            raise DatabaseUnavailableError(
                "the database has not confirmed the write yet; retry with the same request or Idempotency-Key"
            ) from None

    def stop(self, timeout: float = 10.0) -> None:
        with self._start_lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"govledger-{self.name}", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            group = [first]
            stop = False
            while len(group) < self.max_group:
                try:
                    pending = self._queue.get_nowait()
                except queue.Empty:
                    break
                if pending is None:
                    stop = True
                    break
                group.append(pending)
            self._commit(group)
            if stop:
                return

    def _commit(self, group: list[_Pending[T, R]]) -> None:
        # Items whose callers gave up (and were told nothing was written) are left out.
        group = [pending for pending in group if pending.done.set_running_or_notify_cancel()]
        if not group:
            return
        try:
            outcomes = self._commit_group([pending.item for pending in group])
        except Exception as exc:  # every waiting caller must hear about it, whatever it was
            for pending in group:
                pending.done.set_exception(exc)
            return
        for pending, outcome in zip(group, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                pending.done.set_exception(outcome)
            else:
                pending.done.set_result(outcome)

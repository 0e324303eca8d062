"""Running a coroutine to its end from a synchronous test, whatever the test's thread already runs.

The page tests' session-wide Playwright (its sync API) leaves an event loop running on the main thread of
the pytest worker, where ``asyncio.run`` then refuses to start another; tests that come after it in the
same worker would fail or pass by the order xdist hands them out. A thread of its own has no loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_on_its_own_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coroutine)`` on a new thread; its result, or the exception it raised."""
    with ThreadPoolExecutor(1, thread_name_prefix="test-loop") as thread:
        return thread.submit(asyncio.run, coroutine).result()

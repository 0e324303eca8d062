"""Coalescer: lookups asked on the event loop meanwhile are loaded together, each caller gets its own answer."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from govledger.api.coalesce import Coalescer
from tests.support.event_loops import run_on_its_own_thread


class RecordingLoader:
    """``load_many`` that answers ``key * 10`` and records each group it was given, taking ``seconds`` per load."""

    def __init__(self, seconds: float = 0.02):
        self.seconds = seconds
        self.groups: list[list[int]] = []
        self.threads: set[str] = set()

    def __call__(self, keys: list[int]) -> dict[int, int]:
        self.groups.append(list(keys))
        self.threads.add(threading.current_thread().name)
        time.sleep(self.seconds)
        return {key: key * 10 for key in keys}


def test_lookups_asked_meanwhile_are_loaded_together_and_each_gets_its_answer():
    load = RecordingLoader()
    coalescer = Coalescer("test", load)

    async def ask_all() -> list[int]:
        return await asyncio.gather(*(coalescer.get(key) for key in range(100)))

    answers = run_on_its_own_thread(ask_all())

    assert answers == [key * 10 for key in range(100)]
    print(f"coalesce: 100 lookups in {len(load.groups)} loads of {[len(group) for group in load.groups]}")
    assert len(load.groups) <= 3  # the first alone, then everyone who asked while it loaded
    assert sorted(key for group in load.groups for key in group) == list(range(100))
    assert load.threads == {"govledger-test"}  # never on the event loop's thread


def test_a_group_is_at_most_max_group_keys():
    load = RecordingLoader(seconds=0.0)
    coalescer = Coalescer("test", load, max_group=8)

    async def ask_all() -> list[int]:
        return await asyncio.gather(*(coalescer.get(key) for key in range(50)))

    assert run_on_its_own_thread(ask_all()) == [key * 10 for key in range(50)]
    assert max(len(group) for group in load.groups) == 8


def test_callers_of_the_same_key_waiting_together_share_one_load():
    load = RecordingLoader()
    coalescer = Coalescer("test", load)

    async def ask_same() -> list[int]:
        # 0 starts loading at once; the twenty asks for 7 wait for the next group, as one key.
        return await asyncio.gather(coalescer.get(0), *(coalescer.get(7) for _ in range(20)))

    assert run_on_its_own_thread(ask_same()) == [0] + [70] * 20
    assert load.groups == [[0], [7]]


def test_a_key_asked_after_its_load_began_is_loaded_again():
    """An answer is read after its question arrives, never before: a load already running is not shared."""
    load = RecordingLoader(seconds=0.05)
    coalescer = Coalescer("test", load)

    async def ask_twice() -> list[int]:
        first = asyncio.ensure_future(coalescer.get(7))
        await asyncio.sleep(0.01)  # the load of the first has begun
        return [await coalescer.get(7), await first]

    assert run_on_its_own_thread(ask_twice()) == [70, 70]
    assert load.groups == [[7], [7]]


def test_a_failed_load_fails_every_caller_of_its_group_and_the_next_group_loads_again():
    calls = []

    def flaky(keys: list[int]) -> dict[int, int]:
        calls.append(keys)
        if len(calls) == 1:
            raise RuntimeError("node unreachable")
        return {key: key for key in keys}

    coalescer = Coalescer("test", flaky)

    async def scenario() -> tuple[list[object], int]:
        failed = await asyncio.gather(coalescer.get(1), return_exceptions=True)
        return failed, await coalescer.get(2)

    failed, later = run_on_its_own_thread(scenario())
    assert isinstance(failed[0], RuntimeError) and str(failed[0]) == "node unreachable"
    assert later == 2


def test_a_key_the_loader_did_not_answer_is_an_error_for_its_caller_only():
    coalescer = Coalescer("test", lambda keys: {key: key for key in keys if key != 3})

    async def ask() -> list[object]:
        return await asyncio.gather(*(coalescer.get(key) for key in (1, 3)), return_exceptions=True)

    one, three = run_on_its_own_thread(ask())
    assert one == 1
    assert isinstance(three, LookupError)


def test_a_caller_that_gives_up_does_not_cancel_the_lookup_others_wait_for():
    load = RecordingLoader(seconds=0.1)
    coalescer = Coalescer("test", load)

    async def scenario() -> int:
        impatient = asyncio.ensure_future(coalescer.get(5))
        patient = asyncio.ensure_future(coalescer.get(5))
        await asyncio.sleep(0.01)
        impatient.cancel()
        with pytest.raises(asyncio.CancelledError):
            await impatient
        return await patient

    assert run_on_its_own_thread(scenario()) == 50


def test_each_event_loop_is_served_even_after_another_loop_has_closed():
    coalescer = Coalescer("test", RecordingLoader(seconds=0.0))
    assert run_on_its_own_thread(coalescer.get(1)) == 10
    assert run_on_its_own_thread(coalescer.get(2)) == 20  # a new loop (a restarted app, a new test client)

"""RecordIntake (group commit of single records) on SQLite and PostgreSQL: every add committed exactly once."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import select

from govledger.db.engine import is_postgres, session_scope
from govledger.db.models import AnchoredRecord
from govledger.errors import GovLedgerError
from govledger.records.intake import RecordIntake

CHAIN_ID = 1337


def row(record_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "chain_id": CHAIN_ID,
        "record_id": record_id,
        "department": "CS-PSB",
        "content_hash": f"{abs(hash(record_id)):064x}"[:64],
        "hash_algorithm": "sha256",
        "schema_id": "household-v1",
        "mode": "batch",
        "request_hash": f"req-{record_id}",
        "created_at": datetime.now(UTC),
        **overrides,
    }


def stored(engine: Engine) -> dict[str, AnchoredRecord]:
    with session_scope(engine, read_only=True) as session:
        return {r.record_id: r for r in session.exec(select(AnchoredRecord)).all()}


@pytest.fixture
def intake(migrated_engine: Engine) -> Iterator[RecordIntake]:
    intake = RecordIntake(migrated_engine)
    yield intake
    intake.stop()


def add_all_at_once(intake: RecordIntake, rows: list[dict[str, Any]]) -> list[Future[bool]]:
    """Each row added from its own thread, all released together so that they queue up concurrently."""
    start = threading.Barrier(len(rows))

    def add(r: dict[str, Any]) -> bool:
        start.wait()
        return intake.add(r)

    pool = ThreadPoolExecutor(max_workers=len(rows))
    futures = [pool.submit(add, r) for r in rows]
    pool.shutdown(wait=True)
    return futures


@contextmanager
def writes_blocked(engine: Engine) -> Iterator[None]:
    """Hold the records table's write lock in another transaction, so the intake's writer waits on it."""
    with engine.connect() as connection:
        transaction = connection.begin()  # SQLite: BEGIN IMMEDIATE takes the database write lock
        if is_postgres(engine):
            connection.execute(text("LOCK TABLE records IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            transaction.rollback()


def occupy_writer(intake: RecordIntake, pool: ThreadPoolExecutor, blocked_row: dict[str, Any]) -> Future[bool]:
    """Add ``blocked_row`` while writes are blocked and return once the writer has taken it (and waits)."""
    future = pool.submit(intake.add, blocked_row)
    wait_until(lambda: intake._thread is not None)
    # The row is queued just after the writer starts; once queued, the idle writer takes it at once.
    time.sleep(0.3)
    assert intake._queue.qsize() == 0 and not future.done()
    return future


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not reached in time")
        time.sleep(0.01)


def test_two_hundred_concurrent_adds_are_all_committed(intake: RecordIntake, migrated_engine: Engine):
    rows = [row(f"REC-{n:04d}") for n in range(200)]
    started = time.monotonic()
    futures = add_all_at_once(intake, rows)
    elapsed = time.monotonic() - started
    results = [f.result() for f in futures]
    on_disk = stored(migrated_engine)
    print(
        f"intake backend={migrated_engine.dialect.name} requests=200 accepted={sum(results)} "
        f"rows={len(on_disk)} seconds={elapsed:.2f} lost={200 - len(on_disk)}"
    )
    assert results == [True] * 200
    assert sorted(on_disk) == sorted(r["record_id"] for r in rows)
    sample = on_disk["REC-0042"]
    expected = rows[42]
    for name in ("chain_id", "department", "content_hash", "hash_algorithm", "schema_id", "mode", "request_hash"):
        assert getattr(sample, name) == expected[name], name
    assert sample.batch_id is None and sample.id is not None


def test_the_same_record_sent_twice_at_once_is_accepted_once(intake: RecordIntake, migrated_engine: Engine):
    # Ten ids, each sent by four threads at once, mixed with forty distinct ones.
    rows = [row(f"DUP-{n % 10}") for n in range(40)] + [row(f"ONE-{n}") for n in range(40)]
    futures = add_all_at_once(intake, rows)
    results = [f.result() for f in futures]
    for n in range(10):
        assert sum(results[i] for i in range(40) if i % 10 == n) == 1, f"DUP-{n}: {results[n:40:10]}"
    assert results[40:] == [True] * 40
    assert len(stored(migrated_engine)) == 50


def test_the_same_record_twice_in_one_group_is_accepted_once(intake: RecordIntake, migrated_engine: Engine):
    """Both copies committed by one INSERT: the first in the group wins, the second is told it exists."""
    with writes_blocked(migrated_engine):
        pool = ThreadPoolExecutor(max_workers=3)
        blocker = occupy_writer(intake, pool, row("FIRST"))
        first = pool.submit(intake.add, row("TWIN", request_hash="a"))
        wait_until(lambda: intake._queue.qsize() == 1)
        second = pool.submit(intake.add, row("TWIN", request_hash="b"))
        wait_until(lambda: intake._queue.qsize() == 2)
    assert blocker.result(timeout=30) is True
    assert (first.result(timeout=30), second.result(timeout=30)) == (True, False)
    assert stored(migrated_engine)["TWIN"].request_hash == "a"


def test_an_id_already_stored_is_refused_and_left_unchanged(intake: RecordIntake, migrated_engine: Engine):
    assert intake.add(row("KEEP", content_hash="11" * 32)) is True
    assert intake.add(row("KEEP", content_hash="22" * 32)) is False
    assert stored(migrated_engine)["KEEP"].content_hash == "11" * 32
    # Another chain's record with the same id is a different record.
    assert intake.add(row("KEEP", chain_id=CHAIN_ID + 1)) is True


def test_a_database_error_reaches_every_caller_of_its_group_and_the_intake_keeps_working(
    intake: RecordIntake, migrated_engine: Engine
):
    good = [row(f"GRP-{n}") for n in range(5)]
    bad = row("BAD", department=None)  # violates NOT NULL: the whole group's INSERT fails
    with writes_blocked(migrated_engine):
        pool = ThreadPoolExecutor(max_workers=7)
        blocker = occupy_writer(intake, pool, row("BEFORE"))
        group = [pool.submit(intake.add, r) for r in [good[0], good[1], bad, *good[2:]]]
        wait_until(lambda: intake._queue.qsize() == len(group))
    assert blocker.result(timeout=30) is True
    failures = []
    for future in group:
        with pytest.raises(GovLedgerError) as info:
            future.result(timeout=30)
        failures.append(info.value.code)
    print(f"intake backend={migrated_engine.dialect.name} group={len(group)} failed_callers={len(failures)}")
    assert failures == ["database_error"] * len(group)
    assert set(stored(migrated_engine)) == {"BEFORE"}  # the failed group left nothing behind
    # The writer survived: the same good rows go in now, and new ones too.
    assert [intake.add(r) for r in good] == [True] * 5
    assert intake.add(row("AFTER")) is True
    assert set(stored(migrated_engine)) == {"BEFORE", "AFTER", *(r["record_id"] for r in good)}


def test_after_stop_an_add_starts_the_writer_again(intake: RecordIntake, migrated_engine: Engine):
    assert intake.add(row("R-1")) is True
    first_writer = intake._thread
    assert first_writer is not None
    intake.stop()
    assert not first_writer.is_alive()
    intake.stop()  # stopping twice is harmless
    started = time.monotonic()
    assert intake.add(row("R-2")) is True
    assert time.monotonic() - started < 5
    assert intake._thread is not None and intake._thread is not first_writer and intake._thread.is_alive()
    assert intake.add(row("R-1")) is False
    assert set(stored(migrated_engine)) == {"R-1", "R-2"}


def test_adds_waiting_in_the_queue_when_stop_is_called_are_still_committed(
    intake: RecordIntake, migrated_engine: Engine
):
    """stop() queues behind requests already waiting: it drains them rather than leaving callers hanging."""
    with writes_blocked(migrated_engine):
        pool = ThreadPoolExecutor(max_workers=4)
        futures = [occupy_writer(intake, pool, row("Q-0"))]
        futures += [pool.submit(intake.add, row(f"Q-{n}")) for n in (1, 2, 3)]
        wait_until(lambda: intake._queue.qsize() == 3)
        stopper = threading.Thread(target=intake.stop, kwargs={"timeout": 30})
        stopper.start()
        wait_until(lambda: intake._queue.qsize() == 4)  # the stop marker is behind the three requests
    stopper.join(30)
    assert [f.result(timeout=30) for f in futures] == [True] * 4
    assert set(stored(migrated_engine)) == {"Q-0", "Q-1", "Q-2", "Q-3"}

"""Group commit of operations on SQLite and PostgreSQL: concurrent creates share transactions, and a refused
one (a reused Idempotency-Key, a row of its own that conflicts) refuses only itself."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, text
from sqlmodel import Session, select

from govledger.db.engine import create_db_engine, session_scope
from govledger.db.group_commit import GroupCommitter
from govledger.db.migrate import upgrade_database
from govledger.db.models import IssuedCertificate, Operation
from govledger.errors import ConflictError, DatabaseUnavailableError, IdempotencyConflictError
from govledger.operations.models import WriteRequest
from govledger.operations.store import OperationStore

CHAIN_ID = 1337
CALLERS = 40


@pytest.fixture
def store(migrated_engine: Engine) -> Iterator[OperationStore]:
    store = OperationStore(migrated_engine, CHAIN_ID)
    yield store
    store.stop()


def request(n: int, key: str | None = None, *, title: str = "t") -> WriteRequest:
    return WriteRequest("CS-MSA", "test.propose", "Consortium", "propose", [n, title], idempotency_key=key)


def all_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call on its own thread, released together; each result, or the exception it raised."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], Any]) -> Any:
        start.wait()
        try:
            return call()
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def transactions_while(engine: Engine, work: Callable[[], Any]) -> int:
    """How many transactions the engine committed while ``work`` ran."""
    commits = 0

    def count(_connection: Any) -> None:
        nonlocal commits
        commits += 1

    event.listen(engine, "commit", count)
    try:
        work()
    finally:
        event.remove(engine, "commit", count)
    return commits


def stored_operations(engine: Engine) -> list[Operation]:
    with session_scope(engine, read_only=True) as session:
        return list(session.exec(select(Operation)).all())


def test_concurrent_operations_are_committed_together_and_each_exactly_once(
    store: OperationStore, migrated_engine: Engine
):
    results: list[Any] = []
    commits = transactions_while(
        migrated_engine,
        lambda: results.extend(all_at_once([lambda n=n: store.create(request(n), "0xsender") for n in range(CALLERS)])),
    )

    assert all(not isinstance(result, Exception) for result in results), results
    assert all(created for _, created in results)
    rows = stored_operations(migrated_engine)
    assert sorted(row.id for row in rows) == sorted(operation.id for operation, _ in results)
    print(f"\n{CALLERS} concurrent operations committed in {commits} transactions")
    assert commits < CALLERS


def test_a_key_reused_within_one_group_gives_the_first_operation_or_a_409(
    store: OperationStore, migrated_engine: Engine
):
    results = all_at_once(
        [lambda: store.create(request(1, "same-key"), "0xsender") for _ in range(CALLERS // 2)]
        + [lambda: store.create(request(2, "same-key"), "0xsender") for _ in range(CALLERS // 2)]
    )

    created = [result for result in results if isinstance(result, tuple) and result[1]]
    assert len(created) == 1
    winner = created[0][0]
    for result in results:
        if isinstance(result, tuple):
            assert result[0].id == winner.id  # a retry of the winning request gets the same operation back
        else:
            assert isinstance(result, IdempotencyConflictError)  # the other body under the same key
    assert [row.id for row in stored_operations(migrated_engine)] == [winner.id]


def test_a_conflicting_row_of_its_own_refuses_only_that_operation(store: OperationStore, migrated_engine: Engine):
    def certificate_row(cert_id: str) -> Callable[[Session, str], None]:
        def add(session: Session, operation_id: str) -> None:
            session.execute(insert(IssuedCertificate), [certificate_values(cert_id, operation_id)])

        return add

    ids = [f"LIC-{n}" for n in range(CALLERS - 2)] + ["LIC-0", "LIC-1"]  # two ids asked for twice
    results = all_at_once(
        [
            lambda n=n, cert_id=cert_id: store.create(request(n), "0xsender", certificate_row(cert_id))
            for n, cert_id in enumerate(ids)
        ]
    )

    refused = [result for result in results if isinstance(result, Exception)]
    assert len(refused) == 2 and all(isinstance(result, ConflictError) for result in refused)
    accepted = {result[0].id for result in results if isinstance(result, tuple)}
    with session_scope(migrated_engine, read_only=True) as session:
        certificates = list(session.exec(select(IssuedCertificate)).all())
    assert {row.id for row in stored_operations(migrated_engine)} == accepted  # no operation without its row
    assert sorted(c.certificate_id for c in certificates) == sorted(set(ids))
    assert {c.operation_id for c in certificates} == accepted


def test_a_failure_in_one_callers_own_rows_refuses_only_that_operation(store: OperationStore, migrated_engine: Engine):
    def refuse(_session: Session, _operation_id: str) -> None:
        raise ValueError("this caller's rows cannot be built")

    results = all_at_once(
        [lambda n=n: store.create(request(n), "0xsender", refuse if n == 7 else None) for n in range(CALLERS)]
    )

    assert isinstance(results[7], ValueError)
    accepted = {result[0].id for result in results if isinstance(result, tuple)}
    assert len(accepted) == CALLERS - 1
    assert {row.id for row in stored_operations(migrated_engine)} == accepted


def test_a_group_that_cannot_be_written_fails_every_caller_in_it():
    def refuse(items: list[int]) -> list[int]:
        raise DatabaseUnavailableError("the database is away")

    committer: GroupCommitter[int, int] = GroupCommitter("test", refuse)
    try:
        results = all_at_once([lambda n=n: committer.submit(n) for n in range(8)])
    finally:
        committer.stop()
    assert all(isinstance(result, DatabaseUnavailableError) for result in results)


def certificate_values(cert_id: str, operation_id: str) -> dict[str, Any]:
    return {
        "chain_id": CHAIN_ID,
        "certificate_id": cert_id,
        "department": "CS-MSA",
        "certificate_type": "business-licence",
        "document_hash": "0x" + "11" * 32,
        "hash_algorithm": "sha256",
        "holder_commitment": "0x" + "22" * 32,
        "valid_from": 0,
        "valid_until": 2**40,
        "request_hash": f"req-{cert_id}",
        "operation_id": operation_id,
        "created_at": datetime.now(UTC),
    }


def test_a_caller_that_gives_up_before_its_group_is_taken_leaves_nothing_written():
    entered, release = threading.Event(), threading.Event()
    written: list[int] = []

    def slow_commit(items: list[int]) -> list[int]:
        entered.set()
        release.wait(10)
        written.extend(items)
        return items

    committer: GroupCommitter[int, int] = GroupCommitter("test", slow_commit, timeout_seconds=0.3)
    try:
        with ThreadPoolExecutor(2) as pool:
            first = pool.submit(committer.submit, 1)  # taken by the writer, which then waits
            assert entered.wait(5)
            second = pool.submit(committer.submit, 2)  # queued behind it; its caller gives up
            with pytest.raises(DatabaseUnavailableError):
                second.result(5)
            release.set()
            assert first.result(5) == 1  # the first caller outlived its own timeout: the write was under way
    finally:
        committer.stop()
    assert written == [1]


@pytest.mark.postgres
def test_a_connection_lost_mid_group_fails_the_group_with_503_and_writes_none_of_it(postgresql_database_url: str):
    upgrade_database(postgresql_database_url)
    engine = create_db_engine(postgresql_database_url)
    store = OperationStore(engine, CHAIN_ID)

    def lose_the_connection(session: Session, operation_id: str) -> None:
        session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))  # as a database restart does

    calls = [lambda n=n: store.create(request(n), "0xsender") for n in range(CALLERS)]
    calls[CALLERS // 2] = lambda: store.create(request(-1), "0xsender", lose_the_connection)
    try:
        results = all_at_once(calls)
        stored = {row.id for row in stored_operations(engine)}
    finally:
        store.stop()
        engine.dispose()

    failed = [result for result in results if isinstance(result, Exception)]
    assert failed and all(isinstance(result, DatabaseUnavailableError) for result in failed), failed
    accepted = {result[0].id for result in results if isinstance(result, tuple)}
    assert stored == accepted
    assert len(accepted) + len(failed) == CALLERS

"""``govledger serve --processes N``: N API processes and one background worker, started and stopped as one service.

The tests on a real node share one service (anvil, deploy, ``serve`` with GOVLEDGER_API_PROCESSES=2, started
by the fault tests' harness) and run in file order: the last two stop it, with SIGTERM and then SIGKILL.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from fastapi.testclient import TestClient

from govledger.api.app import create_app
from govledger.bench.procfs import process_tree
from govledger.db.engine import create_db_engine
from govledger.processes import API_PROCESS_NAME, WORKER_PROCESS_NAME
from tests.api.conftest import StandInRuntime, make_settings
from tests.reliability.harness import ReliabilityStack, start_stack

T = TypeVar("T")
API_PROCESSES = 2
SCHEMA_ID = "PROC-SCHEMA"
#: Four Python processes start at once on a real node: never beside the fault tests (tests/reliability).
heavy = pytest.mark.xdist_group("heavy")


def _cmdline(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")[:-1]
    except OSError:
        return []


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for its parent to collect it."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def serve_children(serve_pid: int) -> tuple[list[int], list[int]]:
    """The uvicorn API processes and the background workers among the processes under ``serve``, by name."""
    api, workers = [], []
    for pid in process_tree(serve_pid)[1:]:
        name = _name(pid)
        if name == API_PROCESS_NAME:
            api.append(pid)
        elif name == WORKER_PROCESS_NAME:
            workers.append(pid)
    return api, workers


def eventually(check: Callable[[], T], what: str, timeout: float) -> T:
    """The first truthy answer of ``check``, asked every 0.1 s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.1)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


def record(record_id: str) -> dict[str, str]:
    content_hash = hashlib.sha256(record_id.encode()).hexdigest()
    return {"record_id": record_id, "schema_id": SCHEMA_ID, "content_hash": content_hash}


def write_and_wait(stack: ReliabilityStack, tag: str) -> dict:
    """A batch of two records with ``?wait=true``: the answer comes once the operation is final."""
    with stack.client(timeout=60) as client:
        reply = client.post(
            "/api/v1/records/batch",
            params={"wait": "true"},
            json={"records": [record(f"{tag}-1"), record(f"{tag}-2")]},
            headers={"Idempotency-Key": tag},
        )
    assert reply.status_code == 200, reply.text
    return reply.json()["operation"]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReliabilityStack]:
    served = start_stack(
        tmp_path_factory.mktemp("serve-processes"), extra_env={"GOVLEDGER_API_PROCESSES": str(API_PROCESSES)}
    )
    try:
        yield served
    finally:
        served.close()


def serve_pid(stack: ReliabilityStack) -> int:
    assert stack.service.process is not None
    return stack.service.process.pid


@heavy
def test_serve_runs_two_api_processes_and_one_background_worker(stack: ReliabilityStack):
    def counted() -> bool:
        api, workers = serve_children(serve_pid(stack))
        return len(api) == API_PROCESSES and len(workers) == 1

    eventually(counted, f"{API_PROCESSES} API processes and 1 background worker under serve", timeout=15)
    api, workers = serve_children(serve_pid(stack))
    assert (len(api), len(workers)) == (API_PROCESSES, 1)


@heavy
def test_a_record_posted_to_an_api_process_is_anchored_by_the_background_worker(stack: ReliabilityStack):
    with stack.client() as client:
        posted = client.post("/api/v1/records", json=record("proc-single-1"))
        assert posted.status_code == 202, posted.text

        def anchored() -> bool:
            return client.get("/api/v1/records/proc-single-1").json()["status"] == "anchored"

        eventually(anchored, "the record anchored", timeout=30)


@heavy
def test_a_write_with_wait_comes_back_confirmed(stack: ReliabilityStack):
    operation = write_and_wait(stack, "proc-wait")

    assert operation["status"] == "confirmed"
    assert operation["tx_hash"]


@heavy
def test_a_killed_background_worker_is_replaced_and_writes_still_confirm(stack: ReliabilityStack):
    (worker,) = eventually(lambda: serve_children(serve_pid(stack))[1], "the background worker", timeout=15)
    os.kill(worker, signal.SIGKILL)

    def replaced() -> list[int]:
        _, workers = serve_children(serve_pid(stack))
        return [pid for pid in workers if pid != worker and _alive(pid)]

    eventually(replaced, "a new background worker", timeout=15)
    assert f"the background worker (pid {worker}) was killed by signal 9" in stack.service.log_path.read_text()
    assert write_and_wait(stack, "proc-after-kill")["status"] == "confirmed"


@heavy
def test_a_killed_api_process_is_replaced_by_a_fork_that_serves(stack: ReliabilityStack):
    api, _ = eventually(lambda: serve_children(serve_pid(stack)), "the API processes", timeout=15)
    victim = api[0]
    os.kill(victim, signal.SIGKILL)

    def replaced() -> list[int]:
        now, _ = serve_children(serve_pid(stack))
        return [pid for pid in now if pid not in api and _alive(pid)]

    (successor,) = eventually(replaced, "a new API process", timeout=30)
    # Forked from the supervisor, not a fresh interpreter: the same command line as serve itself.
    assert _cmdline(successor) == _cmdline(serve_pid(stack))
    assert write_and_wait(stack, "proc-after-api-kill")["status"] == "confirmed"


@heavy
def test_sigterm_stops_serve_and_every_process_under_it(stack: ReliabilityStack):
    process = stack.service.process
    assert process is not None
    children = process_tree(process.pid)[1:]
    assert len(children) >= API_PROCESSES + 1

    process.terminate()

    assert process.wait(timeout=30) == 0
    eventually(lambda: not any(map(_alive, children)), "every child of serve gone", timeout=10)


@heavy
def test_the_background_worker_ends_with_a_serve_killed_outright(stack: ReliabilityStack):
    """SIGKILL gives serve no chance to stop its children: the worker must not live on as a second sender."""
    stack.service.start()
    pid = serve_pid(stack)

    def all_started() -> tuple[list[int], list[int]] | None:
        api, workers = serve_children(pid)
        return (api, workers) if workers and len(api) == API_PROCESSES else None

    api, workers = eventually(all_started, "the restarted service's processes", timeout=30)
    stack.service.kill()
    try:
        eventually(lambda: not any(map(_alive, workers)), "the orphaned background worker gone", timeout=20)
    finally:
        for orphan in api:  # uvicorn's API processes outlive it; only the worker needs to end with serve
            if _alive(orphan):
                os.kill(orphan, signal.SIGKILL)


def serve_two_processes_until_it_exits(workdir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``govledger serve --processes 2`` with only ``settings`` (GOVLEDGER_* variables) set, for a refusal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOVLEDGER_")} | settings
    return subprocess.run(
        [sys.executable, "-m", "govledger.cli", "serve", "--processes", "2"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_more_than_one_process_refuses_the_embedded_chain(tmp_path: Path):
    done = serve_two_processes_until_it_exits(tmp_path, GOVLEDGER_API_PROCESSES="1")  # the option overrides it

    assert done.returncode == 1
    assert "the embedded chain lives inside one process" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_that_cannot_be_migrated_stops_serve_before_any_process_starts(tmp_path: Path):
    done = serve_two_processes_until_it_exits(
        tmp_path,
        GOVLEDGER_CHAIN_URL="http://127.0.0.1:9",  # never reached: the migrations come first
        GOVLEDGER_DATABASE_URL="postgresql+psycopg://govledger@127.0.0.1:9/nowhere",
    )

    assert done.returncode == 1
    assert "could not be brought to the current schema" in done.stderr
    assert "background worker started" not in done.stderr
    assert "Traceback" not in done.stderr


CHILDREN_IMPORTS = """
import importlib, sys
import govledger.processes as processes
for module in processes.MODULES_CHILDREN_RUN:
    importlib.import_module(module)
print(sorted(name for name in ("alembic", "mako", "pygments") if name in sys.modules))
"""


def test_what_the_children_run_leaves_the_migration_machinery_out():
    """The supervisor migrates before it forks, so its children never need Alembic (10.8 MiB each)."""
    done = subprocess.run([sys.executable, "-c", CHILDREN_IMPORTS], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]"


def test_an_api_only_app_leaves_the_background_workers_to_another_process(tmp_path: Path):
    runtime = StandInRuntime(
        settings=make_settings(tmp_path), engine=create_db_engine(f"sqlite:///{tmp_path / 'govledger.db'}")
    )

    with TestClient(create_app(runtime, run_background=False)) as client:
        assert client.get("/healthz").status_code == 200

    assert runtime.events == []


def test_a_node_that_cannot_be_reached_stops_serve_before_any_process_starts(tmp_path: Path):
    """The supervisor builds the runtime its children inherit, so a runtime that cannot start stops it first."""
    done = serve_two_processes_until_it_exits(
        tmp_path,
        GOVLEDGER_CHAIN_URL="http://127.0.0.1:9",
        GOVLEDGER_DATA_DIR=str(tmp_path / "data"),
        GOVLEDGER_CHAIN_REQUEST_TIMEOUT_SECONDS="2",
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith("error: "), done.stderr[-2000:]
    assert "chain node" in done.stderr.strip().splitlines()[-1]
    assert "background worker started" not in done.stderr
    assert "Started server process" not in done.stderr
    assert "Traceback" not in done.stderr

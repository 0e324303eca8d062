"""``govledger serve --processes N``: N API processes and one background-worker process, kept running together.

One Python process tops out at about one core. Everything the API and the background workers share is in the
database (operations, records waiting for a batch, index checkpoints), so API processes that never start the
runtime's workers, plus exactly one process that runs them, serve the same API as one process does. Exactly
one, because nonces and the record batcher have a single writer.

    govledger-serve           migrations, binds the port, builds the children's runtime, then only supervises
    ├── govledger-api × N     uvicorn workers on the shared socket: ``api_only_app()`` (run_background=False)
    └── govledger-work       what ``govledger worker`` runs: transaction manager, record batcher, indexer

Every child is forked from the supervisor after it has imported the code they all run (web3, FastAPI,
SQLAlchemy, pydantic, govledger: ~65 MiB of a child's ~90 MiB of heap right after start), built the runtime
and the API app they all run (its connections closed again), and frozen those objects out of the garbage
collector's reach. The children share those pages with the supervisor and each other until one writes to
them, instead of each building its own copy as a fresh interpreter would.
Measured with 3,200 certificates issued and then verified: the processes' proportional set sizes (PSS, each
shared page split between the processes that share it) added up to 399 MiB at most with children started
as fresh interpreters, 292 MiB forked. The names in ``ps`` and ``top`` (the kernel's ``comm``) say which
child is which.

uvicorn's supervisor restarts an API process that dies; the same loop restarts the background worker, so the
service never goes on serving without it. SIGTERM or SIGINT stops them all.

What stays per process: rate limits and metrics counters (each API process has its own), and the department
authority and verification caches, which in an API process expire only by time (the listeners that clear them
when an operation settles run in the background worker).
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import logging
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import uvicorn
from uvicorn import _subprocess as uvicorn_subprocess
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess
from uvicorn.supervisors.multiprocess import SIGNALS as SUPERVISOR_SIGNALS

from govledger.config import Settings
from govledger.errors import ConfigurationError, GovLedgerError
from govledger.heap import freeze_start_up_objects
from govledger.logsetup import configure_logging

if TYPE_CHECKING:
    from fastapi import FastAPI

    from govledger.runtime import Runtime

log = logging.getLogger(__name__)

#: What each API process serves: uvicorn imports and calls it in the process (workers need an import string).
APP_FACTORY = "govledger.processes:api_only_app"
MIGRATE_COMMAND = (sys.executable, "-m", "govledger.cli", "db", "upgrade")
#: A background worker that ran this long before it exited is started again at once; one that dies sooner
#: waits 1 s, then 2, 4, ... up to the maximum, so a worker that cannot start does not eat a core.
STABLE_SECONDS = 30.0
MAX_RESTART_DELAY_SECONDS = 30.0
#: How long a stopping background worker may take (it lets the batcher and transaction manager finish).
STOP_TIMEOUT_SECONDS = 20.0
#: govledger.chain.client.EMBEDDED_URL; not imported before the configuration has been checked.
EMBEDDED_CHAIN_URL = "embedded"
#: How the supervisor starts every child: see the module's docstring.
FORK = multiprocessing.get_context("fork")
#: Imported by the supervisor before it forks: the API app, the runtime, the background worker, uvicorn's
#: event loop and HTTP parser (the uvloop and httptools that the API processes serve with).
MODULES_CHILDREN_RUN = (
    "govledger.api.app",
    "govledger.runtime",
    "govledger.background",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
)
#: The kernel's name of each kind of child (``comm``, at most 15 bytes): what ``ps`` and ``top`` show.
SUPERVISOR_NAME = "govledger-serve"
API_PROCESS_NAME = "govledger-api"
WORKER_PROCESS_NAME = "govledger-work"


def serve_in_processes(settings: Settings, processes: int, uvicorn_options: Mapping[str, Any]) -> None:
    """Migrate, then serve from ``processes`` API processes plus one background worker until SIGTERM/SIGINT."""
    if settings.chain_url == EMBEDDED_CHAIN_URL:
        raise ConfigurationError(
            f"--processes {processes} needs a chain node URL (GOVLEDGER_CHAIN_URL): the embedded chain lives "
            "inside one process; use --processes 1 with it"
        )
    # Once, before any child starts: they then all find the schema at head and have nothing to do.
    _migrate_in_a_child()
    _name_this_process(SUPERVISOR_NAME)
    _import_what_children_run()
    runtime = _build_what_children_run(settings)
    config = uvicorn.Config(
        APP_FACTORY,
        factory=True,
        workers=processes,
        host=settings.host,
        port=settings.port,
        log_level="info",
        **uvicorn_options,
    )
    background = BackgroundWorker(functools.partial(run_background_worker, runtime))
    supervisor = Supervisor(config, [config.bind_socket()], background)
    background.start()
    try:
        supervisor.run()
    finally:
        background.stop()
    if supervisor.an_api_process_failed_to_start():
        raise GovLedgerError("an API process could not start (see the lines above); everything was stopped")


def _migrate_in_a_child() -> None:
    """``govledger db upgrade`` as a child process, so the migration code (Alembic and the migrations, ~30 MiB)
    never stays in the supervisor, which lives as long as the service and only watches its children."""
    done = subprocess.run(MIGRATE_COMMAND, check=False)  # noqa: S603 - our own CLI, a fixed command
    if done.returncode != 0:
        raise GovLedgerError("the database could not be brought to the current schema (see the lines above)")


def _import_what_children_run() -> None:
    """Import the code of the API processes and the background worker here, once, for them to share.

    Only imports: no database connection, node client or thread may exist in the supervisor when it forks.
    """
    for module in MODULES_CHILDREN_RUN:
        importlib.import_module(module)


#: The API app the supervisor built (``_build_what_children_run``), which every API process forked from it
#: serves: uvicorn's workers can only be given an import string, ``api_only_app``, which returns it.
_APP: FastAPI | None = None


def _build_what_children_run(settings: Settings) -> Runtime:
    """Build the runtime and the API app here, once, for every child to inherit rather than build again.

    Why: Python writes to every object it touches (reference counts), so each page of the shared heap that
    a child's code touches becomes that child's own copy. Building a runtime touches a lot of it (the
    settings' validation, web3, SQLAlchemy, the keystore): measured in a child forked from the supervisor,
    building its own runtime and app copied 16 MiB of the shared heap, against 1 MiB for a child that only
    waited. Built here, the objects are shared and the code that built them never runs in a child.

    The runtime is built as a child would build it (``migrate=False``: migrated already; no background
    thread is started here), then every database and node connection it opened is closed, so that no
    connection crosses the fork. A configuration the runtime refuses stops the service here, before any
    child starts. Everything alive then (the imported code too) is frozen out of the collector's reach, in
    the children as well, so the collector never writes to the pages they share.
    """
    global _APP
    from govledger.api.app import create_app
    from govledger.runtime import Runtime

    runtime = Runtime(settings, migrate=False)
    _APP = create_app(runtime, run_background=False)
    runtime.release_connections()
    freeze_start_up_objects()
    return runtime


def api_only_app() -> FastAPI:
    """The app of one API process: the one its supervisor built before forking it, workers left off."""
    configure_logging()
    _name_this_process(API_PROCESS_NAME)
    if _APP is None:
        raise GovLedgerError(
            "api_only_app serves the API processes of `govledger serve --processes N`, which builds the app "
            "before forking them; run that command rather than uvicorn with this factory"
        )
    return _APP


class BackgroundWorker:
    """The one background-worker child; ``keep_alive()`` starts it again whenever it has exited."""

    def __init__(self, main: Callable[[], None]):
        self.main = main
        self.process: multiprocessing.process.BaseProcess | None = None
        self._started_at = 0.0
        self._delay = 0.0
        self._restart_at: float | None = None

    def start(self) -> None:
        self.process = FORK.Process(target=self.main, name=WORKER_PROCESS_NAME)
        self.process.start()
        self._started_at = time.monotonic()
        self._restart_at = None
        log.info("background worker started (pid %d)", self.process.pid)

    def keep_alive(self) -> None:
        """Called every half second: notice an exit (once, with a warning), and restart when the delay is over."""
        if self.process is None or self.process.is_alive():
            return
        now = time.monotonic()
        if self._restart_at is None:
            lived = now - self._started_at
            self._delay = 0.0 if lived >= STABLE_SECONDS else min(max(2 * self._delay, 1.0), MAX_RESTART_DELAY_SECONDS)
            code = self.process.exitcode or 0
            how = f"was killed by signal {-code}" if code < 0 else f"exited with status {code}"
            log.warning(
                "the background worker (pid %d) %s after %.0f s; starting a new one in %.0f s",
                self.process.pid,
                how,
                lived,
                self._delay,
            )
            self._restart_at = now + self._delay
        if now >= self._restart_at:
            self.start()

    def stop(self) -> None:
        """SIGTERM, and SIGKILL if it has not finished within ``STOP_TIMEOUT_SECONDS``."""
        process, self.process = self.process, None
        if process is None or not process.is_alive():
            return
        log.info("stopping the background worker (pid %d)", process.pid)
        process.terminate()
        process.join(timeout=STOP_TIMEOUT_SECONDS)
        if process.exitcode is None:
            log.warning(
                "the background worker (pid %d) did not stop within %.0f s; killed", process.pid, STOP_TIMEOUT_SECONDS
            )
            process.kill()
            process.join()


def run_background_worker(runtime: Runtime) -> None:
    """The background worker's life in its forked child: tied to the supervisor, then ``runtime``'s workers
    (inherited from the supervisor) until SIGTERM.

    An orphaned background worker would keep sending from the departments' accounts next to the one a
    restarted service starts: two single writers of the same nonces. So the kernel sends it SIGTERM when the
    supervisor dies, even by SIGKILL, and a supervisor that died before that was arranged ends it at once.
    """
    supervisor = os.getppid()
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != supervisor:
        sys.exit(1)
    # The supervisor's handlers queue signals for its own loop; this process has its own (run_until_stopped).
    for number in SUPERVISOR_SIGNALS:
        signal.signal(number, signal.SIG_DFL)
    _name_this_process(WORKER_PROCESS_NAME)
    from govledger.background import run_until_stopped

    run_until_stopped(runtime)


def _name_this_process(name: str) -> None:
    """Set the kernel's name of this process (``/proc/<pid>/comm``), which ``ps`` and ``top`` show."""
    if _LIBC is not None:
        _LIBC.prctl(_PR_SET_NAME, name.encode()[:15])


_PR_SET_PDEATHSIG = 1
_PR_SET_NAME = 15
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


class Supervisor(Multiprocess):
    """uvicorn's supervisor of its worker processes, also keeping the background worker alive.

    One loop watches both, after it has handled the signals that arrived: on Ctrl-C the whole process group
    gets SIGINT, and the background worker's exit must read as the shut-down it is, not as a crash to repair.
    uvicorn starts its workers from the multiprocessing context ``uvicorn._subprocess.spawn`` (a fresh
    interpreter each); the supervisor forks them instead (see the module's docstring).
    """

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket], background: BackgroundWorker):
        uvicorn_subprocess.spawn = FORK  # type: ignore[assignment]
        super().__init__(config, sockets)
        self.background = background

    def keep_subprocess_alive(self) -> None:
        super().keep_subprocess_alive()
        if not self.should_exit.is_set() and not self.signal_queue:
            self.background.keep_alive()

    def an_api_process_failed_to_start(self) -> bool:
        return any(process.exitcode == STARTUP_FAILURE for process in self.processes)

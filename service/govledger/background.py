"""The background-worker process: the runtime's workers (transaction manager, batcher, indexer), no HTTP.

``govledger worker`` runs it on its own; ``serve --processes N`` runs it in a child forked from its
supervisor (govledger.processes). Either way it runs until SIGTERM or SIGINT, then lets the workers finish
what they hold.
"""

from __future__ import annotations

import signal
import sys
import threading
from typing import TYPE_CHECKING

from govledger.config import Settings
from govledger.heap import freeze_start_up_objects

if TYPE_CHECKING:
    from govledger.runtime import Runtime


def run_until_stopped(settings: Settings, *, migrate: bool = True, runtime: Runtime | None = None) -> None:
    """Start the runtime's background workers, wait for SIGTERM or SIGINT, and stop them.

    ``runtime``: one already built (a forked child's, see govledger.processes); otherwise one is built from
    ``settings``, migrating first unless ``migrate=False`` says the schema is at head (see ``Runtime``).
    """
    if runtime is None:
        from govledger.runtime import Runtime

        runtime = Runtime(settings, migrate=migrate)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    freeze_start_up_objects()
    print("worker running", file=sys.stderr, flush=True)
    stop.wait()
    runtime.stop()

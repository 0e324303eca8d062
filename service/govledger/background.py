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

from govledger.heap import freeze_start_up_objects

if TYPE_CHECKING:
    from govledger.runtime import Runtime


def run_until_stopped(runtime: Runtime) -> None:
    """Start ``runtime``'s background workers, wait for SIGTERM or SIGINT, and stop them."""
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    runtime.start()
    freeze_start_up_objects()
    print("worker running", file=sys.stderr, flush=True)
    stop.wait()
    runtime.stop()

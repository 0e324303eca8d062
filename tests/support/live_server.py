"""An ASGI app served by uvicorn in a background thread, as the service serves it (its HTTP protocol)."""

from __future__ import annotations

import threading
from typing import Any

import uvicorn

from govledger.cli import UVICORN_OPTIONS


class LiveServer:
    """An ASGI app served by uvicorn in a background thread on a free port of 127.0.0.1.

    ``http`` is the service's own HTTP protocol unless a test names another.
    """

    def __init__(self, app: Any, *, http: Any = None) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="on",
            http=http or UVICORN_OPTIONS["http"],
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="live-server", daemon=True)
        self.url = ""

    def __enter__(self) -> LiveServer:
        self._thread.start()
        for _ in range(600):
            if self._server.started or not self._thread.is_alive():
                break
            self._thread.join(0.05)
        if not self._server.started:
            raise RuntimeError("the test server did not start")
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        self._thread.join(30)

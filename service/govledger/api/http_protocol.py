"""uvicorn's HTTP protocol (httptools), with each response's writes handed to the socket as one.

uvicorn writes a response's status line and headers, then its body, in two ``transport.write`` calls, and
uvloop sends each at once: two ``send`` system calls per response, made while holding the interpreter lock
(on loopback a send also delivers the data to the receiver). A py-spy profile of an API process under the
benchmark's single-record load put 22 % of the time it held the lock in those two writes. Here the writes a
response makes in one turn of the event loop are joined and sent at the end of that turn, in one call.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescingTransport:
    """A transport whose writes within one turn of the loop reach the real transport as one write.

    Everything else is the real transport's; ``close`` sends what is pending first.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol over a ``CoalescingTransport``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

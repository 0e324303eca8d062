"""The service's HTTP protocol: uvicorn's httptools protocol with each response sent in one write.

Served by a real uvicorn on a real socket; a transport wrapped around uvloop's (or asyncio's) own counts
the writes that reach it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any, ClassVar

import httpx
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from govledger.api.http_protocol import CoalescingHttpToolsProtocol
from tests.support.live_server import LiveServer

CHUNKS = [b"first,", b"second,", b"third"]


class CountingTransport:
    """The real transport, with every write it is handed kept in order."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]):
        self._transport = transport
        self._writes = writes

    def write(self, data: bytes) -> None:
        self._writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def counting(protocol: type[HttpToolsProtocol]) -> type[HttpToolsProtocol]:
    """``protocol`` over a CountingTransport; the writes of every connection go to the class's ``writes``."""

    class Counting(protocol):  # type: ignore[valid-type, misc]
        writes: ClassVar[list[bytes]] = []

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(CountingTransport(transport, self.writes))  # type: ignore[arg-type]

    return Counting


def app() -> FastAPI:
    served = FastAPI()

    @served.get("/answer")
    def answer() -> dict[str, str]:
        return {"verdict": "valid"}

    @served.get("/stream")
    async def stream() -> StreamingResponse:
        async def chunks() -> AsyncIterator[bytes]:
            for chunk in CHUNKS:
                yield chunk
                await asyncio.sleep(0.05)  # each chunk in a turn of the loop of its own

        return StreamingResponse(chunks(), media_type="text/plain")

    return served


def test_a_response_reaches_the_socket_in_one_write_where_uvicorn_makes_two():
    coalescing, plain = counting(CoalescingHttpToolsProtocol), counting(HttpToolsProtocol)
    for protocol in (coalescing, plain):
        with LiveServer(app(), http=protocol) as server:
            reply = httpx.get(f"{server.url}/answer")
        assert reply.status_code == 200
        assert reply.json() == {"verdict": "valid"}
        assert reply.headers["content-type"] == "application/json"
    assert len(coalescing.writes) == 1
    assert coalescing.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")
    assert coalescing.writes[0].endswith(b'\r\n\r\n{"verdict":"valid"}')
    assert len(plain.writes) == 2
    assert b"".join(plain.writes) == coalescing.writes[0].replace(
        _date_line(coalescing.writes[0]), _date_line(b"".join(plain.writes))
    )


def _date_line(response: bytes) -> bytes:
    return next(line for line in response.split(b"\r\n") if line.lower().startswith(b"date:"))


def test_a_streamed_response_arrives_whole_chunk_by_chunk():
    protocol = counting(CoalescingHttpToolsProtocol)
    with LiveServer(app(), http=protocol) as server, httpx.Client(base_url=server.url) as client:
        with client.stream("GET", "/stream") as reply:
            received = list(reply.iter_raw())
        assert reply.status_code == 200
    assert b"".join(received) == b"".join(CHUNKS)
    assert len(protocol.writes) >= len(CHUNKS)  # one per turn of the loop: nothing held back until the end


def test_keep_alive_head_and_connection_close_all_answer_whole():
    with LiveServer(app()) as server, httpx.Client(base_url=server.url) as client:
        assert [client.get("/answer").json() for _ in range(5)] == [{"verdict": "valid"}] * 5
        head = client.head("/answer")
        assert head.status_code == 405 and head.content == b""
        assert client.get("/answer", headers={"Connection": "close"}).json() == {"verdict": "valid"}
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(b"GET /answer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := raw.recv(65536):  # the server sends everything, then closes
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b'{"verdict":"valid"}')

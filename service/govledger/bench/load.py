"""Client-side load machinery shared by the rows: an HTTP client, concurrent submitters, confirmation watching.

The watcher asks about the oldest unconfirmed items first, up to a lookup's worth (1,000) in one request to
the service's bulk lookup: the service confirms in submission order (batches and nonces are FIFO), so the
head of the queue is where news arrives. A confirmation is stamped when the watcher sees it, so latencies are
over-stated by at most one polling round (one lookup request plus a 50 ms pause).
"""

from __future__ import annotations

import http.client
import json
import math
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from govledger.errors import GovLedgerError

#: Items asked about per lookup request (the service's limit).
WATCH_WINDOW = 1_000
WATCH_IDLE_SECONDS = 0.05


class BenchRunError(GovLedgerError):
    """A request the benchmark made was refused or an item failed, so a figure would be meaningless."""


def api_client(base_url: str, api_key: str | None, connections: int) -> httpx.Client:
    """One pooled client, shared by all threads (httpx clients are safe to share between threads)."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.Client(base_url=base_url, headers=headers, limits=limits, timeout=60)


class JsonPoster:
    """POSTs JSON bodies, encoded beforehand, over one kept-alive connection per submitting thread.

    The load generator shares the machine's cores with the service, so what it spends per request is taken
    from the figure being measured. The shared httpx client cost ~3 ms of CPU per request here with 64
    threads (the bench process's own CPU time over a row), about half of what the service spent answering;
    http.client on a kept-alive socket costs a fraction of that. Rows 1 and 3 submit through this, the
    watcher's few large lookups stay on httpx.
    """

    def __init__(self, base_url: str, api_key: str):
        parsed = urllib.parse.urlsplit(base_url)
        self._host, self._port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self._headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def post(self, path: str, body: bytes, *statuses: int) -> Any:
        """The decoded answer; BenchRunError for any other status, a broken connection stops the run."""
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=60)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        connection.request("POST", path, body, self._headers)
        response = connection.getresponse()
        data = response.read()
        if response.status not in statuses:
            raise BenchRunError(f"POST {path}: {response.status} {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        with self._lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()

    def __enter__(self) -> JsonPoster:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def expect(response: httpx.Response, *statuses: int) -> Any:
    if response.status_code not in statuses:
        raise BenchRunError(
            f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text[:300]}"
        )
    return response.json()


def confirmed_in_lookup(
    client: httpx.Client, path: str, ids: list[str], *, items: str, key: str, done: str
) -> set[str]:
    """The ids among ``ids`` whose status is ``done``, from one bulk lookup (``POST path`` with ``{"ids": ...}``).

    ``items`` names the answer's list and ``key`` the id field of its entries. An id the service does not know
    or an item that failed stops the run: a figure would be meaningless.
    """
    answer = expect(client.post(path, json={"ids": ids}), 200)
    if answer["not_found"]:
        raise BenchRunError(f"unknown to the service ({path}): {answer['not_found'][:5]}")
    confirmed = set()
    for item in answer[items]:
        if item["status"] == "failed":
            raise BenchRunError(f"{item[key]} failed: {item.get('error')}")
        if item["status"] == done:
            confirmed.add(item[key])
    return confirmed


def percentile(values: Iterable[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1); 0 for no values."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def run_concurrently(clients: int, work: Callable[[int], None]) -> None:
    """Run ``work(client_index)`` on ``clients`` threads and re-raise the first failure."""
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(work, index) for index in range(clients)]:
            future.result()


@dataclass
class Watched:
    key: str
    submitted_at: float
    confirmed_at: float | None = None


@dataclass
class ConfirmationWatcher:
    """Asks ``confirmed(keys)`` (the subset now confirmed) about submitted items until each is confirmed."""

    confirmed: Callable[[list[str]], set[str]]
    window: int = WATCH_WINDOW
    items: list[Watched] = field(default_factory=list)
    _pending: deque[Watched] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, key: str, submitted_at: float) -> None:
        item = Watched(key, submitted_at)
        with self._lock:
            self.items.append(item)
            self._pending.append(item)

    def wait_all(self, timeout: float, submitting: threading.Event | None = None) -> None:
        """Poll until every item is confirmed (and, if given, ``submitting`` is cleared)."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                head = [self._pending[i] for i in range(min(self.window, len(self._pending)))]
            if not head:
                if submitting is None or not submitting.is_set():
                    return
                time.sleep(WATCH_IDLE_SECONDS)
                continue
            if time.monotonic() > deadline:
                raise BenchRunError(f"{len(self._pending)} items were not confirmed within {timeout:.0f} s")
            done = self.confirmed([item.key for item in head])
            now = time.perf_counter()
            for item in head:
                if item.key in done:
                    item.confirmed_at = now
            with self._lock:
                self._pending = deque(item for item in self._pending if item.confirmed_at is None)
            if len(done) < len(head):
                # Asking again at once would only cost the service a lookup: what settles, settles by block.
                time.sleep(WATCH_IDLE_SECONDS)

    def first_submitted(self) -> float:
        return min(item.submitted_at for item in self.items)

    def last_confirmed(self) -> float:
        return max(item.confirmed_at or 0.0 for item in self.items)

    def throughput(self) -> float:
        """Items per second from the first submission to the last confirmation."""
        return len(self.items) / (self.last_confirmed() - self.first_submitted())

    def latencies(self) -> list[float]:
        return [item.confirmed_at - item.submitted_at for item in self.items if item.confirmed_at is not None]


def watch_while(submit: Callable[[ConfirmationWatcher], None], watcher: ConfirmationWatcher, timeout: float) -> None:
    """Run ``submit(watcher)`` on a thread while this thread watches confirmations, until all are in."""
    submitting = threading.Event()
    submitting.set()
    failure: list[BaseException] = []

    def submit_then_clear() -> None:
        try:
            submit(watcher)
        except BaseException as exc:
            failure.append(exc)
        finally:
            submitting.clear()

    thread = threading.Thread(target=submit_then_clear, name="bench-submit")
    thread.start()
    try:
        watcher.wait_all(timeout, submitting)
    finally:
        thread.join()
    if failure:
        raise failure[0]

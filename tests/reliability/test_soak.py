"""200 concurrent clients mixing writes, verifications and audit queries for 60 s: no 5xx, no deadlock,
bounded memory, and every accepted write confirmed on chain afterwards.

``govledger serve`` runs as a subprocess on anvil (1 s blocks). 200 asyncio clients, each one request at a
time with a short random pause, send a mix of record anchoring, certificate issuing, public certificate
verification and auditor queries. A deadlock (a lock or a connection pool that never frees) shows up as
requests that never finish, so each request has a 30 s limit and none may reach it. The serve process's
resident memory is sampled throughout: it must stay under a fixed ceiling and must not keep climbing in the
last third of the run compared with the middle third (the first third is warm-up: caches, pools, imports).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select

from govledger.bench.certificates_issue import certificate_body
from govledger.bench.load import percentile
from govledger.bench.records_single import record_body
from govledger.bench.stack import API_DEPARTMENT, start_stack
from govledger.db.engine import session_scope
from govledger.db.models import AnchoredRecord, Operation, RecordBatch
from govledger.shortids import short_id_hex
from tests.reliability.on_chain import NodeReader
from tests.reliability.service_db import auditor_key, service_engine
from tests.support.event_loops import run_on_its_own_thread

pytestmark = pytest.mark.anvil

CLIENTS = 200
DURATION_SECONDS = 60.0
#: A deadlock never finishes; a saturated 2-core machine answered its slowest requests in about 25 s.
REQUEST_TIMEOUT = 60.0
MAX_PAUSE_SECONDS = 0.5
MAX_RSS_MIB = 400.0
#: The last third may sit above the middle third by this share (plus a small absolute slack) at most.
MAX_LATE_GROWTH = 0.15
GROWTH_SLACK_MIB = 16.0
SETTLE_TIMEOUT = 180.0

#: Share of each kind of request in the mix.
MIX = {"record": 30, "certificate": 15, "verify": 35, "audit": 20}
AUDIT_QUERIES = [
    "/api/v1/audit/events?limit=100",
    f"/api/v1/audit/events?limit=50&department={API_DEPARTMENT}&event=CertificateIssued",
    "/api/v1/audit/departments",
    f"/api/v1/audit/departments/{API_DEPARTMENT}/completeness",
    "/api/v1/audit/activity?days=1",
    "/api/v1/audit/timeline/certificate/{certificate}",
]


class RssSeries:
    """Resident set size of one process every ``interval`` seconds, kept as a series (MiB)."""

    def __init__(self, pid: int, interval: float = 0.5):
        self.pid = pid
        self.interval = interval
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-series", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                status = Path(f"/proc/{self.pid}/status").read_text()
            except OSError:
                return
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    self.samples.append(int(line.split()[1]) / 1024)

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join()
        return self.samples


@dataclass
class Tally:
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    timeouts: Counter[str] = field(default_factory=Counter)
    transport_errors: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    certificates: dict[str, str] = field(default_factory=dict)  # certificate id -> operation id


async def one_client(
    index: int,
    writer: httpx.AsyncClient,
    auditor: httpx.AsyncClient,
    public: httpx.AsyncClient,
    tally: Tally,
    end: float,
) -> None:
    rng = random.Random(index)
    kinds, weights = zip(*MIX.items(), strict=True)
    n = 0
    while time.monotonic() < end:
        n += 1
        kind = rng.choices(kinds, weights)[0]
        item_id = f"S{index}-{n}"
        if kind == "record":
            request = writer.build_request("POST", "/api/v1/records", json=record_body(f"SR{item_id}"))
        elif kind == "certificate":
            request = writer.build_request("POST", "/api/v1/certificates", json=certificate_body(f"SC{item_id}"))
        elif kind == "verify":
            known = list(tally.certificates) or ["SC-none"]
            request = public.build_request("GET", f"/api/v1/verify/certificates/{rng.choice(known)}")
        else:
            known = list(tally.certificates) or ["SC-none"]
            path = rng.choice(AUDIT_QUERIES).format(certificate=rng.choice(known))
            request = auditor.build_request("GET", path)
        client = {"record": writer, "certificate": writer, "verify": public, "audit": auditor}[kind]
        started = time.monotonic()
        try:
            reply = await client.send(request)
        except httpx.TimeoutException:
            tally.timeouts[kind] += 1
            continue
        except httpx.TransportError as exc:
            tally.transport_errors.append(f"{kind}: {type(exc).__name__}: {exc}")
            continue
        tally.latencies[kind].append(time.monotonic() - started)
        tally.statuses[kind][reply.status_code] += 1
        if reply.status_code >= 500:
            tally.server_errors.append(f"{kind} {request.url.path}: {reply.status_code} {reply.text[:200]}")
        elif reply.status_code == 202 and kind == "record":
            tally.records.append(f"SR{item_id}")
        elif reply.status_code == 202 and kind == "certificate":
            tally.certificates[f"SC{item_id}"] = reply.json()["operation"]["id"]
        await asyncio.sleep(rng.uniform(0, MAX_PAUSE_SECONDS))


async def soak(api_url: str, api_key: str, auditor_api_key: str) -> Tally:
    tally = Tally()
    # Idle connections are dropped by the client well before uvicorn's 5 s keep-alive timeout closes them,
    # so a request is never sent on a connection the server is closing at that moment.
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS, keepalive_expiry=2.0)
    timeout = httpx.Timeout(REQUEST_TIMEOUT, pool=REQUEST_TIMEOUT)

    def client(key: str | None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.AsyncClient(base_url=api_url, headers=headers, limits=limits, timeout=timeout)

    async with client(api_key) as writer, client(auditor_api_key) as auditor, client(None) as public:
        end = time.monotonic() + DURATION_SECONDS
        await asyncio.gather(*(one_client(i, writer, auditor, public, tally, end) for i in range(CLIENTS)))
    return tally


def confirmed_writes(engine: Engine, records: list[str], certificates: dict[str, str]) -> list[tuple[str, str]]:
    """(tx hash, topic its event must carry) of each accepted write whose operation is confirmed.

    The topic is the record batch's Merkle root or the certificate's number, as the chain's event names it.
    """
    with session_scope(engine, read_only=True) as session:
        record_rows = session.execute(
            select(Operation.tx_hash, RecordBatch.root)
            .select_from(AnchoredRecord)
            .join(RecordBatch, RecordBatch.id == AnchoredRecord.batch_id)  # type: ignore[arg-type]
            .join(Operation, Operation.id == RecordBatch.operation_id)  # type: ignore[arg-type]
            .where(AnchoredRecord.record_id.in_(records), Operation.status == "confirmed")  # type: ignore[attr-defined]
        ).all()
        certificate_rows = session.execute(
            select(Operation.id, Operation.tx_hash).where(
                Operation.id.in_(list(certificates.values())),  # type: ignore[attr-defined]
                Operation.status == "confirmed",
            )
        ).all()
    certificate_of = {operation_id: certificate_id for certificate_id, operation_id in certificates.items()}
    return [(str(tx), str(root)) for tx, root in record_rows] + [
        (str(tx), short_id_hex(certificate_of[operation_id])) for operation_id, tx in certificate_rows
    ]


def test_200_clients_for_60_seconds_get_no_5xx_no_deadlock_and_bounded_memory(tmp_path: Path):
    stack = start_stack(tmp_path, rate_limit_per_minute=1_000_000)
    engine = service_engine(stack)
    try:
        auditor_api_key = auditor_key(engine, API_DEPARTMENT)
        rss = RssSeries(stack.server.pid)
        began = time.monotonic()
        tally = run_on_its_own_thread(soak(stack.api_url, stack.api_key, auditor_api_key))
        ran = time.monotonic() - began
        samples = rss.stop()
        ready = httpx.get(f"{stack.api_url}/readyz", timeout=REQUEST_TIMEOUT).status_code

        accepted = len(tally.records) + len(tally.certificates)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            confirmed = confirmed_writes(engine, tally.records, tally.certificates)
            if len(confirmed) == accepted or time.monotonic() > deadline:
                break
            time.sleep(1)
        settled = time.monotonic() - began - ran
        with NodeReader(stack.chain_url) as node:
            not_on_chain = [tx for tx, topic in confirmed if not node.emits_topic(tx, topic)]

        third = len(samples) // 3
        middle, last = samples[third : 2 * third], samples[2 * third :]
        max_rss = max(samples)
        middle_mean, last_mean = statistics.fmean(middle), statistics.fmean(last)
        all_latencies = [value for values in tally.latencies.values() for value in values]
        requests = {kind: sum(counter.values()) for kind, counter in tally.statuses.items()}
        statuses: Counter[int] = Counter()
        for counter in tally.statuses.values():
            statuses.update(counter)
        server_errors = sum(count for status, count in statuses.items() if status >= 500)
        print(
            f"soak: clients={CLIENTS} seconds={ran:.0f} requests={sum(requests.values())} by_kind={dict(requests)} "
            f"statuses={dict(sorted(statuses.items()))} rate_limited={statuses[429]} "
            f"p99={percentile(all_latencies, 0.99):.2f}s "
            f"p99_by_kind={ {k: round(percentile(v, 0.99), 2) for k, v in tally.latencies.items()} } "
            f"max_rss={max_rss:.0f}MiB rss_middle_mean={middle_mean:.0f}MiB rss_last_mean={last_mean:.0f}MiB "
            f"5xx={server_errors} timeouts={sum(tally.timeouts.values())} "
            f"transport_errors={len(tally.transport_errors)} max_latency={max(all_latencies):.1f}s "
            f"accepted_writes={accepted} unconfirmed={accepted - len(confirmed)} "
            f"not_on_chain={len(not_on_chain)} settle_seconds={settled:.0f}"
        )
        assert server_errors == 0, tally.server_errors[:5]
        assert not tally.timeouts, f"requests that never finished (a deadlock?): {dict(tally.timeouts)}"
        assert not tally.transport_errors, tally.transport_errors[:5]
        assert ready == 200
        assert stack.server.poll() is None
        unexpected = {status for status in statuses if status not in (200, 202, 429)}
        assert not unexpected, f"unexpected statuses {unexpected}: {dict(statuses)}"
        assert max_rss < MAX_RSS_MIB
        assert last_mean <= middle_mean * (1 + MAX_LATE_GROWTH) + GROWTH_SLACK_MIB, (middle_mean, last_mean)
        assert len(confirmed) == accepted, f"accepted writes not confirmed within {SETTLE_TIMEOUT:.0f} s"
        assert not not_on_chain
    finally:
        engine.dispose()
        stack.close()

"""PostgreSQL restarted during a run: the service reconnects by itself and loses nothing it accepted.

``govledger serve`` runs as a subprocess on anvil, with its database in a private PostgreSQL cluster
(``private_postgres``; the shared server is never touched). Writer threads post records and certificates
all the time while the cluster is first restarted (``pg_ctl restart -m fast``: every pooled connection dies
at once) and then stopped for a few seconds and started again. Every answer must be a 2xx or a quick
503 ``database_unavailable``: never a hang, never a 500. Afterwards the same service process (not restarted)
must accept writes again, and every write that got a 2xx, before, between and after the faults, must be
confirmed by the background workers and found on chain by reading the node.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from govledger.bench.certificates_issue import certificate_body
from govledger.bench.records_single import record_body
from govledger.bench.stack import Stack, start_stack
from tests.reliability.on_chain import NodeReader
from tests.reliability.private_postgres import PrivatePostgres

pytestmark = [pytest.mark.anvil, pytest.mark.postgres]

WRITERS = 4
PAUSE_BETWEEN_REQUESTS = 0.03
REQUEST_TIMEOUT = 20.0
#: A refused request must be refused promptly: the database connect timeout is 10 s, a closed port is instant.
MAX_REFUSAL_SECONDS = 5.0
OUTAGE_SECONDS = 5.0
RECOVERY_GRACE_SECONDS = 1.0
CONFIRM_TIMEOUT = 90.0


@dataclass
class Answer:
    kind: str
    item_id: str
    status: int  # 0: no answer within REQUEST_TIMEOUT, -1: connection failed
    code: str | None
    seconds: float
    at: float
    body: dict = field(default_factory=dict)


@dataclass
class Writers:
    """Threads that post records and certificates until stopped, keeping every answer."""

    stack: Stack
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for index in range(WRITERS):
            thread = threading.Thread(target=self._write, args=(index,), name=f"writer-{index}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _write(self, index: int) -> None:
        headers = {"Authorization": f"Bearer {self.stack.api_key}"}
        with httpx.Client(base_url=self.stack.api_url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
            n = 0
            while not self._stop.is_set():
                n += 1
                kind = "record" if n % 2 else "certificate"
                item_id = f"DBR{index}-{n}" if kind == "record" else f"DBC{index}-{n}"
                path, body = (
                    ("/api/v1/records", record_body(item_id))
                    if kind == "record"
                    else ("/api/v1/certificates", certificate_body(item_id))
                )
                started = time.monotonic()
                try:
                    reply = client.post(path, json=body)
                    status, payload = reply.status_code, _json(reply)
                except httpx.TimeoutException:
                    status, payload = 0, {}
                except httpx.TransportError as exc:  # the service went away: counted as an "other" error
                    status, payload = -1, {"transport_error": repr(exc)}
                code = payload.get("error", {}).get("code") if isinstance(payload.get("error"), dict) else None
                answer = Answer(kind, item_id, status, code, time.monotonic() - started, started, payload)
                with self._lock:
                    self.answers.append(answer)
                self._stop.wait(PAUSE_BETWEEN_REQUESTS)


def _json(reply: httpx.Response) -> dict:
    try:
        body = reply.json()
    except ValueError:
        return {"not_json": reply.text[:200]}
    return body if isinstance(body, dict) else {"body": body}


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        yield cluster
    finally:
        cluster.close()


def wait_confirmed(client: httpx.Client, accepted: list[Answer]) -> tuple[list[str], dict[str, dict]]:
    """Poll until every accepted write is settled; the ids still unsettled and the final state of each."""
    final: dict[str, dict] = {}
    pending = list(accepted)
    deadline = time.monotonic() + CONFIRM_TIMEOUT
    while pending and time.monotonic() < deadline:
        still = []
        for answer in pending:
            if answer.kind == "record":
                state = client.get(f"/api/v1/records/{answer.item_id}").json()
                done = state.get("status") in ("anchored", "failed")
            else:
                state = client.get(f"/api/v1/operations/{answer.body['operation']['id']}").json()
                done = state.get("status") in ("confirmed", "failed")
            if done:
                final[answer.item_id] = state
            else:
                still.append(answer)
        pending = still
        if pending:
            time.sleep(0.5)
    return [answer.item_id for answer in pending], final


def test_the_service_reconnects_after_postgresql_restarts_and_loses_nothing(tmp_path: Path, postgres: PrivatePostgres):
    began = time.monotonic()
    stack = start_stack(
        tmp_path,
        rate_limit_per_minute=10_000,
        extra_env={"GOVLEDGER_DATABASE_URL": postgres.url, "GOVLEDGER_BATCH_MAX_DELAY_SECONDS": "0.5"},
    )
    writers = Writers(stack)
    try:
        server_pid = stack.server.pid
        started = time.monotonic()
        writers.start()
        time.sleep(3)
        postgres.restart("fast")
        restarted_at = time.monotonic()
        time.sleep(3)
        down_at = time.monotonic()
        postgres.stop("fast")
        time.sleep(OUTAGE_SECONDS)
        postgres.start()
        up_at = time.monotonic()
        time.sleep(4)
        writers.stop()

        answers = writers.answers
        statuses = Counter(answer.status for answer in answers)
        accepted = [answer for answer in answers if 200 <= answer.status < 300]
        refused = [answer for answer in answers if answer.status == 503]
        others = [answer for answer in answers if not (200 <= answer.status < 300 or answer.status == 503)]
        after_outage = [answer for answer in accepted if answer.at > up_at]
        # Once the server is back, the pool must not hand out connections that died with the old server:
        # after a short grace every request must succeed again (those still running when the stop began
        # are the outage's own).
        failed_when_back = [
            answer
            for answer in answers
            if not 200 <= answer.status < 300
            and (
                restarted_at + RECOVERY_GRACE_SECONDS < answer.at < answer.at + answer.seconds < down_at
                or answer.at > up_at + RECOVERY_GRACE_SECONDS
            )
        ]
        first_success_after = min((answer.at + answer.seconds for answer in after_outage), default=float("nan"))

        headers = {"Authorization": f"Bearer {stack.api_key}"}
        stopped = time.monotonic()
        with httpx.Client(base_url=stack.api_url, headers=headers, timeout=REQUEST_TIMEOUT) as client:
            unsettled, final = wait_confirmed(client, accepted)
            ready = client.get("/readyz").status_code
        settled = time.monotonic()
        failed = [item for item, state in final.items() if state.get("status") == "failed"]
        missing = []
        with NodeReader(stack.chain_url) as node:
            for answer in accepted:
                state = final.get(answer.item_id)
                if state is None or state.get("status") == "failed":
                    continue
                found = (
                    node.record_on_chain(state)
                    if answer.kind == "record"
                    else node.certificate_on_chain(answer.item_id, state)
                )
                if not found:
                    missing.append(answer.item_id)
        lost = len(unsettled) + len(failed) + len(missing)

        print(
            f"database restart: requests={len(answers)} 2xx={len(accepted)} 503={len(refused)} "
            f"other_errors={len(others)} lost={lost} outage_seconds={up_at - down_at:.1f} "
            f"first_2xx_after_start={first_success_after - up_at:.2f}s "
            f"slowest_503={max((a.seconds for a in refused), default=0):.2f}s "
            f"accepted_after_outage={len(after_outage)} failed_once_back={len(failed_when_back)} "
            f"statuses={dict(statuses)} "
            f"seconds: setup={started - began:.1f} run={stopped - started:.1f} settle={settled - stopped:.1f}"
        )
        assert not others, [(a.kind, a.status, a.code, a.body) for a in others[:5]]
        assert refused, "no request was refused while PostgreSQL was down: the fault was not observed"
        assert {answer.code for answer in refused} == {"database_unavailable"}
        assert max(answer.seconds for answer in refused) < MAX_REFUSAL_SECONDS
        assert stack.server.poll() is None and stack.server.pid == server_pid, "the service process died"
        assert after_outage, "nothing was accepted after PostgreSQL came back"
        assert not failed_when_back, [(a.kind, a.status, a.code, round(a.at - up_at, 2)) for a in failed_when_back[:5]]
        assert ready == 200
        assert not unsettled, f"{len(unsettled)} accepted writes never settled, e.g. {unsettled[:5]}"
        assert not failed, f"accepted writes failed: {failed[:5]}"
        assert not missing, f"accepted writes not on chain: {missing[:5]}"
        assert lost == 0
    finally:
        writers.stop()
        stack.close()

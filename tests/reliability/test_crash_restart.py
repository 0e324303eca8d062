"""The service killed with SIGKILL five times while 10,000 records and 1,000 certificates are submitted.

Every kill lands at a random moment (seeded; the seed is printed, set GOVLEDGER_FAULT_SEED to replay one)
while clients are writing: some requests are cut off mid-flight, and the service dies wherever it happens
to be (between committing a row and answering, between sealing a batch and submitting it, between signing
a transaction and sending it). After each kill it is started again on the same data folder and database.

Afterwards the chain itself is the judge: every request that got a 2xx is on chain exactly once, none that
got an error is, and every request whose connection broke, sent again with the same Idempotency-Key or
record id after the last restart, ends up on chain exactly once too.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import pytest

from tests.reliability.harness import start_stack
from tests.reliability.workload import (
    ACCEPTED,
    BROKEN,
    HUNG,
    REFUSED,
    Write,
    certificate_writes,
    check_exactly_once,
    operations_in_flight,
    record_writes,
    send_all,
    tally,
    wait_until_on_chain,
)

KILLS = 5
SINGLE_RECORDS = 1_000
RECORD_BATCHES = 90
BATCH_SIZE = 100  # 1,000 + 90 x 100 = 10,000 records
CERTIFICATES = 1_000
CLIENT_THREADS = 24
REQUEST_TIMEOUT_SECONDS = 60.0
SETTLE_TIMEOUT_SECONDS = 120.0


class Killer:
    """Kills the service when the clients' progress passes each of the chosen points, then restarts it."""

    def __init__(self, stack: object, kill_points: list[int], rng: random.Random):
        self.stack = stack
        self.kill_points = sorted(kill_points)
        self.rng = rng
        self.up = threading.Event()
        self.up.set()
        self.finished = 0
        self.kills = 0
        self.restart_seconds: list[float] = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def answered(self, _write: Write) -> None:
        with self._lock:
            self.finished += 1
            due = self.kills < len(self.kill_points) and self.finished >= self.kill_points[self.kills]
            if due and self._thread is None:
                self._thread = threading.Thread(target=self._kill_and_restart, name="killer")
                self._thread.start()

    def _kill_and_restart(self) -> None:
        time.sleep(self.rng.uniform(0.0, 0.5))  # not exactly on an answer boundary
        service = self.stack.service  # type: ignore[attr-defined]
        self.up.clear()  # new requests wait; those in flight are cut off by the kill
        try:
            service.kill()
            started = time.monotonic()
            service.start()
            self.restart_seconds.append(time.monotonic() - started)
        except BaseException as exc:
            self.error = exc
        with self._lock:
            self.kills += 1
            self._thread = None
        self.up.set()

    def wait_until_up(self) -> None:
        self.up.wait()

    def join(self) -> None:
        while True:
            with self._lock:
                thread = self._thread
            if thread is None:
                return
            thread.join()


@pytest.mark.anvil
def test_sigkill_during_submission_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    started = time.monotonic()
    seed = int(os.environ.get("GOVLEDGER_FAULT_SEED", random.SystemRandom().randrange(2**32)))
    print(f"crash test seed={seed} (GOVLEDGER_FAULT_SEED={seed} replays it)")
    rng = random.Random(seed)
    tag = f"K{seed % 100_000}"
    writes = record_writes(tag, singles=SINGLE_RECORDS, batches=RECORD_BATCHES, batch_size=BATCH_SIZE)
    writes += certificate_writes(tag, CERTIFICATES)
    rng.shuffle(writes)
    # Kill points spread over the run, so every kill finds clients writing.
    kill_points = [int(len(writes) * rng.uniform(0.05, 0.85)) for _ in range(KILLS)]

    # A spare process does the slow Python imports ahead of each restart, so the run is not mostly waiting.
    stack = start_stack(tmp_path, warm_restarts=True)
    setup_seconds = time.monotonic() - started
    try:
        killer = Killer(stack, kill_points, rng)
        with stack.client(connections=CLIENT_THREADS + 8) as client:
            submit_started = time.monotonic()
            send_all(
                client,
                writes,
                workers=CLIENT_THREADS,
                timeout=REQUEST_TIMEOUT_SECONDS,
                before_each=killer.wait_until_up,
                after_each=killer.answered,
            )
            killer.join()
            if killer.error is not None:
                pytest.fail(f"the service did not come back after kill {killer.kills}: {killer.error}")
            submit_seconds = time.monotonic() - submit_started
            retry_started = time.monotonic()
            first = tally(writes)

            # The ambiguous ones: sent again, with the same Idempotency-Key / record id, until answered.
            ambiguous = [w for w in writes if w.outcome in (BROKEN, HUNG)]
            for _attempt in range(3):
                unanswered = [w for w in ambiguous if w.outcome in (BROKEN, HUNG)]
                send_all(client, unanswered, workers=CLIENT_THREADS, timeout=REQUEST_TIMEOUT_SECONDS)
            retried = tally(ambiguous)
            retry_seconds = time.monotonic() - retry_started

            accepted = [w for w in writes if w.outcome == ACCEPTED]
            expected_records = sum(len(w.records) for w in accepted)
            expected_certificates = sum(1 for w in accepted if w.kind == "certificate")
            settle_started = time.monotonic()
            wait_until_on_chain(
                stack, records=expected_records, certificates=expected_certificates, timeout=SETTLE_TIMEOUT_SECONDS
            )
            settle_seconds = time.monotonic() - settle_started
            in_flight = operations_in_flight(client)
            verify_started = time.monotonic()
            verdict = check_exactly_once(stack, client, writes)
            verify_seconds = time.monotonic() - verify_started
    finally:
        stack.close()

    refused = [w for w in writes if w.outcome == REFUSED]
    wall = time.monotonic() - started
    print(
        f"fault test (SIGKILL x{killer.kills}): requests={len(writes)} "
        f"(records={SINGLE_RECORDS + RECORD_BATCHES * BATCH_SIZE} in {SINGLE_RECORDS} single + {RECORD_BATCHES} batch "
        f"requests, certificates={CERTIFICATES}) 2xx={first[ACCEPTED]} errors={first[REFUSED]} "
        f"broken_connections={first[BROKEN]} timeouts={first[HUNG]} kills={killer.kills} "
        f"retried_ambiguous={len(ambiguous)} (then 2xx={retried[ACCEPTED]} errors={retried[REFUSED]}) "
        f"records_on_chain={verdict.records_on_chain}/{verdict.accepted_records} "
        f"certificates_on_chain={verdict.certificates_on_chain}/{verdict.accepted_certificates} "
        f"duplicates={verdict.duplicates} refused_on_chain={len(verdict.refused_on_chain)} lost={verdict.lost}"
    )
    print(
        f"crash test timing: wall={wall:.1f}s setup={setup_seconds:.1f}s submit={submit_seconds:.1f}s "
        f"restarts={', '.join(f'{s:.1f}' for s in killer.restart_seconds)}s retry={retry_seconds:.1f}s "
        f"settle={settle_seconds:.1f}s verify={verify_seconds:.1f}s"
    )
    if refused:
        print("errors by status/code:", tally(refused, "status"), tally(refused, "error_code"))

    assert killer.kills == KILLS
    assert retried[ACCEPTED] == len(ambiguous), f"retries not all accepted: {retried}"
    assert verdict.missing_records == [], f"lost records: {verdict.missing_records[:10]}"
    assert verdict.missing_certificates == [], f"lost certificates: {verdict.missing_certificates[:10]}"
    assert verdict.duplicate_records == 0
    assert verdict.duplicate_certificates == 0
    assert verdict.unexpected_certificates == 0
    assert verdict.refused_on_chain == []
    assert in_flight == 0, f"{in_flight} operations still queued or submitted after everything was on chain"

"""Row 2: POST /api/v1/records/batch with 1,000 records per request; records/s until every batch is confirmed."""

from __future__ import annotations

import json
import threading
import time

from govledger.bench import cpu
from govledger.bench.load import ConfirmationWatcher, api_client, expect, run_concurrently, watch_while
from govledger.bench.operations import operations_confirmed
from govledger.bench.records_single import record_body
from govledger.bench.stack import Stack
from govledger.bench.table import Row

RECORDS_PER_REQUEST = 1000
JSON_CONTENT = {"Content-Type": "application/json"}


def encoded_batch(run_tag: str, number: int) -> bytes:
    """One request's JSON body, made before the clock starts: the load generator's own work is not measured."""
    records = [record_body(f"B{run_tag}-{number}-{i}") for i in range(RECORDS_PER_REQUEST)]
    return json.dumps({"records": records}).encode()


def measure(stack: Stack, *, clients: int, requests: int, baseline_rps: float, run_tag: str) -> Row:
    client = api_client(stack.api_url, stack.api_key, clients + 16)
    watcher = ConfirmationWatcher(lambda operation_ids: operations_confirmed(client, operation_ids))
    bodies = [encoded_batch(run_tag, number) for number in range(requests)]
    accepted_at: list[float] = []
    next_request = iter(range(requests))
    lock = threading.Lock()

    def submit(watcher: ConfirmationWatcher) -> None:
        def one_client(_: int) -> None:
            while True:
                with lock:
                    number = next(next_request, None)
                if number is None:
                    return
                started = time.perf_counter()
                reply = client.post("/api/v1/records/batch", content=bodies[number], headers=JSON_CONTENT)
                batch = expect(reply, 202, 200)
                accepted_at.append(time.perf_counter())
                watcher.add(batch["operation"]["id"], started)

        run_concurrently(clients, one_client)

    with client:
        before = cpu.sample(stack)
        watch_while(submit, watcher, timeout=300)
        cpu_use = cpu.cores_used(before, cpu.sample(stack))
    rate = watcher.throughput() * RECORDS_PER_REQUEST
    all_accepted = max(accepted_at)
    return Row(
        what=f"records via POST /records/batch ({RECORDS_PER_REQUEST:,}/request, {clients} clients; rec/s confirmed)",
        figure=rate,
        unit="rec/s",
        baseline=baseline_rps,
        baseline_label="rec/s web3.py transact+wait",
        target="≥ 20,000 rec/s",
        detail=f"{requests * RECORDS_PER_REQUEST:,} records in {requests} requests, all accepted after "
        f"{all_accepted - watcher.first_submitted():.2f} s, the last confirmed "
        f"{watcher.last_confirmed() - all_accepted:.2f} s later; {cpu_use}",
    )

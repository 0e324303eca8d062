"""Row 1: single-record POST /api/v1/records from concurrent clients, auto-batched; records/s until anchored."""

from __future__ import annotations

import json
import os
import time

import httpx

from govledger.bench import cpu
from govledger.bench.load import (
    ConfirmationWatcher,
    JsonPoster,
    api_client,
    confirmed_in_lookup,
    percentile,
    run_concurrently,
    watch_while,
)
from govledger.bench.stack import Stack
from govledger.bench.table import Row


def record_body(record_id: str) -> dict[str, str]:
    return {"record_id": record_id, "schema_id": "BENCH-SCHEMA", "content_hash": os.urandom(32).hex()}


def _anchored(client: httpx.Client, record_ids: list[str]) -> set[str]:
    """The anchored ones among ``record_ids``, in one bulk lookup; a failed record stops the run."""
    return confirmed_in_lookup(
        client, "/api/v1/records/lookup", record_ids, items="records", key="record_id", done="anchored"
    )


def measure(stack: Stack, *, clients: int, records: int, baseline_rps: float, run_tag: str) -> Row:
    client = api_client(stack.api_url, stack.api_key, 8)
    poster = JsonPoster(stack.api_url, stack.api_key)
    watcher = ConfirmationWatcher(lambda record_ids: _anchored(client, record_ids))
    per_client = max(1, records // clients)
    # Encoded before the clock starts: the load generator's own JSON work is not the service's time.
    bodies = {
        record_id: json.dumps(record_body(record_id)).encode()
        for record_id in (f"R{run_tag}-{index}-{n}" for index in range(clients) for n in range(per_client))
    }

    def submit(watcher: ConfirmationWatcher) -> None:
        def one_client(index: int) -> None:
            for n in range(per_client):
                record_id = f"R{run_tag}-{index}-{n}"
                started = time.perf_counter()
                poster.post("/api/v1/records", bodies[record_id], 202)
                watcher.add(record_id, started)

        run_concurrently(clients, one_client)

    with client, poster:
        before = cpu.sample(stack)
        watch_while(submit, watcher, timeout=300)
        cpu_use = cpu.cores_used(before, cpu.sample(stack))
    rate = watcher.throughput()
    p99 = percentile(watcher.latencies(), 0.99)
    return Row(
        what=f"records via POST /records, {clients} clients, auto-batched (records/s confirmed)",
        figure=rate,
        unit="rec/s",
        baseline=baseline_rps,
        baseline_label="rec/s web3.py transact+wait",
        target="≥ 1,000 rec/s, ≥ 20×, p99 ≤ 3 s",
        detail=f"{len(watcher.items):,} records; p99 request→anchored {p99:.2f} s; {cpu_use}",
    )

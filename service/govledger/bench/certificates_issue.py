"""Row 3: one transaction per operation (certificate issue) pipelined through the API; tx/s confirmed.

The baseline is the chain's own ceiling: block gas limit ÷ gas per issue ÷ block time, with the gas of an
issue taken from a receipt of this run.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta

from govledger.bench import cpu
from govledger.bench.load import (
    ConfirmationWatcher,
    JsonPoster,
    api_client,
    expect,
    percentile,
    run_concurrently,
    watch_while,
)
from govledger.bench.operations import operations_confirmed
from govledger.bench.stack import BLOCK_GAS_LIMIT, BLOCK_TIME_SECONDS, Stack, rpc
from govledger.bench.table import Row


def certificate_body(certificate_id: str) -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "certificate_id": certificate_id,
        "certificate_type": "BENCH-LICENCE",
        "document_hash": os.urandom(32).hex(),
        "holder_commitment": os.urandom(32).hex(),
        "valid_from": (now - timedelta(minutes=5)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
    }


def measure(stack: Stack, *, clients: int, certificates: int, run_tag: str) -> tuple[Row, list[str]]:
    """The row, and the ids of the certificates issued (row 4 verifies them)."""
    client = api_client(stack.api_url, stack.api_key, 8)
    poster = JsonPoster(stack.api_url, stack.api_key)
    watcher = ConfirmationWatcher(lambda operation_ids: operations_confirmed(client, operation_ids))
    issued: list[str] = []
    per_client = max(1, certificates // clients)
    # Encoded before the clock starts: the load generator's own JSON work is not the service's time.
    bodies = {
        certificate_id: json.dumps(certificate_body(certificate_id)).encode()
        for certificate_id in (f"C{run_tag}-{index}-{n}" for index in range(clients) for n in range(per_client))
    }

    def submit(watcher: ConfirmationWatcher) -> None:
        def one_client(index: int) -> None:
            for n in range(per_client):
                certificate_id = f"C{run_tag}-{index}-{n}"
                started = time.perf_counter()
                answer = poster.post("/api/v1/certificates", bodies[certificate_id], 202)
                watcher.add(answer["operation"]["id"], started)
                issued.append(certificate_id)

        run_concurrently(clients, one_client)

    with client, poster:
        before = cpu.sample(stack)
        watch_while(submit, watcher, timeout=300)
        cpu_use = cpu.cores_used(before, cpu.sample(stack))
        last = expect(client.get(f"/api/v1/operations/{watcher.items[-1].key}"), 200)
    receipt = rpc(stack.chain_url, "eth_getTransactionReceipt", [last["tx_hash"]])
    assert isinstance(receipt, dict)
    gas_per_issue = int(receipt["gasUsed"], 16)
    p99 = percentile(watcher.latencies(), 0.99)
    ceiling = BLOCK_GAS_LIMIT / gas_per_issue / BLOCK_TIME_SECONDS
    row = Row(
        what=f"certificate issue, 1 tx each, pipelined via POST /certificates, {clients} clients (tx/s confirmed)",
        figure=watcher.throughput(),
        unit="tx/s",
        baseline=ceiling,
        baseline_label=f"tx/s chain ceiling (30M gas ÷ {gas_per_issue:,} gas ÷ 1 s)",
        target="≥ 70% of the ceiling",
        detail=f"{len(watcher.items):,} certificates; p99 request→confirmed {p99:.2f} s; {cpu_use}",
    )
    return row, issued

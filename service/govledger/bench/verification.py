"""Row 4: public verification GET /api/v1/verify/certificates/{id} from concurrent clients; req/s and p99.

The baseline does the same lookup as a direct ``certificateOf`` eth_call per request, with the same clients.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from govledger.bench.load import api_client, expect, percentile, run_concurrently
from govledger.bench.stack import Stack
from govledger.bench.table import Row
from govledger.bench.web3_baseline import direct_certificate_lookup


def _hammer(clients: int, seconds: float, lookup: Callable[[int, str], object], ids: list[str]) -> tuple[float, float]:
    """Requests per second and p99 latency (s) of ``lookup`` called in a loop by ``clients`` threads."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    start = time.perf_counter()
    deadline = start + seconds

    def one_client(index: int) -> None:
        own = latencies[index]
        for cert_id in itertools.cycle(ids[index::clients] or ids):
            began = time.perf_counter()
            if began > deadline:
                return
            lookup(index, cert_id)
            own.append(time.perf_counter() - began)

    run_concurrently(clients, one_client)
    elapsed = time.perf_counter() - start
    every = [value for own in latencies for value in own]
    return len(every) / elapsed, percentile(every, 0.99)


def measure(stack: Stack, *, clients: int, seconds: float, certificate_ids: list[str]) -> Row:
    client = api_client(stack.api_url, None, clients)

    def through_api(_: int, cert_id: str) -> object:
        answer = expect(client.get(f"/api/v1/verify/certificates/{cert_id}"), 200)
        if answer.get("status") != "valid":
            raise AssertionError(f"certificate {cert_id} did not verify as valid: {answer}")
        return answer

    with client:
        api_rps, api_p99 = _hammer(clients, seconds, through_api, certificate_ids)

    local = threading.local()

    def direct(_: int, cert_id: str) -> object:
        if not hasattr(local, "lookup"):
            local.lookup = direct_certificate_lookup(stack.chain_url, stack.deployment_file)
        return local.lookup(cert_id)

    direct_rps, direct_p99 = _hammer(clients, seconds, direct, certificate_ids)
    return Row(
        what=f"public verification GET /verify/certificates/{{id}}, {clients} clients (req/s)",
        figure=api_rps,
        unit="req/s",
        baseline=direct_rps,
        baseline_label=f"req/s direct certificateOf eth_call (p99 {direct_p99 * 1000:.0f} ms)",
        target="≥ 2,000 req/s, p99 ≤ 50 ms",
        detail=f"p99 {api_p99 * 1000:.0f} ms",
    )

"""Row 4: public verification GET /api/v1/verify/certificates/{id} from concurrent clients; req/s and p99.

The load comes from ``wrk`` (see bench/wrk.py), cycling through every certificate the issue row created.
The baseline is the same lookup as a direct ``certificateOf`` eth_call per request, sent by the same wrk with
the same connections straight to the node.
"""

from __future__ import annotations

import httpx

from govledger.bench import cpu, wrk
from govledger.bench.load import BenchRunError
from govledger.bench.stack import Stack
from govledger.bench.table import Row
from govledger.bench.web3_baseline import certificate_lookup_requests

#: Answers checked one by one before the measurement (wrk only sees status codes).
SPOT_CHECKS = 20


def _spot_check(stack: Stack, certificate_ids: list[str]) -> None:
    step = max(1, len(certificate_ids) // SPOT_CHECKS)
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        for cert_id in certificate_ids[::step]:
            answer = client.get(f"/api/v1/verify/certificates/{cert_id}").json()
            if answer.get("status") != "valid":
                raise BenchRunError(f"certificate {cert_id} did not verify as valid: {answer}")


def measure(stack: Stack, *, clients: int, seconds: float, certificate_ids: list[str]) -> Row:
    _spot_check(stack, certificate_ids)
    before = cpu.sample(stack)
    api = wrk.run(
        stack.api_url,
        [wrk.Request("GET", f"/api/v1/verify/certificates/{cert_id}") for cert_id in certificate_ids],
        connections=clients,
        seconds=seconds,
    )
    cpu_use = cpu.cores_used(before, cpu.sample(stack))
    bodies = certificate_lookup_requests(stack.chain_url, stack.deployment_file, certificate_ids)
    direct = wrk.run(
        stack.chain_url, [wrk.Request("POST", "/", body) for body in bodies], connections=clients, seconds=seconds
    )
    return Row(
        what=f"public verification GET /verify/certificates/{{id}}, {clients} connections (req/s)",
        figure=api.requests_per_second,
        unit="req/s",
        baseline=direct.requests_per_second,
        baseline_label=f"req/s direct certificateOf eth_call to the node (p99 {direct.p99_seconds * 1000:.0f} ms)",
        target="≥ 2,000 req/s, p99 ≤ 50 ms",
        detail=f"p99 {api.p99_seconds * 1000:.0f} ms; {len(certificate_ids):,} certificates in turn; load from wrk; "
        f"{cpu_use}",
    )

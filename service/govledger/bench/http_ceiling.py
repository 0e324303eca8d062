"""The HTTP ceiling: the cheapest endpoint (GET /healthz) under the same load as the verification row.

No route of the service can answer faster than this on the same machine: it is the bound that the Python
HTTP stack (uvicorn, Starlette, the middleware) puts on every per-request row, and it tells how much of a
row's shortfall is the service's own work.
"""

from __future__ import annotations

from govledger.bench import cpu, wrk
from govledger.bench.stack import Stack
from govledger.bench.table import Row


def measure(stack: Stack, *, clients: int, seconds: float) -> Row:
    before = cpu.sample(stack)
    result = wrk.run(stack.api_url, [wrk.Request("GET", "/healthz")], connections=clients, seconds=seconds)
    cpu_use = cpu.cores_used(before, cpu.sample(stack))
    return Row(
        what=f"HTTP ceiling: GET /healthz (no work), {clients} connections (req/s)",
        figure=result.requests_per_second,
        unit="req/s",
        baseline=None,
        baseline_label="",
        target="— (bound for every per-request row)",
        detail=f"p99 {result.p99_seconds * 1000:.0f} ms; load from wrk, as for verification; {cpu_use}",
    )

"""Whose CPU a row used: the service, the node and the benchmark's own clients, in cores while it ran.

Every process of a run shares the machine's cores, so a row's figure is only understood next to who was
busy: a row whose three shares add up to the core count is bound by the CPU, and the largest share says
where to look. Read from /proc (user + system time), like the memory row.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

from govledger.bench.procfs import process_name, process_tree, stat_fields
from govledger.bench.stack import Stack
from govledger.processes import WORKER_PROCESS_NAME

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int, *, with_waited_children: bool = False) -> float:
    """User + system CPU seconds of ``pid`` (0 if it is gone); optionally with its exited, waited-for children."""
    fields = stat_fields(pid)
    if fields is None:
        return 0.0
    # utime 11, stime 12, cutime 13, cstime 14.
    ticks = int(fields[11]) + int(fields[12])
    if with_waited_children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _TICKS_PER_SECOND


@dataclass(frozen=True)
class CpuSample:
    at: float
    service: float
    #: The part of ``service`` spent in the background-worker process (signing, sending, tracking, indexing);
    #: None when there is none (``--processes 1`` runs the background work in its one process).
    worker: float | None
    node: float
    bench: float


def sample(stack: Stack) -> CpuSample:
    """CPU seconds so far of the service (serve and every process under it), the node and this process.

    This process counts its exited children too: wrk, the C load generator of rows 4 and 4b, is one.
    """
    service = {pid: _cpu_seconds(pid) for pid in process_tree(stack.server.pid)}
    workers = [seconds for pid, seconds in service.items() if process_name(pid) == WORKER_PROCESS_NAME]
    return CpuSample(
        at=time.perf_counter(),
        service=sum(service.values()),
        worker=sum(workers) if workers else None,
        node=_cpu_seconds(stack.anvil.pid),
        bench=_cpu_seconds(os.getpid(), with_waited_children=True),
    )


def cores_used(before: CpuSample, after: CpuSample) -> str:
    """What each used between the two samples, in cores (CPU seconds per second), for a row's detail."""
    elapsed = after.at - before.at
    if elapsed <= 0:
        return ""
    service = (after.service - before.service) / elapsed
    node = (after.node - before.node) / elapsed
    bench = (after.bench - before.bench) / elapsed
    worker = ""
    # A background worker restarted meanwhile starts again from zero: its share is then unknown, not negative.
    if after.worker is not None and before.worker is not None and after.worker >= before.worker:
        worker = f" (background worker {(after.worker - before.worker) / elapsed:.2f})"
    return (
        f"CPU while measured: service {service:.2f}{worker}, node {node:.2f}, "
        f"bench clients {bench:.2f} = {service + node + bench:.2f} of {os.cpu_count()} cores"
    )

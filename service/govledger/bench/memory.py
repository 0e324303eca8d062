"""Row 6: the most memory ``govledger serve`` held at once over the whole run, all its processes together.

With ``--processes N`` the service is the supervisor, N API processes and the background worker, forked
from the supervisor and sharing its library pages: each sample takes the footprint of all of them
(bench.footprint: every physical page once), so the figure does not depend on how the work is split
between processes, nor count a shared page once per process. Summed VmRSS, the figure of earlier rounds,
is printed beside it.
"""

from __future__ import annotations

from govledger.bench.stack import Stack
from govledger.bench.table import Row


def measure(stack: Stack) -> Row:
    memory = stack.memory
    figure = memory.stop()
    counted = (
        "file-backed pages once over the tree (page numbers from /proc/<pid>/pagemap)"
        if memory.pages_identified
        else "file-backed pages once per process (page numbers not readable here: an over-count)"
    )
    shares = ", ".join(f"{name} {kib / 1024:,.0f}" for name, kib in sorted(memory.anonymous_at_max))
    return Row(
        what="service memory under the load above (most held at once by govledger serve and its processes, "
        "each shared page counted once)",
        figure=figure,
        unit="MiB",
        baseline=None,
        baseline_label="",
        target="≤ 300 MB",
        detail=f"{memory.processes_at_max} processes (serve and its descendants), sampled together every "
        f"{memory.interval:g} s: anonymous memory by its proportional share (Pss_Anon: {shares}), {counted} "
        f"({memory.file_kib / 1024:,.0f} MiB at the end); summed VmRSS at that moment "
        f"{memory.rss_at_max_kib / 1024:,.0f} MiB (largest seen {memory.max_rss_kib / 1024:,.0f} MiB)",
    )

"""Row 6: the largest resident set size of ``govledger serve`` over the whole run, all its processes together.

With ``--processes N`` the service is the serve process, N API processes and the background worker (and
multiprocessing's resource tracker): each sample adds up all of them, so the figure does not depend on how
the work is split between processes.
"""

from __future__ import annotations

from govledger.bench.stack import Stack
from govledger.bench.table import Row


def measure(stack: Stack) -> Row:
    figure = stack.rss.stop()
    return Row(
        what="service memory under the load above (max VmRSS of govledger serve, summed over its processes)",
        figure=figure,
        unit="MiB",
        baseline=None,
        baseline_label="",
        target="≤ 300 MB",
        detail=f"sum over {stack.rss.processes_at_max} processes (serve and its descendants), sampled together "
        "every 0.2 s from /proc/<pid>/status",
    )

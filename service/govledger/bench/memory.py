"""Row 6: the largest resident set size of the ``govledger serve`` process over the whole run."""

from __future__ import annotations

from govledger.bench.stack import Stack
from govledger.bench.table import Row


def measure(stack: Stack) -> Row:
    return Row(
        what="service memory under the load above (max VmRSS of govledger serve)",
        figure=stack.rss.stop(),
        unit="MiB",
        baseline=None,
        baseline_label="",
        target="≤ 300 MB",
        detail="sampled every 0.2 s from /proc/<pid>/status",
    )

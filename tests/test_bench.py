"""scripts/bench --quick works end to end: it prints the table with every implemented row and a number in each.

This proves the benchmark runs (anvil, deploy, serve, every row); it does not judge speed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
#: A whole stack under load: never at the same time as the fault tests (tests/reliability/conftest.py).
pytestmark = pytest.mark.xdist_group("heavy")
ROW_STARTS = (
    "records via POST /records,",
    "records via POST /records/batch",
    "certificate issue, 1 tx each",
    "gas: certificate issue",
    "gas: batch anchor per record",
    "gas: record anchor",
    "gas: certificate revoke",
    "gas: sharing grant",
    "gas: data use log",
    "public verification GET",
    "HTTP ceiling: GET /healthz",
    "indexer catching up",
    "service memory under the load above",
)
NUMBER = re.compile(r"^\d[\d,]*(\.\d+)? ")
#: Two decimals, or 1/N for a ratio below 0.01 (the gas row's batch anchor against EAS multiAttest).
RATIO = re.compile(r"\d[\d,]*\.\d\d×|1/\d[\d,]*")
#: The gas rows with a target say whether it was met.
GAS_TARGET_ROWS = ("gas: certificate issue", "gas: batch anchor per record")
#: The timed rows under load say whose CPU they used.
CPU_ROWS = (
    "records via POST /records,",
    "records via POST /records/batch",
    "certificate issue, 1 tx each",
    "public verification GET",
    "HTTP ceiling: GET /healthz",
)
CPU_SHARES = re.compile(
    r"CPU while measured: service (\d+\.\d\d)(?: \(background worker (\d+\.\d\d)\))?, node (\d+\.\d\d), "
    r"bench clients (\d+\.\d\d) = (\d+\.\d\d) of (\d+) cores"
)


def test_the_quick_benchmark_prints_every_row_with_numbers():
    done = subprocess.run(
        [str(REPO_ROOT / "scripts" / "bench"), "--quick"], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    table = [line for line in done.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert table[0].startswith("| what | figure | baseline (same run) | ratio |")
    rows = {start: line for start in ROW_STARTS for line in table[1:] if line.startswith(f"| {start}")}
    assert sorted(rows) == sorted(ROW_STARTS), done.stdout
    for start, line in rows.items():
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        assert NUMBER.match(cells[1]), f"{start}: figure {cells[1]!r} is not a number"
        if cells[2] != "—":
            assert NUMBER.match(cells[2]), f"{start}: baseline {cells[2]!r} is not a number"
            assert RATIO.fullmatch(cells[3]), f"{start}: ratio {cells[3]!r}"
        if start in GAS_TARGET_ROWS:
            assert re.match(r"target (met|MISSED);", cells[5]), f"{start}: detail {cells[5]!r} has no verdict"
        if start in CPU_ROWS:
            shares = CPU_SHARES.search(cells[5])
            assert shares, f"{start}: detail {cells[5]!r} has no CPU shares"
            service, worker, node, bench, total, cores = (float(value or 0) for value in shares.groups())
            # The service and the clients work in every such row (the node may idle through /healthz), and
            # the shares add up to at most the machine.
            assert service > 0 and bench > 0 and worker <= service, f"{start}: {shares.group(0)}"
            assert abs(service + node + bench - total) < 0.02 and total <= cores * 1.05, f"{start}: {shares.group(0)}"

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

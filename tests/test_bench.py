"""scripts/bench --quick works end to end: it prints the table with every implemented row and a number in each.

This proves the benchmark runs (anvil, deploy, serve, every row); it does not judge speed.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ROW_STARTS = (
    "records via POST /records,",
    "records via POST /records/batch",
    "certificate issue, 1 tx each",
    "public verification GET",
    "indexer catching up",
    "service memory under the load above",
)
NUMBER = re.compile(r"^\d[\d,]*(\.\d+)? ")


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
            assert re.fullmatch(r"\d[\d,]*\.\d\d×", cells[3]), f"{start}: ratio {cells[3]!r}"

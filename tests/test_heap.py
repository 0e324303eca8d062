"""Service processes freeze their start-up objects, so the garbage collector stops walking them."""

from __future__ import annotations

import json
import subprocess
import sys

# Run in a fresh interpreter: freezing is for a whole process's life, and frozen objects are never freed.
START_UP_THEN_FREEZE = """
import gc, json
import govledger.api.app, govledger.runtime  # what a service process has imported before serving
tracked_before = len(gc.get_objects())
from govledger.heap import freeze_start_up_objects
freeze_start_up_objects()
print(json.dumps({"tracked_before": tracked_before, "tracked_after": len(gc.get_objects()),
                  "frozen": gc.get_freeze_count()}))
"""


def test_after_start_up_the_collector_tracks_almost_nothing():
    done = subprocess.run([sys.executable, "-c", START_UP_THEN_FREEZE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    counts = json.loads(done.stdout)
    print(f"heap: {counts}")
    assert counts["tracked_before"] > 50_000
    assert counts["frozen"] >= counts["tracked_before"] // 2
    assert counts["tracked_after"] < 1_000

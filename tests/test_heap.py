"""Service processes freeze their start-up objects, so the garbage collector stops walking them."""

from __future__ import annotations

import json
import os
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


ARENAS_THEN_CHILD = """
import json, subprocess, sys
from govledger.heap import limit_malloc_arenas
applied = limit_malloc_arenas()
child = subprocess.run([sys.executable, "-c", "import os; print(os.environ.get('MALLOC_ARENA_MAX'))"],
                       capture_output=True, text=True, check=True).stdout.strip()
print(json.dumps({"applied": applied, "child": child}))
"""


def run_arenas(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS_THEN_CHILD], capture_output=True, text=True, timeout=60, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_malloc_arenas_are_capped_here_and_in_the_processes_a_service_starts():
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert run_arenas(env) == {"applied": True, "child": "2"}


def test_an_operators_malloc_arena_setting_is_left_alone():
    env = {**os.environ, "MALLOC_ARENA_MAX": "6"}
    assert run_arenas(env) == {"applied": False, "child": "6"}

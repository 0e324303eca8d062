"""The benchmark's memory figure counts a page shared by forked processes once, as the machine holds it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from govledger.bench.footprint import FootprintSampler, resident_file_pages
from govledger.bench.procfs import process_tree

SHARED_MIB = 64
CHILDREN = 3
#: A parent touches 64 MiB, then forks children that only sleep: the pages stay shared, never copied.
FORK_AND_SHARE = f"""
import os, sys, time
block = bytearray({SHARED_MIB} * 1024 * 1024)
for offset in range(0, len(block), 4096):
    block[offset] = 1
for _ in range({CHILDREN}):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
print("ready", flush=True)
time.sleep(60)
"""


@pytest.fixture
def sharing_tree():
    process = subprocess.Popen([sys.executable, "-c", FORK_AND_SHARE], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None and process.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(process_tree(process.pid)) < CHILDREN + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        yield process.pid
    finally:
        for pid in process_tree(process.pid)[1:]:
            subprocess.run(["kill", "-9", str(pid)], check=False)
        process.kill()
        process.wait()


def test_pages_shared_by_forked_processes_count_once(sharing_tree: int):
    sampler = FootprintSampler(sharing_tree, interval=0.05, file_interval=0.05)
    time.sleep(0.3)
    footprint_mib = sampler.stop()
    rss_mib = sampler.max_rss_kib / 1024

    print(f"footprint {footprint_mib:.0f} MiB, summed VmRSS {rss_mib:.0f} MiB, identified {sampler.pages_identified}")
    assert sampler.processes_at_max == CHILDREN + 1
    # Summed VmRSS counts the shared block in all four processes; the footprint once (plus the interpreter).
    assert rss_mib > (CHILDREN + 1) * SHARED_MIB
    assert SHARED_MIB < footprint_mib < 2 * SHARED_MIB


def test_file_backed_pages_of_this_interpreter_are_found():
    numbers, present = resident_file_pages(int(Path("/proc/self/stat").read_text().split()[0]))

    assert present > 100  # libpython and the extension modules are mapped and in use
    assert len(numbers) <= present
    if os.geteuid() == 0:  # page numbers are readable with CAP_SYS_ADMIN, as on the benchmark's machine
        assert len(numbers) > present // 2

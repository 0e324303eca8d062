"""``scripts/bench``: start the stack, measure each row in priority order, print one table.

``--quick`` is a small run (few clients, a few hundred records) that proves the benchmark works in under two
minutes; the default is the full run of issue 7. A row that fails is reported as failed and the other rows
still run, so a partial table is still a table.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from govledger.bench import (
    certificates_issue,
    gas_comparison,
    http_ceiling,
    indexer_catchup,
    memory,
    records_batch,
    records_single,
    verification,
)
from govledger.bench.stack import start_stack
from govledger.bench.table import Row, render
from govledger.bench.web3_baseline import web3_records_per_second


@dataclass(frozen=True)
class Size:
    record_clients: int
    records: int
    batch_clients: int
    #: Enough for a sustained rate: the last batch still waits for its block (0.5-1 s, whatever the load),
    #: which was a third of the row's time with 30 requests.
    batch_requests: int
    issue_clients: int
    certificates: int
    verify_clients: int
    verify_seconds: float
    baseline_seconds: float
    #: Events put on the chain for the indexer row, on top of what the other rows wrote.
    indexer_events: int


QUICK = Size(8, 240, 2, 2, 8, 160, 8, 3, 3, 5_000)
MEDIUM = Size(64, 3200, 4, 24, 32, 1600, 32, 8, 6, 20_000)
FULL = Size(64, 12800, 4, 120, 64, 6400, 32, 15, 10, 100_000)
#: The setting's own upper bound (govledger.config.Settings.api_processes).
MAX_PROCESSES = 64
DEFAULT_PROCESSES = min(os.cpu_count() or 1, 4)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small run, under two minutes (used by the tests)")
    mode.add_argument("--medium", action="store_true", help="a mid-size run, a few minutes")
    parser.add_argument("--keep", type=Path, help="keep the scratch folder (logs, databases) here")
    parser.add_argument(
        "--processes",
        type=int,
        default=DEFAULT_PROCESSES,
        metavar="N",
        help="API processes of govledger serve (GOVLEDGER_API_PROCESSES), plus its one background-worker "
        "process when N > 1. Default: one per core, at most 4 (here %(default)s): the API processes are the "
        "CPU-bound part, the background worker mostly waits on the node, and each process holds a whole "
        "runtime in memory, so more processes than cores only add memory and context switches.",
    )
    args = parser.parse_args(argv)
    if not 1 <= args.processes <= MAX_PROCESSES:
        parser.error(f"--processes must be between 1 and {MAX_PROCESSES}")
    return args


def _row(rows: list[Row], failures: list[str], name: str, measure: Callable[[], Row | list[Row]]) -> None:
    began = time.perf_counter()
    try:
        measured = measure()
        rows.extend(measured if isinstance(measured, list) else [measured])
    except Exception as exc:
        failures.append(f"{name}: {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
    print(f"  {name}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    size = QUICK if args.quick else MEDIUM if args.medium else FULL
    scratch = Path(tempfile.mkdtemp(prefix="govledger-bench-"))
    tag = os.urandom(3).hex()
    rows: list[Row] = []
    failures: list[str] = []
    print(f"starting anvil and govledger serve in {scratch} ...", file=sys.stderr, flush=True)
    stack = start_stack(scratch, rate_limit_per_minute=10_000_000, processes=args.processes)
    try:
        print(f"  serve pid {stack.server.pid}; measuring the web3.py baseline ...", file=sys.stderr, flush=True)
        baseline, _ = web3_records_per_second(
            stack.chain_url, stack.deployment_file, stack.web3_account, size.baseline_seconds
        )
        _row(
            rows,
            failures,
            "records (single)",
            lambda: records_single.measure(
                stack, clients=size.record_clients, records=size.records, baseline_rps=baseline, run_tag=tag
            ),
        )
        _row(
            rows,
            failures,
            "records (batch)",
            lambda: records_batch.measure(
                stack, clients=size.batch_clients, requests=size.batch_requests, baseline_rps=baseline, run_tag=tag
            ),
        )
        issued: list[str] = []

        def issue() -> Row:
            row, ids = certificates_issue.measure(
                stack, clients=size.issue_clients, certificates=size.certificates, run_tag=tag
            )
            issued.extend(ids)
            return row

        _row(rows, failures, "certificate issue", issue)
        _row(rows, failures, "gas vs EAS", lambda: gas_comparison.measure(stack))
        if issued:
            _row(
                rows,
                failures,
                "verification",
                lambda: verification.measure(
                    stack, clients=size.verify_clients, seconds=size.verify_seconds, certificate_ids=issued
                ),
            )
        _row(
            rows,
            failures,
            "HTTP ceiling",
            lambda: http_ceiling.measure(stack, clients=size.verify_clients, seconds=size.verify_seconds),
        )
        _row(
            rows,
            failures,
            "indexer catch-up",
            lambda: indexer_catchup.measure(stack, scratch, events=size.indexer_events, run_tag=tag),
        )
        _row(rows, failures, "service memory", lambda: memory.measure(stack))
    finally:
        stack.close()
        if args.keep:
            shutil.copytree(scratch, args.keep, dirs_exist_ok=True)
        shutil.rmtree(scratch, ignore_errors=True)
    mode = "quick" if args.quick else "medium" if args.medium else "full"
    served = "1 process" if args.processes == 1 else f"{args.processes} API processes + 1 background worker"
    setup = f"nproc {os.cpu_count()}; serve: {served}; anvil 1 s blocks, 30M gas, zero fees"
    print(f"\ngovledger benchmark ({mode}; {setup})\n")
    print(render(rows))
    for failure in failures:
        print(f"FAILED {failure}")
    return 1 if failures else 0

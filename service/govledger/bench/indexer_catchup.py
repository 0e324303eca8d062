"""Row 5: a fresh indexer catching up on N events (100,000 in the full run); events/s.

The earlier rows leave only a few thousand events behind, so ``event_load`` first puts N more real events
on the chain. The service's own indexer follows them as they are mined; the row waits for it to be level
with the chain, so the measurement does not share the CPU with it. Then govledger's own Indexer runs in
this process against a new, empty SQLite database, exactly as a new replica of the service would start,
and catches up on every event of the system contracts from the deployment block to the head.

The detail says where the time went: the share spent in ``eth_getLogs`` (the node's answer and web3's
formatting of every log) against decoding, mapping and storing, which the indexer controls.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from govledger.bench.event_load import LoadedEvents, load_events
from govledger.bench.stack import Stack
from govledger.bench.table import Row
from govledger.chain.client import Chain, LogEntry
from govledger.chain.deploy import Deployment
from govledger.config import load_settings
from govledger.db.engine import create_db_engine
from govledger.db.migrate import upgrade_database
from govledger.indexer import Indexer
from govledger.runtime import connect_chain

#: Longest wait for the service's own indexer to reach the loaded blocks before measuring anyway.
SERVICE_CATCH_UP_SECONDS = 180
_INDEXED = re.compile(r'^govledger_indexed_block\{which="indexed"\} ([0-9.e+]+)$', re.MULTILINE)


class _LogTimer:
    """The chain, with the time spent in ``get_logs`` added up (everything else passes straight through)."""

    def __init__(self, chain: Chain):
        self._chain = chain
        self.seconds = 0.0

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]:
        started = time.perf_counter()
        try:
            return self._chain.get_logs(addresses, from_block, to_block, topics)
        finally:
            self.seconds += time.perf_counter() - started

    def __getattr__(self, name: str) -> Any:
        return getattr(self._chain, name)


def _wait_for_service_indexer(stack: Stack, block: int) -> bool:
    """Wait until ``govledger serve`` has indexed ``block``; False if it had not within the time allowed."""
    deadline = time.monotonic() + SERVICE_CATCH_UP_SECONDS
    while time.monotonic() < deadline:
        try:
            found = _INDEXED.search(httpx.get(f"{stack.api_url}/metrics", timeout=10).text)
        except httpx.HTTPError:
            found = None
        if found is not None and float(found.group(1)) >= block:
            return True
        time.sleep(0.5)
    return False


def measure(stack: Stack, scratch: Path, *, events: int, run_tag: str) -> Row:
    loaded: LoadedEvents = load_events(stack, events, run_tag=run_tag)
    service_level = _wait_for_service_indexer(stack, loaded.last_block)
    url = f"sqlite:///{(scratch / 'indexer-catchup.db').resolve()}"
    upgrade_database(url)
    engine = create_db_engine(url)
    chain = _LogTimer(connect_chain(load_settings(chain_url=stack.chain_url, chain_id=31337)))
    deployment = Deployment.load(stack.deployment_file)
    indexer = Indexer(chain, engine, deployment, confirmations=1, name="bench")
    head = chain.block_number()
    started = time.perf_counter()
    written = indexer.sync_once(to_block=head)
    elapsed = time.perf_counter() - started
    engine.dispose()
    blocks = head - deployment.start_block + 1
    quiet = "" if service_level else "; the service's own indexer was still catching up"
    return Row(
        what="indexer catching up from an empty database (events/s)",
        figure=written / elapsed,
        unit="events/s",
        baseline=None,
        baseline_label="",
        target="≥ 5,000 events/s (on 100,000 events)",
        detail=(
            f"{written:,} events over {blocks:,} blocks in {elapsed:.1f} s, of which {loaded.events:,} loaded "
            f"for this row into {loaded.blocks:,} blocks ({loaded.seconds:.0f} s); eth_getLogs "
            f"{chain.seconds / elapsed:.0%} of the time, decoding and storing the rest{quiet}"
        ),
    )

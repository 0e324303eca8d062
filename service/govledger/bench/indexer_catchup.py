"""Row 5: a fresh indexer catching up on every event the earlier rows put on the chain; events/s.

It runs govledger's own Indexer in this process against a new, empty SQLite database, exactly as a new
replica of the service would start; the chain is the bench's anvil with everything the other rows wrote.
"""

from __future__ import annotations

import time
from pathlib import Path

from govledger.bench.stack import Stack
from govledger.bench.table import Row
from govledger.chain.deploy import Deployment
from govledger.config import load_settings
from govledger.db.engine import create_db_engine
from govledger.db.migrate import upgrade_database
from govledger.indexer import Indexer
from govledger.runtime import connect_chain


def measure(stack: Stack, scratch: Path) -> Row:
    url = f"sqlite:///{(scratch / 'indexer-catchup.db').resolve()}"
    upgrade_database(url)
    engine = create_db_engine(url)
    chain = connect_chain(load_settings(chain_url=stack.chain_url, chain_id=31337))
    indexer = Indexer(chain, engine, Deployment.load(stack.deployment_file), confirmations=1, name="bench")
    head = chain.block_number()
    started = time.perf_counter()
    events = indexer.sync_once(to_block=head)
    elapsed = time.perf_counter() - started
    engine.dispose()
    return Row(
        what="indexer catching up from an empty database (events/s)",
        figure=events / elapsed,
        unit="events/s",
        baseline=None,
        baseline_label="",
        target="≥ 5,000 events/s (on 100,000 events)",
        detail=f"{events:,} events over {head:,} blocks in {elapsed:.2f} s",
    )

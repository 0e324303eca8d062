"""Rebuild the index of one chain from the chain alone: forget every row, then index from the deployment.

For when the index cannot be trusted any more (an integrity check found altered or extra rows, a
restore from an old backup). The rows, block hashes and checkpoint of the chain are deleted in one
transaction, so a service indexing at the same time notices its checkpoint moved and starts over too
(``indexer.store``'s compare-and-set); then the index is read again from ``deployment.start_block``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, delete

from govledger.chain.client import Chain
from govledger.chain.deploy import Deployment
from govledger.db.engine import session_scope
from govledger.db.models import ChainEvent, IndexedBlock, IndexerCheckpoint
from govledger.errors import GovLedgerError
from govledger.indexer import Indexer

#: Passes of the indexer before giving up on reaching the head (each pass already retries its windows).
MAX_PASSES = 10


def rebuild_index(
    chain: Chain,
    engine: Engine,
    deployment: Deployment,
    *,
    confirmations: int,
    name: str = "main",
    progress: Callable[[int], Any] | None = None,
) -> int:
    """Delete chain ``chain``'s index and checkpoint ``name``, index it again up to the head; return the rows."""
    with session_scope(engine) as session:
        session.execute(delete(ChainEvent).where(ChainEvent.chain_id == chain.chain_id))  # type: ignore[arg-type]
        session.execute(delete(IndexedBlock).where(IndexedBlock.chain_id == chain.chain_id))  # type: ignore[arg-type]
        session.execute(delete(IndexerCheckpoint).where(IndexerCheckpoint.name == name))  # type: ignore[arg-type]
    indexer = Indexer(chain, engine, deployment, confirmations=confirmations, name=name)
    target = chain.block_number()
    if target < deployment.start_block:
        return 0
    written = 0
    for _ in range(MAX_PASSES):
        written += indexer.sync_once(to_block=target)
        checkpoint = indexer.checkpoint()
        if progress is not None and checkpoint is not None:
            progress(checkpoint.number)
        if checkpoint is not None and checkpoint.number >= target:
            return written
    raise GovLedgerError(f"the index did not reach block {target} after {MAX_PASSES} passes; run the rebuild again")

"""Chain events into SQL: the indexer (windows, checkpoints, re-orgs), its event mapping and finality helpers.

indexer    Indexer.sync_once / run, start_in_background
window     the adaptive eth_getLogs block range
mapping    decoded event -> chain_events row (department, subject, action_seq, JSON args)
store      one transaction per window: rows, block hashes, checkpoint; re-org rewinds
finality   final block number and queries of final events for the API
"""

from govledger.indexer.finality import EventFilter, final_block_number, final_events, indexed_final_block
from govledger.indexer.indexer import BackgroundIndexer, Indexer, start_in_background
from govledger.indexer.store import BlockRef

__all__ = [
    "BackgroundIndexer",
    "BlockRef",
    "EventFilter",
    "Indexer",
    "final_block_number",
    "final_events",
    "indexed_final_block",
    "start_in_background",
]

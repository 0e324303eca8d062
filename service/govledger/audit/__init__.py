"""Auditing: the ledger's history from the index, proven complete and checked against the chain.

subjects      readable subject labels (``record R-0001``) and subject filters
cursor        the opaque keyset cursor of the history API
filters       history/export filters and their SQL conditions
queries       keyset pages of events, in chain order, and the event shown to auditors
timeline      which events make up one subject's story
completeness  each department's action sequence numbers against Consortium.actionCount
activity      events per day and department
export        CSV and JSON Lines, streamed page by page
integrity     the index compared with the logs re-read from the node
rebuild       the index rebuilt from the chain alone
offline       the indexed chain and its final block from the database alone
synthetic     bulk synthetic rows for benchmarks and memory tests
service       ``Auditor``: the above tied to one chain, deployment and indexer
"""

from govledger.audit.filters import EventFilters
from govledger.audit.service import Auditor, EventPage

__all__ = ["Auditor", "EventFilters", "EventPage"]

"""Direct access to the database of a ``govledger serve`` subprocess, for what the API does not show.

The reliability tests compare the index (``chain_events``, the checkpoint, the stored block hashes) row by
row with the chain, and they need an auditor API key; both are read or written here, in the service's own
database, while the service keeps running (SQLite in WAL mode and PostgreSQL both allow that).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, select

from govledger.apikeys import create_api_key
from govledger.bench.stack import Stack
from govledger.db.engine import create_db_engine, session_scope
from govledger.db.models import ChainEvent, IndexedBlock, IndexerCheckpoint


def service_engine(stack: Stack) -> Engine:
    """An engine on the database the stack's service uses (its SQLite file unless a URL was given)."""
    url = stack.env.get("GOVLEDGER_DATABASE_URL") or f"sqlite:///{stack.workdir / 'data' / 'govledger.db'}"
    return create_db_engine(url)


def auditor_key(engine: Engine, department: str) -> str:
    """A new API key with the auditor role, as ``govledger apikeys create --role auditor`` makes one."""
    plaintext, _ = create_api_key(engine, department, "auditor", "reliability test auditor")
    return plaintext


@dataclass(frozen=True)
class IndexState:
    """What the indexer has stored: its checkpoint, its event keys and the block hashes it kept."""

    checkpoint: tuple[int, str] | None
    events: frozenset[tuple[str, int, int, str]]  # (tx_hash, log_index, block_number, block_hash)
    block_hashes: dict[int, str]


def index_state(engine: Engine, name: str = "main") -> IndexState:
    with session_scope(engine, read_only=True) as session:
        checkpoint = session.execute(select(IndexerCheckpoint).where(IndexerCheckpoint.name == name)).scalar()
        rows = session.execute(
            select(ChainEvent.tx_hash, ChainEvent.log_index, ChainEvent.block_number, ChainEvent.block_hash)
        ).all()
        blocks = session.execute(select(IndexedBlock.block_number, IndexedBlock.block_hash)).all()
    return IndexState(
        checkpoint=(checkpoint.block_number, checkpoint.block_hash) if checkpoint is not None else None,
        events=frozenset((str(tx).lower(), int(i), int(n), str(h).lower()) for tx, i, n, h in rows),
        block_hashes={int(n): str(h).lower() for n, h in blocks},
    )

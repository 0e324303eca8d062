"""Reading the index without a node: which chain it holds and how far it is final, from the database alone.

``govledger audit export`` works from the database (or a copy of it) only; these answers are
conservative so that an export never calls final what the chain might still replace.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import col

from govledger.chain.deploy import Deployment
from govledger.db.engine import session_scope
from govledger.db.models import IndexerCheckpoint
from govledger.errors import ConfigurationError


def offline_final_block(engine: Engine, *, chain_id: int, name: str, confirmations: int) -> int:
    """The checkpoint less the confirmations (the head is at least the checkpoint); -1 before any window."""
    with session_scope(engine, read_only=True) as session:
        checkpoint = session.execute(
            select(col(IndexerCheckpoint.block_number)).where(
                col(IndexerCheckpoint.name) == name, col(IndexerCheckpoint.chain_id) == chain_id
            )
        ).scalar()
    return -1 if checkpoint is None else int(checkpoint) - confirmations + 1


def indexed_chain_id(engine: Engine, deployment_file: Path) -> int:
    """The deployment record's chain, else the one chain the index holds."""
    if deployment_file.exists():
        return Deployment.load(deployment_file).chain_id
    with session_scope(engine, read_only=True) as session:
        chain_ids = set(session.execute(select(col(IndexerCheckpoint.chain_id))).scalars())
    if len(chain_ids) != 1:
        raise ConfigurationError(
            f"no deployment record at {deployment_file}, and the index holds {len(chain_ids)} chains; "
            "set GOVLEDGER_DEPLOYMENT_FILE"
        )
    return int(chain_ids.pop())

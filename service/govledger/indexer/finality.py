"""Which indexed events are final: at least ``confirmations`` blocks deep, so no re-org can remove them.

Rows above the final block are shown as pending, never as settled facts: a re-org may still replace
them (the indexer then deletes them). These helpers are what the API and the audit views use to read
``chain_events`` with that distinction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Engine, and_, or_, select
from sqlmodel import col

from govledger.db.engine import session_scope
from govledger.db.models import ChainEvent, IndexerCheckpoint
from govledger.errors import ValidationError

DEFAULT_EVENT_LIMIT = 100
MAX_EVENT_LIMIT = 1000


def final_block_number(head: int, confirmations: int) -> int:
    """The highest final block when the chain head is ``head``: the head itself counts as one confirmation."""
    if confirmations < 1:
        raise ValidationError(f"confirmations must be at least 1, got {confirmations}")
    return head - confirmations + 1


def indexed_final_block(engine: Engine, *, name: str, head: int, confirmations: int) -> int | None:
    """The highest block that is both final and indexed by indexer ``name`` (None before its first window).

    Absence of an event is only trustworthy up to this block: above it, the indexer has not looked yet or
    the block may still be replaced.
    """
    with session_scope(engine, read_only=True) as session:
        checkpoint = session.execute(
            select(col(IndexerCheckpoint.block_number)).where(col(IndexerCheckpoint.name) == name)
        ).scalar()
    if checkpoint is None:
        return None
    return min(int(checkpoint), final_block_number(head, confirmations))


@dataclass(frozen=True)
class EventFilter:
    """Which events to read; None means any."""

    chain_id: int
    department: str | None = None
    subject_id: str | None = None
    event_names: Sequence[str] | None = None
    contract_name: str | None = None
    #: Page cursor: only events after this (block_number, log_index) position.
    after: tuple[int, int] | None = None


def final_events(
    engine: Engine, event_filter: EventFilter, *, final_block: int, limit: int = DEFAULT_EVENT_LIMIT
) -> list[ChainEvent]:
    """Final events matching ``event_filter``, oldest first (block, then log index)."""
    if not 1 <= limit <= MAX_EVENT_LIMIT:
        raise ValidationError(f"limit must be between 1 and {MAX_EVENT_LIMIT}, got {limit}")
    query = select(ChainEvent).where(
        col(ChainEvent.chain_id) == event_filter.chain_id, col(ChainEvent.block_number) <= final_block
    )
    if event_filter.department is not None:
        query = query.where(col(ChainEvent.department) == event_filter.department)
    if event_filter.subject_id is not None:
        query = query.where(col(ChainEvent.subject_id) == event_filter.subject_id)
    if event_filter.event_names is not None:
        query = query.where(col(ChainEvent.event_name).in_(list(event_filter.event_names)))
    if event_filter.contract_name is not None:
        query = query.where(col(ChainEvent.contract_name) == event_filter.contract_name)
    if event_filter.after is not None:
        block, log_index = event_filter.after
        query = query.where(
            or_(
                col(ChainEvent.block_number) > block,
                and_(col(ChainEvent.block_number) == block, col(ChainEvent.log_index) > log_index),
            )
        )
    query = query.order_by(col(ChainEvent.block_number), col(ChainEvent.log_index)).limit(limit)
    with session_scope(engine, read_only=True) as session:
        return list(session.execute(query).scalars().all())

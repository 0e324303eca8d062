"""Reading indexed events in pages: the keyset read behind the history API, timelines and exports.

Every read is ordered by (block_number, log_index), the order of the chain itself, and a page starts
strictly after the previous page's last position. The position condition is written as
``block_number >= b AND (block_number > b OR log_index > l)``: the first half is an index range on both
SQLite and PostgreSQL, so a page a million events deep starts as fast as the first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, RowMapping, and_, func, or_, select

from govledger.audit.cursor import Position
from govledger.audit.filters import EVENTS
from govledger.audit.subjects import subject_label
from govledger.db.engine import session_scope
from govledger.errors import ValidationError

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
#: Rows per read while streaming an export or walking a range: large enough to amortise a query.
STREAM_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page:
    """One page of events and where the next one starts (None: nothing more matched when it was read)."""

    rows: list[RowMapping]
    next_position: Position | None


def after(position: Position) -> ColumnElement[bool]:
    """Events strictly after ``position`` in chain order."""
    block_number, log_index = position
    return and_(
        EVENTS.c.block_number >= block_number,
        or_(EVENTS.c.block_number > block_number, EVENTS.c.log_index > log_index),
    )


def read_page(
    engine: Engine, conditions: Sequence[ColumnElement[bool]], *, start_after: Position | None, limit: int
) -> Page:
    """Up to ``limit`` events matching all ``conditions``, in chain order, after ``start_after``."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
    query = select(EVENTS).where(*conditions)
    if start_after is not None:
        query = query.where(after(start_after))
    # One row more than asked tells whether another page exists without a second query.
    query = query.order_by(EVENTS.c.block_number, EVENTS.c.log_index).limit(limit + 1)
    with session_scope(engine, read_only=True) as session:
        rows = list(session.execute(query).mappings().all())
    if len(rows) <= limit:
        return Page(rows, None)
    rows = rows[:limit]
    return Page(rows, (int(rows[-1]["block_number"]), int(rows[-1]["log_index"])))


def iter_pages(
    engine: Engine,
    conditions: Sequence[ColumnElement[bool]],
    *,
    start_after: Position | None = None,
    page_size: int = STREAM_PAGE_SIZE,
) -> Iterator[list[RowMapping]]:
    """Every matching event, one page at a time: memory holds one page, whatever the range."""
    position = start_after
    while True:
        page = read_page(engine, conditions, start_after=position, limit=page_size)
        if page.rows:
            yield page.rows
        if page.next_position is None:
            return
        position = page.next_position


def count_events(engine: Engine, conditions: Sequence[ColumnElement[bool]]) -> int:
    """How many events match (for progress bars; the history API itself never counts)."""
    with session_scope(engine, read_only=True) as session:
        return int(session.execute(select(func.count()).select_from(EVENTS).where(*conditions)).scalar_one())


def event_public(row: RowMapping, final_block: int) -> dict[str, Any]:
    """One event as the audit API shows it: decoded arguments, anchor, readable subject, finality."""
    timestamp = row["block_timestamp"]
    return {
        "chain_id": row["chain_id"],
        "contract": row["contract_name"],
        "contract_address": row["contract_address"],
        "event": row["event_name"],
        "department": row["department"],
        "subject": row["subject_id"],
        "subject_label": subject_label(row["subject_id"]),
        "action_seq": row["action_seq"],
        "args": json.loads(row["args_json"]),
        "block_number": row["block_number"],
        "block_hash": row["block_hash"],
        "tx_hash": row["tx_hash"],
        "log_index": row["log_index"],
        "block_time": datetime.fromtimestamp(timestamp, UTC).isoformat() if timestamp is not None else None,
        "final": row["block_number"] <= final_block,
    }

"""The filters of the history API and of exports, and their SQL conditions on ``chain_events``.

Filters combine with AND; several values of one filter (``event=A,B``) combine with OR. A time range is
turned into a block range first, through the block-timestamp index, because block timestamps never
decrease along a chain: the query then reads the (…, block_number, log_index) indexes as a range
instead of checking the time of every row. The time condition itself is kept as well, so the answer
stays exact even on a chain whose clock went backwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, false, func, select

from govledger.audit.subjects import parse_subject
from govledger.db.engine import session_scope
from govledger.db.models import ChainEvent
from govledger.errors import ValidationError

_ADDRESS = re.compile(r"^0[xX][0-9a-fA-F]{40}$")
EVENTS: Any = ChainEvent.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class EventFilters:
    """Which events to read; empty or None means any. Times are Unix seconds: from inclusive, to exclusive."""

    events: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    contracts: tuple[str, ...] = ()
    subject: str | None = None
    from_block: int | None = None
    to_block: int | None = None
    from_time: int | None = None
    to_time: int | None = None

    @classmethod
    def parse(
        cls,
        *,
        events: Iterable[str] | None = None,
        departments: Iterable[str] | None = None,
        contracts: Iterable[str] | None = None,
        subject: str | None = None,
        from_block: int | None = None,
        to_block: int | None = None,
        from_time: str | None = None,
        to_time: str | None = None,
    ) -> EventFilters:
        """Filters as a client writes them: repeated or comma-separated values, subject ``kind:id``, ISO times."""
        return cls(
            events=split_values(events),
            departments=split_values(departments),
            contracts=_checked_contracts(split_values(contracts)),
            subject=parse_subject(subject) if subject else None,
            from_block=from_block,
            to_block=to_block,
            from_time=parse_time(from_time) if from_time else None,
            to_time=parse_time(to_time) if to_time else None,
        )


def _checked_contracts(contracts: tuple[str, ...]) -> tuple[str, ...]:
    """Names pass as they are; a value written as an address must be one, or the filter would silently match nothing."""
    for contract in contracts:
        if contract.lower().startswith("0x") and not _ADDRESS.match(contract):
            raise ValidationError(
                f"{contract[:50]!r} is not a contract address (0x and 40 hex digits)", code="invalid_address"
            )
    return contracts


def split_values(values: Iterable[str] | None) -> tuple[str, ...]:
    """``["A,B", "C"]`` -> ``("A", "B", "C")``, without blanks or repeats."""
    result: list[str] = []
    for value in values or ():
        for part in value.split(","):
            if part.strip() and part.strip() not in result:
                result.append(part.strip())
    return tuple(result)


def parse_time(text: str) -> int:
    """Unix seconds from ISO 8601 (a date, or a date-time; UTC unless it carries an offset) or from seconds."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        if len(text) == 10:
            parsed = datetime.combine(date.fromisoformat(text), datetime.min.time())
        else:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{text!r} is not an ISO 8601 date or date-time, nor Unix seconds") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def filter_conditions(engine: Engine, chain_id: int, filters: EventFilters) -> list[ColumnElement[bool]]:
    """The WHERE conditions for ``filters`` on chain ``chain_id`` (one that matches nothing if the range is empty)."""
    conditions: list[ColumnElement[bool]] = [EVENTS.c.chain_id == chain_id]
    conditions += _one_of(EVENTS.c.event_name, filters.events)
    conditions += _one_of(EVENTS.c.department, filters.departments)
    conditions += _contract_conditions(filters.contracts)
    if filters.subject is not None:
        conditions.append(EVENTS.c.subject_id == filters.subject)
    from_block, to_block = filters.from_block, filters.to_block
    if filters.from_time is not None or filters.to_time is not None:
        first, last = _blocks_in_time_range(engine, chain_id, filters.from_time, filters.to_time)
        if first is None or last is None:
            return [*conditions, false()]
        from_block = first if from_block is None else max(from_block, first)
        to_block = last if to_block is None else min(to_block, last)
        if filters.from_time is not None:
            conditions.append(EVENTS.c.block_timestamp >= filters.from_time)
        if filters.to_time is not None:
            conditions.append(EVENTS.c.block_timestamp < filters.to_time)
    if from_block is not None:
        conditions.append(EVENTS.c.block_number >= from_block)
    if to_block is not None:
        conditions.append(EVENTS.c.block_number <= to_block)
    return conditions


def _one_of(column: Any, values: Sequence[str]) -> list[ColumnElement[bool]]:
    if not values:
        return []
    # A single value as "=": some planners only use a composite index's order for an equality.
    return [column == values[0]] if len(values) == 1 else [column.in_(values)]


def _contract_conditions(contracts: Sequence[str]) -> list[ColumnElement[bool]]:
    if not contracts:
        return []
    addresses = [c.lower() for c in contracts if c.lower().startswith("0x")]
    names = [c for c in contracts if not c.lower().startswith("0x")]
    matches = []
    if names:
        matches.append(EVENTS.c.contract_name.in_(names))
    if addresses:
        matches.append(func.lower(EVENTS.c.contract_address).in_(addresses))
    return [matches[0] if len(matches) == 1 else matches[0] | matches[1]]


def _blocks_in_time_range(
    engine: Engine, chain_id: int, from_time: int | None, to_time: int | None
) -> tuple[int | None, int | None]:
    """The first and last indexed block inside [from_time, to_time), or None when no event falls inside."""
    timestamp, block = EVENTS.c.block_timestamp, EVENTS.c.block_number
    with session_scope(engine, read_only=True) as session:
        first: int | None = 0
        last: int | None = 2**63 - 1
        if from_time is not None:
            first = session.execute(
                select(block)
                .where(EVENTS.c.chain_id == chain_id, timestamp >= from_time)
                .order_by(timestamp, block)
                .limit(1)
            ).scalar()
        if to_time is not None:
            last = session.execute(
                select(block)
                .where(EVENTS.c.chain_id == chain_id, timestamp < to_time)
                .order_by(timestamp.desc(), block.desc())
                .limit(1)
            ).scalar()
    return first, last

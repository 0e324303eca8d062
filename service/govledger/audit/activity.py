"""Events per day and department over the last days, for the auditor console's activity chart.

Days are UTC calendar days of the block timestamps; a department with no event on a day counts 0 there.
Events not attributed to a department (contract-wide settings) are left out.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from govledger.audit.filters import EVENTS
from govledger.db.engine import session_scope
from govledger.errors import ValidationError

SECONDS_PER_DAY = 86_400
MAX_DAYS = 366


def daily_activity(engine: Engine, chain_id: int, days: int, *, today: date | None = None) -> dict[str, Any]:
    """``{"days": [ISO dates, oldest first], "series": [{"department", "counts": [per day]}]}``."""
    if not 1 <= days <= MAX_DAYS:
        raise ValidationError(f"days must be between 1 and {MAX_DAYS}, got {days}")
    last_day = today or datetime.now(UTC).date()
    first_day = last_day - timedelta(days=days - 1)
    first_epoch_day = (first_day - date(1970, 1, 1)).days
    day = (EVENTS.c.block_timestamp // SECONDS_PER_DAY).label("day")
    query = (
        select(EVENTS.c.department, day, func.count())
        .where(
            EVENTS.c.chain_id == chain_id,
            EVENTS.c.block_timestamp >= first_epoch_day * SECONDS_PER_DAY,
            EVENTS.c.block_timestamp < (first_epoch_day + days) * SECONDS_PER_DAY,
            EVENTS.c.department.is_not(None),
        )
        .group_by(EVENTS.c.department, day)
    )
    counts: dict[str, list[int]] = {}
    with session_scope(engine, read_only=True) as session:
        for department, epoch_day, count in session.execute(query):
            counts.setdefault(str(department), [0] * days)[int(epoch_day) - first_epoch_day] = int(count)
    return {
        "days": [(first_day + timedelta(days=offset)).isoformat() for offset in range(days)],
        "series": [{"department": department, "counts": counts[department]} for department in sorted(counts)],
    }

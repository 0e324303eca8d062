"""Is every action of a department in the index? Its action sequence numbers, compared with the chain.

Every state change a department makes, in any system contract, carries the next number of that
department's counter (``actionSeq``), and ``Consortium.actionCount(dept)`` is the counter's value. So
the index is complete for a department up to block B exactly when it holds each of 1..actionCount(dept)
at block B once. Counting only the numbers in 1..N makes the check independent of events indexed after
B (their numbers are above N), so it needs no snapshot of the database.

The common case, a complete index, costs one aggregate over the (chain_id, department, action_seq)
index; gaps and duplicates are looked for only when the counts say there are some.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select

from govledger.audit.filters import EVENTS
from govledger.db.engine import session_scope

#: The most missing or duplicate numbers listed in one answer; the counts are always exact.
MAX_LISTED = 1000


@dataclass(frozen=True)
class Completeness:
    department: str
    action_count_on_chain: int
    indexed_actions: int
    last_action_seq: int
    missing: list[int] = field(default_factory=list)
    missing_count: int = 0
    duplicates: list[int] = field(default_factory=list)
    checked_through_block: int = 0

    @property
    def complete(self) -> bool:
        return self.missing_count == 0 and not self.duplicates

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "complete": self.complete}


def check_sequence(
    engine: Engine, chain_id: int, department: str, action_count: int, *, checked_through_block: int
) -> Completeness:
    """Compare the department's indexed action numbers with 1..``action_count`` (its count on chain)."""
    seq = EVENTS.c.action_seq
    in_range = (
        EVENTS.c.chain_id == chain_id,
        EVENTS.c.department == department,
        seq >= 1,
        seq <= action_count,
    )
    with session_scope(engine, read_only=True) as session:
        rows, distinct, last = session.execute(
            select(func.count(seq), func.count(seq.distinct()), func.coalesce(func.max(seq), 0)).where(*in_range)
        ).one()
        duplicates: list[int] = []
        if rows > distinct:
            duplicates = [
                int(value)
                for value in session.execute(
                    select(seq).where(*in_range).group_by(seq).having(func.count() > 1).order_by(seq).limit(MAX_LISTED)
                ).scalars()
            ]
        missing: list[int] = []
        if distinct < action_count:
            missing = _missing_numbers(session, in_range, action_count)
    return Completeness(
        department=department,
        action_count_on_chain=action_count,
        indexed_actions=int(distinct),
        last_action_seq=int(last),
        missing=missing,
        missing_count=action_count - int(distinct),
        duplicates=duplicates,
        checked_through_block=checked_through_block,
    )


def _missing_numbers(session: Any, in_range: tuple[Any, ...], action_count: int) -> list[int]:
    """The first ``MAX_LISTED`` numbers of 1..action_count absent from the index, from the gaps between rows."""
    seq = EVENTS.c.action_seq
    present = select(seq.label("seq")).where(*in_range).distinct().subquery()
    with_previous = select(
        present.c.seq, func.lag(present.c.seq, 1, 0).over(order_by=present.c.seq).label("previous")
    ).subquery()
    gaps = session.execute(
        select(with_previous.c.previous, with_previous.c.seq)
        .where(with_previous.c.seq - with_previous.c.previous > 1)
        .order_by(with_previous.c.seq)
        .limit(MAX_LISTED)
    ).all()
    last = session.execute(select(func.coalesce(func.max(seq), 0)).where(*in_range)).scalar_one()
    # Each gap is (previous present number, next present number); the tail after the last one is a gap too.
    ranges = [(int(previous) + 1, int(following)) for previous, following in gaps] + [(int(last) + 1, action_count + 1)]
    missing: list[int] = []
    for start, stop in ranges:
        missing.extend(range(start, min(stop, start + MAX_LISTED - len(missing))))
        if len(missing) >= MAX_LISTED:
            break
    return missing

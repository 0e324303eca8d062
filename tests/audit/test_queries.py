"""The audit queries on synthetic indexes, on SQLite and PostgreSQL: keyset pages, filters, completeness."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, select, update

from govledger.audit.completeness import MAX_LISTED, check_sequence
from govledger.audit.cursor import decode_cursor, encode_cursor
from govledger.audit.filters import EVENTS, EventFilters, filter_conditions, parse_time
from govledger.audit.queries import iter_pages, read_page
from govledger.audit.subjects import parse_subject, subject_label
from govledger.audit.synthetic import FIRST_TIMESTAMP, SECONDS_PER_BLOCK, insert_rows, synthetic_rows
from govledger.db.engine import session_scope
from govledger.errors import ValidationError
from govledger.shortids import short_id_hex

CHAIN = 31337
ROWS = 3000


@pytest.fixture
def indexed(migrated_engine: Engine) -> Engine:
    insert_rows(migrated_engine, synthetic_rows(ROWS, chain_id=CHAIN))
    return migrated_engine


def positions(engine: Engine, *conditions) -> list[tuple[int, int]]:
    with session_scope(engine, read_only=True) as session:
        rows = session.execute(select(EVENTS.c.block_number, EVENTS.c.log_index).where(*conditions)
                               .order_by(EVENTS.c.block_number, EVENTS.c.log_index)).all()
    return [(int(b), int(i)) for b, i in rows]


def walk(engine: Engine, filters: EventFilters, limit: int) -> list[tuple[int, int]]:
    conditions = filter_conditions(engine, CHAIN, filters)
    return [(r["block_number"], r["log_index"]) for page in iter_pages(engine, conditions, page_size=limit)
            for r in page]


def test_pages_walk_every_matching_event_once_in_chain_order(indexed: Engine):
    assert walk(indexed, EventFilters(), 97) == positions(indexed, EVENTS.c.chain_id == CHAIN)
    department = walk(indexed, EventFilters(departments=("CS-MSA",)), 50)
    assert department == positions(indexed, EVENTS.c.department == "CS-MSA")
    several = walk(indexed, EventFilters(events=("DataUseLogged", "GrantIssued"), departments=("CS-DRB", "CS-EDU")),
                   13)
    assert several == positions(indexed, EVENTS.c.event_name.in_(["DataUseLogged", "GrantIssued"]),
                                EVENTS.c.department.in_(["CS-DRB", "CS-EDU"]))
    one_by_one = iter_pages(indexed, filter_conditions(indexed, CHAIN, EventFilters()), page_size=1)
    assert [next(one_by_one)[0]["block_number"] for _ in range(5)] == [1, 1, 1, 1, 2]


def test_events_indexed_between_pages_are_read_once_and_in_order(indexed: Engine):
    conditions = filter_conditions(indexed, CHAIN, EventFilters())
    first = read_page(indexed, conditions, start_after=None, limit=1000)
    # The indexer appends the next blocks between two requests.
    insert_rows(indexed, synthetic_rows(500, chain_id=CHAIN, seed=99, first_block=10_000))
    rest = [(r["block_number"], r["log_index"]) for page in iter_pages(indexed, conditions,
                                                                      start_after=first.next_position) for r in page]
    seen = [(r["block_number"], r["log_index"]) for r in first.rows] + rest
    assert len(seen) == len(set(seen)) == ROWS + 500
    assert seen == positions(indexed)


def test_a_time_range_keeps_events_from_its_start_up_to_but_not_including_its_end(indexed: Engine):
    start, end = FIRST_TIMESTAMP + 100 * SECONDS_PER_BLOCK, FIRST_TIMESTAMP + 200 * SECONDS_PER_BLOCK
    found = walk(indexed, EventFilters(from_time=start, to_time=end), 100)
    assert found == positions(indexed, EVENTS.c.block_timestamp >= start, EVENTS.c.block_timestamp < end)
    assert found[0][0] == 101 and found[-1][0] == 200
    narrowed = walk(indexed, EventFilters(from_time=start, to_time=end, from_block=150, to_block=400), 100)
    assert {block for block, _ in narrowed} == set(range(150, 201))
    assert walk(indexed, EventFilters(from_time=FIRST_TIMESTAMP + 10**8), 100) == []
    assert walk(indexed, EventFilters(to_time=FIRST_TIMESTAMP), 100) == []


def test_a_complete_sequence_is_reported_complete_and_gaps_and_repeats_exactly(indexed: Engine):
    with session_scope(indexed, read_only=True) as session:
        count = session.execute(select(EVENTS.c.action_seq).where(EVENTS.c.department == "CS-HRSS")
                                .order_by(EVENTS.c.action_seq.desc()).limit(1)).scalar_one()
    complete = check_sequence(indexed, CHAIN, "CS-HRSS", count, checked_through_block=999)
    assert complete.complete and complete.indexed_actions == complete.last_action_seq == count

    with session_scope(indexed) as session:
        session.execute(delete(EVENTS).where(EVENTS.c.department == "CS-HRSS", EVENTS.c.action_seq.in_([1, 7, 8])))
        session.execute(update(EVENTS).where(EVENTS.c.department == "CS-HRSS", EVENTS.c.action_seq == 20)
                        .values(action_seq=21))
    # The chain counts two more actions than were indexed at the end, too.
    report = check_sequence(indexed, CHAIN, "CS-HRSS", count + 2, checked_through_block=999)
    assert report.missing == [1, 7, 8, 20, count + 1, count + 2]
    assert report.missing_count == 6 and report.duplicates == [21]
    assert report.indexed_actions == count - 4 and not report.complete
    assert report.to_dict()["complete"] is False
    # Actions the chain had not counted yet (indexed after the checked block) do not count as extra.
    assert check_sequence(indexed, CHAIN, "CS-HRSS", 5, checked_through_block=10).missing == [1]


def test_a_long_gap_is_counted_in_full_and_listed_in_part(migrated_engine: Engine):
    report = check_sequence(migrated_engine, CHAIN, "CS-DRB", 5000, checked_through_block=1)
    assert report.missing_count == 5000 and report.missing == list(range(1, MAX_LISTED + 1))


def test_cursors_round_trip_and_forged_ones_are_refused():
    assert decode_cursor(encode_cursor((123456, 7))) == (123456, 7)
    for forged in ("", "abc", encode_cursor((1, 2))[:-2] + "zz", "ZXYxOi0xOjA"):
        with pytest.raises(ValidationError):
            decode_cursor(forged)


def test_subjects_read_as_people_name_them():
    record = "record:" + short_id_hex("R-0001")
    assert subject_label(record) == "record R-0001"
    assert parse_subject("record:R-0001") == record == parse_subject(record.upper().replace("RECORD:0X", "record:0x"))
    assert subject_label("batch:0x" + "ab" * 32) == "batch 0xabababab…abab"
    assert subject_label("proposal:12") == "proposal 12" and subject_label(None) is None
    assert subject_label("department:CS-MSA") == "department CS-MSA"
    for bad in ("record", "planet:X", "proposal:one", "batch:R-1"):
        with pytest.raises(ValidationError):
            parse_subject(bad)


def test_times_are_read_as_iso_dates_date_times_or_unix_seconds():
    assert parse_time("1970-01-02") == 86400
    assert parse_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_time("1970-01-01T00:00:10Z") == parse_time("1970-01-01T00:00:10") == parse_time("10") == 10
    with pytest.raises(ValidationError):
        parse_time("last tuesday")

"""Padded IN lists: a few statement lengths, and the same rows as the list itself."""

from __future__ import annotations

import sqlalchemy

from govledger.db.engine import create_db_engine
from govledger.db.in_lists import padded


def test_lengths_are_powers_of_two_filled_with_the_last_value():
    assert padded([]) == []
    assert padded(["a"]) == ["a"]
    assert padded(["a", "b", "c"]) == ["a", "b", "c", "c"]
    assert padded(range(4)) == [0, 1, 2, 3]
    assert len(padded(range(1000))) == 1024
    assert {len(padded(range(n))) for n in range(1, 1025)} == {2**k for k in range(11)}


def test_a_padded_list_selects_the_same_rows(database_url: str):
    engine = create_db_engine(database_url)
    table = sqlalchemy.table("padded_demo", sqlalchemy.column("id"))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE padded_demo (id VARCHAR PRIMARY KEY)")
            connection.exec_driver_sql("INSERT INTO padded_demo VALUES ('a'), ('b'), ('c'), ('d'), ('e')")
            for wanted in (["a"], ["a", "c", "e"], ["b", "x", "d", "y", "e"]):
                query = sqlalchemy.select(table.c.id).where(table.c.id.in_(padded(wanted))).order_by(table.c.id)
                assert [row.id for row in connection.execute(query)] == sorted(set(wanted) & set("abcde"))
    finally:
        engine.dispose()

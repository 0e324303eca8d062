"""``IN`` lists padded to a few lengths, so that a query prepares a few statements instead of one per length.

SQLite's driver keeps each connection's last 128 prepared statements, and an ``IN`` list with an expanding
parameter is a different statement for every length of list. Lookups of up to 1,000 ids, whose lengths vary
from request to request, filled the cache of every connection that served them with large near-copies:
measured in the benchmark, 15 MB of SQLite's memory in one API process after the single-record row, against
1.5 MB with the cache cut to 8 statements. Repeating the last value up to the next power of two changes no
``IN`` test's result and leaves at most 11 lengths up to 1,024.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")


def padded(values: Iterable[T]) -> list[T]:
    """``values`` as a list whose length is a power of two, the last value repeated to fill it."""
    listed = list(values)
    if len(listed) < 2:
        return listed
    size = 1 << (len(listed) - 1).bit_length()
    return listed + [listed[-1]] * (size - len(listed))

"""A service process's heap: the garbage collector kept off start-up objects, and malloc's arenas capped.

A govledger process holds ~170,000 long-lived objects after start-up (web3, SQLAlchemy, FastAPI, pydantic
models, contract interfaces). CPython's cyclic collector walks them again on every full collection, and a
request that allocates heavily (a 1,000-record batch builds ~100,000 objects) triggers collections: measured,
~13 ms of a 1,000-record batch request went to the collector walking start-up objects, 1.4 ms once they
were frozen. ``gc.freeze()`` moves everything alive now into a generation the collector never scans; only
objects made afterwards are collected as before. Long-running service commands call it once they are ready
to serve, never library code or tests (frozen garbage is never freed).

glibc's malloc gives threads arenas of their own (up to eight per core), each keeping memory it freed for
later; a service process runs ~40 request threads and several background threads. With the group-commit
writer thread of round 5, the benchmark's summed resident memory after single records and certificate
issue was 542-550 MiB with the default and 511 MiB with two arenas (two runs each, same driver). Python's
small objects do not come from those arenas, and with one interpreter lock threads seldom allocate at the
same moment, so two arenas cost no speed that could be measured. ``limit_malloc_arenas`` applies that to the
process calling it and, through ``MALLOC_ARENA_MAX``, to every process it starts; an operator's own
``MALLOC_ARENA_MAX`` wins.
"""

from __future__ import annotations

import ctypes
import gc
import os

#: glibc's mallopt parameter number for the arena cap (malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8
MALLOC_ARENAS = 2


def freeze_start_up_objects() -> None:
    """Collect what start-up left behind, then exempt every remaining object from future collections."""
    gc.collect()
    gc.freeze()


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap malloc's arenas here and in child processes; False if the operator set a cap or libc is not glibc."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False  # set before this process started: glibc applied it already, and children inherit it
    os.environ["MALLOC_ARENA_MAX"] = str(arenas)
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        return False

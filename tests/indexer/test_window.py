"""The adaptive eth_getLogs block range: what the node accepts, and few enough logs per read."""

from __future__ import annotations

import pytest

from govledger.errors import ValidationError
from govledger.indexer.window import (
    FIRST_WINDOW_BLOCKS,
    GROW_AFTER_SUCCESSES,
    LIFT_CEILING_AFTER_SUCCESSES,
    BlockWindow,
)


def read_whole_window(window: BlockWindow, logs: int = 0) -> int:
    """A successful read of the window's whole range that brought ``logs`` logs; the next size."""
    window.succeeded(window.size, logs)
    return window.size


def test_the_first_read_is_small_whatever_the_maximum():
    assert BlockWindow(2000).size == FIRST_WINDOW_BLOCKS
    assert BlockWindow(5).size == 5


def test_the_window_halves_on_each_refusal_down_to_one_block():
    window = BlockWindow(10)
    sizes = []
    while window.shrink():
        sizes.append(window.size)
    assert sizes == [5, 2, 1]
    assert window.size == 1


def test_the_window_doubles_after_a_run_of_successes_up_to_the_last_refused_size():
    window = BlockWindow(64)
    for _ in range(GROW_AFTER_SUCCESSES * 2):
        read_whole_window(window)
    assert window.size == 4 * FIRST_WINDOW_BLOCKS == 64
    window.shrink()  # 64 refused: ceiling 63, size 32
    window.shrink()  # 32 refused: ceiling 31, size 16
    assert (window.size, window.ceiling) == (16, 31)
    grown = [read_whole_window(window) for _ in range(GROW_AFTER_SUCCESSES * 3)]
    assert grown[GROW_AFTER_SUCCESSES - 2] == 16
    assert grown[GROW_AFTER_SUCCESSES - 1] == 31
    assert grown[-1] == 31


def test_a_long_run_of_successes_lifts_the_ceiling_back_to_the_maximum():
    window = BlockWindow(8)
    for _ in range(3):
        window.shrink()
    assert window.size == 1 and window.ceiling == 1
    sizes = [read_whole_window(window) for _ in range(LIFT_CEILING_AFTER_SUCCESSES + GROW_AFTER_SUCCESSES * 4)]
    assert sizes[LIFT_CEILING_AFTER_SUCCESSES - 2] == 1
    assert sizes[-1] == 8


def test_a_refusal_restarts_the_run_of_successes():
    window = BlockWindow(4)
    window.shrink()
    for _ in range(GROW_AFTER_SUCCESSES - 1):
        read_whole_window(window)
    window.shrink()
    read_whole_window(window)
    assert window.size == 1


def test_an_empty_window_or_no_logs_allowed_is_refused():
    with pytest.raises(ValidationError):
        BlockWindow(0)
    with pytest.raises(ValidationError):
        BlockWindow(10, target_logs=0)


def test_a_read_that_brought_too_many_logs_sizes_the_next_by_its_density():
    window = BlockWindow(2000, target_logs=1000)
    window.succeeded(16, 8000)  # 500 logs per block
    assert window.size == 2  # would have held the target
    window.succeeded(2, 100_000)  # one block holds more than the target: one block at a time
    assert window.size == 1
    window.succeeded(1, 100_000)
    assert window.size == 1


def test_the_window_grows_only_by_as_much_as_the_density_it_read_allows():
    window = BlockWindow(2000, target_logs=1000)
    sizes = [read_whole_window(window, logs=window.size * 10) for _ in range(GROW_AFTER_SUCCESSES * 6)]
    # 10 logs per block: it doubles while the next read stays near half the target, then stops there.
    assert sizes[GROW_AFTER_SUCCESSES - 1] == 2 * FIRST_WINDOW_BLOCKS
    assert sizes[-1] == 50
    assert max(sizes) * 10 <= 1000


def test_reads_near_the_target_keep_the_size():
    window = BlockWindow(2000, target_logs=1000)
    sizes = [read_whole_window(window, logs=600) for _ in range(GROW_AFTER_SUCCESSES * 3)]
    assert set(sizes) == {FIRST_WINDOW_BLOCKS}


def test_reads_cut_short_by_the_head_never_grow_the_window():
    # An indexer following the chain reads the one or two blocks that are new, and finds them empty: that
    # says nothing of what a full window would hold once it falls behind.
    window = BlockWindow(2000, target_logs=1000)
    for _ in range(LIFT_CEILING_AFTER_SUCCESSES * 2):
        window.succeeded(1, 0)
    assert window.size == FIRST_WINDOW_BLOCKS
    window.succeeded(2, 4000)  # a burst: still sized by its density
    assert window.size == 1

"""The adaptive eth_getLogs block range."""

from __future__ import annotations

import pytest

from govledger.errors import ValidationError
from govledger.indexer.window import (
    GROW_AFTER_SUCCESSES,
    LIFT_CEILING_AFTER_SUCCESSES,
    MAX_LOGS_PER_WINDOW,
    BlockWindow,
)


def test_the_window_halves_on_each_refusal_down_to_one_block():
    window = BlockWindow(10)
    sizes = []
    while window.shrink():
        sizes.append(window.size)
    assert sizes == [5, 2, 1]
    assert window.size == 1


def test_the_window_doubles_after_a_run_of_successes_up_to_the_last_refused_size():
    window = BlockWindow(64)
    window.shrink()  # 64 refused: ceiling 63, size 32
    window.shrink()  # 32 refused: ceiling 31, size 16
    assert (window.size, window.ceiling) == (16, 31)
    grown = []
    for _ in range(GROW_AFTER_SUCCESSES * 3):
        window.succeeded()
        grown.append(window.size)
    assert grown[GROW_AFTER_SUCCESSES - 2] == 16
    assert grown[GROW_AFTER_SUCCESSES - 1] == 31
    assert grown[-1] == 31


def test_a_long_run_of_successes_lifts_the_ceiling_back_to_the_maximum():
    window = BlockWindow(8)
    for _ in range(3):
        window.shrink()
    assert window.size == 1 and window.ceiling == 1
    sizes = []
    for _ in range(LIFT_CEILING_AFTER_SUCCESSES + GROW_AFTER_SUCCESSES * 4):
        window.succeeded()
        sizes.append(window.size)
    assert sizes[LIFT_CEILING_AFTER_SUCCESSES - 2] == 1
    assert sizes[-1] == 8


def test_a_refusal_restarts_the_run_of_successes():
    window = BlockWindow(4)
    window.shrink()
    for _ in range(GROW_AFTER_SUCCESSES - 1):
        window.succeeded()
    window.shrink()
    window.succeeded()
    assert window.size == 1


def test_an_empty_window_is_refused():
    with pytest.raises(ValidationError):
        BlockWindow(0)


def test_a_window_that_brought_too_many_logs_is_read_again_smaller():
    window = BlockWindow(2000)
    assert not window.too_dense(2000, MAX_LOGS_PER_WINDOW)  # at the bound: kept
    assert window.too_dense(2000, MAX_LOGS_PER_WINDOW * 20)
    assert window.size == 100  # expected to bring about MAX_LOGS_PER_WINDOW logs
    assert window.too_dense(100, MAX_LOGS_PER_WINDOW * 1000)
    assert window.size == 1
    assert not window.too_dense(1, MAX_LOGS_PER_WINDOW * 1000)  # one block cannot be split further

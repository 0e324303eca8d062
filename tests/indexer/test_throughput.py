"""Indexing speed: a few thousand events must index far faster than a chain can produce them."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from govledger.chain.client import Web3Chain
from govledger.indexer import Indexer
from tests.fixtures.anvil import AnvilNode
from tests.indexer.chain_activity import logs_on_chain, propose_many
from tests.support.consortium import Consortium

EVENTS = 1500
#: Far below what a developer machine measures (thousands a second), so only a real regression fails it.
MIN_EVENTS_PER_SECOND = 300


def test_indexing_keeps_up_with_a_busy_chain(
    anvil: AnvilNode,
    chain: Web3Chain,
    consortium: Consortium,
    migrated_engine: Engine,
    record_property: pytest.RecordProperty,
):
    propose_many(anvil, consortium, EVENTS, per_block=100)
    indexer = Indexer(chain, migrated_engine, consortium.deployment, confirmations=1)

    started = time.perf_counter()
    written = indexer.sync_once()
    rate = written / (time.perf_counter() - started)

    record_property("events_per_second", round(rate))
    assert written == len(logs_on_chain(chain, consortium))
    assert rate > MIN_EVENTS_PER_SECOND, f"{rate:.0f} events/s"

"""The indexer against a real anvil node and real databases (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import pytest
from sqlalchemy import Engine, select

from govledger.chain.client import LogEntry, Web3Chain
from govledger.db.engine import session_scope
from govledger.db.models import ChainEvent, IndexedBlock
from govledger.errors import ChainError, ChainUnavailableError
from govledger.indexer import EventFilter, Indexer, final_events, indexed_final_block, start_in_background
from govledger.indexer.store import KEEP_BLOCK_HASHES
from tests.fixtures.anvil import AnvilNode
from tests.indexer.chain_activity import logs_on_chain, propose_many
from tests.support.consortium import ADD_ACCOUNT, Consortium, dept, new_signer, payload


def stored_events(engine: Engine) -> list[ChainEvent]:
    with session_scope(engine, read_only=True) as session:
        query = select(ChainEvent).order_by(ChainEvent.block_number, ChainEvent.log_index)  # type: ignore[arg-type]
        return list(session.execute(query).scalars().all())


def stored_keys(engine: Engine) -> list[tuple[str, int]]:
    return [(row.tx_hash, row.log_index) for row in stored_events(engine)]


def indexer_for(chain: Web3Chain, engine: Engine, consortium: Consortium, **options: Any) -> Indexer:
    return Indexer(chain, engine, consortium.deployment, **{"confirmations": 1, **options})


def test_governance_events_are_indexed_with_department_subject_and_sequence(
    chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    rotated = new_signer(chain)
    consortium.pass_proposal(ADD_ACCOUNT, payload(["bytes32", "address"], [dept("CS-AUD"), rotated.address]))

    written = indexer_for(chain, migrated_engine, consortium).sync_once()

    rows = stored_events(migrated_engine)
    assert written == len(rows) == len(logs_on_chain(chain, consortium))
    by_name: dict[str, list[ChainEvent]] = {}
    for row in rows:
        by_name.setdefault(row.event_name, []).append(row)
    founding = by_name["DepartmentAdded"]
    assert [row.department for row in founding] == ["CS-DRB", "CS-MSA", "CS-HRSS", "CS-PSB", "CS-AUD"]
    assert [row.subject_id for row in founding] == [f"department:{row.department}" for row in founding]
    assert json.loads(founding[0].args_json)["deptId"] == "CS-DRB"

    (created,) = by_name["ProposalCreated"]
    (approved,) = by_name["ProposalApproved"]
    (executed,) = by_name["ProposalExecuted"]
    assert (created.department, created.subject_id, created.action_seq) == ("CS-DRB", "proposal:1", 1)
    assert (approved.department, approved.subject_id, approved.action_seq) == ("CS-MSA", "proposal:1", 1)
    assert (executed.department, executed.subject_id, executed.action_seq) == ("CS-DRB", "proposal:1", 2)
    args = json.loads(created.args_json)
    assert args["proposerDept"] == "CS-DRB"
    assert args["kind"] == ADD_ACCOUNT
    assert args["payload"] == "0x" + payload(["bytes32", "address"], [dept("CS-AUD"), rotated.address]).hex()

    rotation = by_name["AccountAdded"][-1]
    assert rotation.department == "CS-AUD"
    assert rotation.subject_id == f"account:{rotated.address}"
    assert rotation.action_seq is None
    assert by_name["BootstrapClosed"][0].subject_id == "contract:Consortium"
    assert by_name["BootstrapClosed"][0].department is None

    block = chain.get_block(created.block_number)
    assert (created.block_hash, created.block_timestamp) == (block.hash, block.timestamp)
    assert created.contract_name == "Consortium"
    assert created.contract_address == consortium.deployment.address_of("Consortium")


def test_a_new_indexer_resumes_from_the_checkpoint_without_gaps_or_duplicates(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 40)
    middle = consortium.deployment.start_block + 25

    first = indexer_for(chain, migrated_engine, consortium, max_window=7)
    first.sync_once(to_block=middle)
    checkpoint = first.checkpoint()
    assert checkpoint is not None and checkpoint.number == middle
    assert max(row.block_number for row in stored_events(migrated_engine)) <= middle

    restarted = indexer_for(chain, migrated_engine, consortium, max_window=7)
    restarted.sync_once()

    keys = stored_keys(migrated_engine)
    assert len(keys) == len(set(keys))
    assert set(keys) == logs_on_chain(chain, consortium)
    assert restarted.sync_once() == 0


def test_replaying_blocks_already_indexed_writes_nothing(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 5)
    assert indexer_for(chain, migrated_engine, consortium).sync_once() > 0

    # A second checkpoint name reads the same blocks again from the deployment block.
    replay = indexer_for(chain, migrated_engine, consortium, name="replay")
    assert replay.sync_once() == 0
    assert len(stored_keys(migrated_engine)) == len(logs_on_chain(chain, consortium))


@pytest.mark.parametrize("new_blocks", [1, 5], ids=["shorter-chain", "longer-chain"])
def test_a_reorg_replaces_the_rows_of_orphaned_blocks(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine, new_blocks: int
):
    propose_many(anvil, consortium, 4)
    snapshot = anvil.rpc("evm_snapshot")
    orphaned = propose_many(anvil, consortium, 3, department="CS-MSA")
    indexer = indexer_for(chain, migrated_engine, consortium)
    indexer.sync_once()
    assert set(orphaned) <= {tx for tx, _ in stored_keys(migrated_engine)}

    anvil.rpc("evm_revert", [snapshot])
    replacements = propose_many(anvil, consortium, new_blocks, department="CS-HRSS")
    indexer.sync_once()

    indexed_txs = {tx for tx, _ in stored_keys(migrated_engine)}
    assert not set(orphaned) & indexed_txs
    assert set(replacements) <= indexed_txs
    assert set(stored_keys(migrated_engine)) == logs_on_chain(chain, consortium)
    checkpoint = indexer.checkpoint()
    assert checkpoint is not None
    assert checkpoint.number == chain.block_number()
    assert checkpoint.hash == chain.get_block(checkpoint.number).hash
    with session_scope(migrated_engine, read_only=True) as session:
        hashes = session.execute(select(IndexedBlock)).scalars().all()
    assert all(chain.get_block(block.block_number).hash == block.block_hash for block in hashes)


def test_anvil_reorg_at_the_same_height_is_followed(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 6)
    indexer = indexer_for(chain, migrated_engine, consortium, confirmations=4)
    indexer.sync_once()
    height = chain.block_number()
    before = set(stored_keys(migrated_engine))

    # Replace the last 3 blocks with 3 empty ones: their proposals vanish, the head stays at the same height.
    anvil.rpc("anvil_reorg", [3, []])
    assert chain.block_number() == height
    indexer.sync_once()

    after = set(stored_keys(migrated_engine))
    assert len(before) - len(after) == 3
    assert after == logs_on_chain(chain, consortium)


class ReorgWhileReadingChain(Web3Chain):
    """A node that re-organises its last blocks right after answering the first log request."""

    def __init__(self, anvil: AnvilNode, depth: int):
        super().__init__(anvil.url)
        self.anvil = anvil
        self.depth = depth
        self.reorganised = False

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]:
        logs = super().get_logs(addresses, from_block, to_block, topics)
        if not self.reorganised:
            self.reorganised = True
            self.anvil.rpc("anvil_reorg", [self.depth, []])
        return logs


def test_a_reorg_while_a_window_is_read_is_noticed_before_anything_is_stored(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 5)
    racing = ReorgWhileReadingChain(anvil, depth=2)

    Indexer(racing, migrated_engine, consortium.deployment, confirmations=1).sync_once()

    assert racing.reorganised
    assert set(stored_keys(migrated_engine)) == logs_on_chain(chain, consortium)


class RangeLimitedChain(Web3Chain):
    """A node that refuses eth_getLogs over more than ``limit`` blocks, as Besu and gateways do."""

    def __init__(self, url: str, limit: int):
        super().__init__(url)
        self.limit = limit
        self.requests: list[tuple[int, int]] = []

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]:
        self.requests.append((from_block, to_block))
        if to_block - from_block + 1 > self.limit:
            raise ChainError("query exceeds max block range", code="get_logs_failed")
        return super().get_logs(addresses, from_block, to_block, topics)


def test_the_window_shrinks_to_what_the_node_accepts(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 90)
    limited = RangeLimitedChain(anvil.url, limit=3)

    indexer = Indexer(limited, migrated_engine, consortium.deployment, confirmations=1, max_window=50)
    indexer.sync_once()

    assert set(stored_keys(migrated_engine)) == logs_on_chain(chain, consortium)
    assert any(last - first + 1 > 3 for first, last in limited.requests)
    # The window settles on what the node accepts: the second half of the requests is never refused.
    second_half = limited.requests[len(limited.requests) // 2 :]
    assert all(last - first + 1 <= 3 for first, last in second_half), limited.requests
    assert indexer.window.size < 50


class LogCountingChain(Web3Chain):
    """The node, with how many logs each eth_getLogs answer brought."""

    def __init__(self, url: str):
        super().__init__(url)
        self.answers: list[int] = []

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]:
        logs = super().get_logs(addresses, from_block, to_block, topics)
        self.answers.append(len(logs))
        return logs


def test_a_new_indexer_on_a_dense_stretch_reads_it_a_few_logs_at_a_time(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    # 480 events, 16 to a block: a whole-chain read would hold them all in memory at once.
    propose_many(anvil, consortium, 480, per_block=16)
    counting = LogCountingChain(anvil.url)

    indexer = Indexer(counting, migrated_engine, consortium.deployment, confirmations=1, window_logs=30)
    indexer.sync_once()

    assert set(stored_keys(migrated_engine)) == logs_on_chain(chain, consortium)
    assert sum(counting.answers) == len(stored_keys(migrated_engine))  # each block read once, none again
    # The first read (16 blocks) is sized before anything is known of the density, the second by the mix of
    # sparse deployment blocks and dense ones it followed; from then on the reads hold the target.
    assert counting.answers[0] > 30
    assert max(counting.answers[1:]) < 2 * 30, counting.answers
    assert max(counting.answers[2:]) <= 30, counting.answers


def test_a_node_refusing_even_one_block_is_an_error(anvil: AnvilNode, consortium: Consortium, migrated_engine: Engine):
    refusing = RangeLimitedChain(anvil.url, limit=0)
    indexer = Indexer(refusing, migrated_engine, consortium.deployment, confirmations=1)
    with pytest.raises(ChainError):
        indexer.sync_once()
    assert indexer.checkpoint() is None


def test_final_block_and_final_events_respect_confirmations(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    proposals = propose_many(anvil, consortium, 4)
    indexer = indexer_for(chain, migrated_engine, consortium, confirmations=3)
    indexer.sync_once()
    head = chain.block_number()
    assert indexer.final_block() == head - 2

    def final_proposals(final_block: int) -> list[str]:
        rows = final_events(
            migrated_engine,
            EventFilter(chain_id=chain.chain_id, event_names=["ProposalCreated"]),
            final_block=final_block,
        )
        return [row.tx_hash for row in rows]

    assert final_proposals(indexer.final_block()) == proposals[:2]
    assert indexed_final_block(migrated_engine, name="main", head=head, confirmations=3) == head - 2

    anvil.rpc("anvil_mine", [2])
    assert final_proposals(indexer.final_block()) == proposals
    # Final by depth, but not indexed yet: the indexer has not seen the two new blocks.
    assert indexed_final_block(migrated_engine, name="main", head=head + 2, confirmations=3) == head


def test_old_block_hashes_are_pruned_but_an_anchor_is_kept(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 3)
    anvil.rpc("anvil_mine", [KEEP_BLOCK_HASHES + 20])
    propose_many(anvil, consortium, 2)
    indexer_for(chain, migrated_engine, consortium, max_window=100).sync_once()

    with session_scope(migrated_engine, read_only=True) as session:
        numbers = sorted(block.block_number for block in session.execute(select(IndexedBlock)).scalars().all())
    head = chain.block_number()
    recent = [n for n in numbers if n >= head - KEEP_BLOCK_HASHES]
    assert numbers[0] < head - KEEP_BLOCK_HASHES
    assert len(numbers) == len(recent) + 1


class FlakyChain(Web3Chain):
    """A node that is unreachable for its first ``failures`` log requests."""

    def __init__(self, url: str, failures: int):
        super().__init__(url)
        self.failures = failures

    def get_logs(
        self, addresses: Sequence[str], from_block: int, to_block: int, topics: Sequence[Any] | None = None
    ) -> list[LogEntry]:
        if self.failures > 0:
            self.failures -= 1
            raise ChainUnavailableError("connection refused")
        return super().get_logs(addresses, from_block, to_block, topics)


def test_the_background_thread_survives_an_unreachable_node(
    anvil: AnvilNode, chain: Web3Chain, consortium: Consortium, migrated_engine: Engine
):
    propose_many(anvil, consortium, 3)
    expected = logs_on_chain(chain, consortium)
    flaky = FlakyChain(anvil.url, failures=2)
    indexer = Indexer(flaky, migrated_engine, consortium.deployment, confirmations=1)

    background = start_in_background(indexer, poll_seconds=0.01)
    try:
        deadline = time.monotonic() + 10
        while set(stored_keys(migrated_engine)) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(stored_keys(migrated_engine)) == expected
        assert background.thread.is_alive()
        assert flaky.failures == 0
    finally:
        background.stop()
    assert not background.thread.is_alive()


def test_stopping_the_background_thread_is_prompt(chain: Web3Chain, consortium: Consortium, migrated_engine: Engine):
    background = start_in_background(indexer_for(chain, migrated_engine, consortium), poll_seconds=30)
    time.sleep(0.1)
    started = time.monotonic()
    background.stop()
    assert not background.thread.is_alive()
    assert time.monotonic() - started < 5

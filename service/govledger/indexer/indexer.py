"""The indexer: reads the system contracts' events from the chain into ``chain_events``, window by window.

Each pass reads from the block after the checkpoint up to the chain head in windows of blocks, with one
``eth_getLogs`` request for all system contracts per window. Before each window it checks that the
checkpoint block is still on the chain; if a re-org replaced it, the rows above the fork point are
deleted and read again from the new chain. Rows above ``final_block()`` are not final yet (see
``finality``). The checkpoint moves in the same transaction as the window's rows (``store``), so a
restarted indexer continues exactly where the last one stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from govledger.chain.client import BlockInfo, Chain, LogEntry
from govledger.chain.contracts import BoundContract
from govledger.chain.deploy import Deployment
from govledger.errors import ChainError, ChainUnavailableError, GovLedgerError, ValidationError
from govledger.indexer.finality import final_block_number
from govledger.indexer.mapping import LogDecoder, event_row
from govledger.indexer.store import (
    BlockRef,
    CheckpointMovedError,
    IndexerScope,
    commit_window,
    load_checkpoint,
    rewind,
    stored_block_hashes,
)
from govledger.indexer.window import TARGET_LOGS_PER_WINDOW, BlockWindow

logger = logging.getLogger(__name__)

DEFAULT_MAX_WINDOW = 2000
#: Longest wait between attempts while the node or the database is failing.
MAX_BACKOFF_SECONDS = 60.0
#: Windows retried in one pass when the chain moved under a window, before leaving it to the next pass.
MAX_WINDOW_RETRIES = 3


class _ChainMovedError(Exception):
    """The chain re-organised while a window was being read: its logs and block hashes disagree."""


class Indexer:
    """Indexes the events of every contract of ``deployment`` on ``chain`` into the database at ``engine``."""

    def __init__(
        self,
        chain: Chain,
        engine: Engine,
        deployment: Deployment,
        *,
        confirmations: int,
        name: str = "main",
        max_window: int = DEFAULT_MAX_WINDOW,
        window_logs: int = TARGET_LOGS_PER_WINDOW,
    ):
        if confirmations < 1:
            raise ValidationError(f"confirmations must be at least 1, got {confirmations}")
        self.chain = chain
        self.engine = engine
        self.deployment = deployment
        self.confirmations = confirmations
        self.name = name
        self.window = BlockWindow(max_window, target_logs=window_logs)
        self._contracts: dict[str, BoundContract] = {
            contract.address.lower(): deployment.bind(chain, contract_name)
            for contract_name, contract in deployment.contracts.items()
        }
        self._decoder = LogDecoder(
            {address: (contract.name, contract.interface) for address, contract in self._contracts.items()}
        )
        self.scope = IndexerScope(
            name=name,
            chain_id=chain.chain_id,
            addresses=tuple(contract.address for contract in self._contracts.values()),
        )

    # ------------------------------------------------------------ public API

    def checkpoint(self) -> BlockRef | None:
        """The last block fully indexed, or None before the first window."""
        return load_checkpoint(self.engine, self.scope)

    def final_block(self) -> int:
        """The highest block whose events are final at the current head (head - confirmations + 1)."""
        return final_block_number(self.chain.block_number(), self.confirmations)

    def sync_once(self, to_block: int | None = None, *, stop: threading.Event | None = None) -> int:
        """Index from the checkpoint up to the head (or ``to_block``); return how many rows were written."""
        head = self.chain.block_number()
        target = head if to_block is None else min(to_block, head)
        written = 0
        retries = 0
        while stop is None or not stop.is_set():
            checkpoint = self._checkpoint_on_chain(head)
            first = checkpoint.number + 1 if checkpoint is not None else self.deployment.start_block
            if first > target:
                break
            try:
                written += self._index_window(checkpoint, first, target, head)
                retries = 0
            except (_ChainMovedError, CheckpointMovedError) as exc:
                # Another process moved the checkpoint, or the chain re-organised mid-window: start the
                # window again from whatever the database and the chain say now.
                retries += 1
                logger.info("indexer %s: window from block %d is read again: %s", self.name, first, exc)
                if retries > MAX_WINDOW_RETRIES:
                    break
                head = self.chain.block_number()
                target = head if to_block is None else min(to_block, head)
        return written

    def run(self, stop: threading.Event, poll_seconds: float) -> None:
        """Index until ``stop`` is set, for a background thread; failures are logged and retried, never raised."""
        failures = 0
        while not stop.is_set():
            try:
                written = self.sync_once(stop=stop)
                if written:
                    logger.debug("indexer %s: %d new events", self.name, written)
                failures = 0
            except GovLedgerError as exc:
                # Node unreachable, database busy or down: all of them pass, so wait longer each time.
                failures += 1
                logger.warning("indexer %s: %s (attempt %d), retrying", self.name, exc, failures)
            except Exception:
                # A bug or an unexpected library error must not kill the thread: the service would go on
                # answering from a silently stale index.
                failures += 1
                logger.exception("indexer %s: unexpected failure (attempt %d), retrying", self.name, failures)
            delay = poll_seconds if failures == 0 else min(MAX_BACKOFF_SECONDS, poll_seconds * 2**failures)
            stop.wait(delay)

    # ------------------------------------------------------------ re-orgs

    def _checkpoint_on_chain(self, head: int) -> BlockRef | None:
        """The checkpoint, after rewinding it to the fork point if the chain no longer contains it."""
        checkpoint = load_checkpoint(self.engine, self.scope)
        if checkpoint is None or self._still_on_chain(checkpoint, head):
            return checkpoint
        fork = self._fork_point(checkpoint, head)
        removed = rewind(self.engine, self.scope, expected=checkpoint, fork=fork)
        logger.warning(
            "indexer %s: re-org below block %d; rewound to %s, %d events removed",
            self.name,
            checkpoint.number,
            f"block {fork.number}" if fork is not None else "the deployment",
            removed,
        )
        return fork

    def _still_on_chain(self, block: BlockRef, head: int) -> bool:
        return block.number <= head and self._block(block.number).hash == block.hash

    def _fork_point(self, checkpoint: BlockRef, head: int) -> BlockRef | None:
        """The newest stored block the chain still contains; None if the re-org is deeper than the history."""
        for stored in stored_block_hashes(self.engine, self.scope.chain_id, checkpoint.number):
            if self._still_on_chain(stored, head):
                return stored
        return None

    # ------------------------------------------------------------ one window

    def _index_window(self, checkpoint: BlockRef | None, first: int, target: int, head: int) -> int:
        last, end_before, logs = self._read_logs(first, target)
        # Blocks that can still be re-organised are all recorded, so a fork point is found exactly.
        unconfirmed = range(max(first, final_block_number(head, self.confirmations) + 1), last + 1)
        blocks = self._blocks({log.block_number for log in logs} | set(unconfirmed) | {last})
        if blocks[last].hash != end_before.hash:
            raise _ChainMovedError(f"block {last} changed while its window was read")
        rows: list[dict[str, Any]] = []
        for log in logs:
            if blocks[log.block_number].hash != log.block_hash:
                raise _ChainMovedError(f"the log's block {log.block_number} is no longer on the chain")
            row = self._row(log, blocks[log.block_number])
            if row is not None:
                rows.append(row)
        return commit_window(
            self.engine,
            self.scope,
            expected=checkpoint,
            rows=rows,
            blocks=[BlockRef(b.number, b.hash) for b in blocks.values()],
            checkpoint=BlockRef(last, blocks[last].hash),
        )

    def _read_logs(self, first: int, target: int) -> tuple[int, BlockInfo, list[LogEntry]]:
        """The logs of the widest window from ``first`` the node accepts: (last block, its header, logs)."""
        while True:
            last = min(target, first + self.window.size - 1)
            # Read before the logs and compared after: a re-org in between must not go unnoticed.
            end_before = self._block(last)
            try:
                logs = self.chain.get_logs(self.scope.addresses, first, last)
            except ChainUnavailableError:
                raise
            except ChainError as exc:
                if not self.window.shrink():
                    raise
                logger.info(
                    "indexer %s: node refused blocks %d-%d (%s); window now %d blocks",
                    self.name,
                    first,
                    last,
                    exc.message,
                    self.window.size,
                )
                continue
            self.window.succeeded(last - first + 1, len(logs))
            return last, end_before, logs

    def _row(self, log: LogEntry, block: BlockInfo) -> dict[str, Any] | None:
        decoded = self._decoder.decode(log)
        if decoded is None:
            # Only possible with artifacts that differ from the deployed code, which start-up refuses.
            logger.warning("indexer %s: skipped an undecodable log %s#%d", self.name, log.tx_hash, log.log_index)
            return None
        contract_name, event = decoded
        return event_row(
            chain_id=self.scope.chain_id,
            contract_name=contract_name,
            log=log,
            event=event,
            block_timestamp=block.timestamp,
        )

    def _blocks(self, numbers: Iterable[int]) -> dict[int, BlockInfo]:
        """The headers of ``numbers``, read in JSON-RPC batches: a busy window has hundreds of blocks with events."""
        wanted = sorted(numbers)
        try:
            return {block.number: block for block in self.chain.get_blocks(wanted)}
        except GovLedgerError:
            raise
        except Exception as exc:
            # web3 reports a block that vanished in a re-org with its own exception type.
            raise ChainError(f"blocks {wanted[0]}-{wanted[-1]} are not all available from the node: {exc}") from exc

    def _block(self, number: int) -> BlockInfo:
        try:
            return self.chain.get_block(number)
        except GovLedgerError:
            raise
        except Exception as exc:
            # web3 reports a block that vanished in a re-org with its own exception type.
            raise ChainError(f"block {number} is not available from the node: {type(exc).__name__}") from exc


@dataclass
class BackgroundIndexer:
    """An indexer running in a daemon thread; ``stop()`` ends it at the next window boundary."""

    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_in_background(indexer: Indexer, *, poll_seconds: float) -> BackgroundIndexer:
    """Start ``indexer.run`` in a daemon thread (for the service's lifespan)."""
    stop_event = threading.Event()
    thread = threading.Thread(
        target=indexer.run, args=(stop_event, poll_seconds), name=f"indexer-{indexer.name}", daemon=True
    )
    thread.start()
    return BackgroundIndexer(thread, stop_event)

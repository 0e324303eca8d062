"""The chain node stopped for 30 s in the middle of a run, then started again from its saved state.

Clients keep writing the whole time (single records, record batches, certificates) with a 10 s timeout per
request. While the node is away every write is either accepted or refused clearly: 503 with a stable code
and a Retry-After header, never a hang, never another error. anvil keeps its mined blocks across the
restart but, like a real node, forgets its mempool, so the transactions that were waiting in it must be
sent again by the service's transaction manager (``rebroadcast_after_seconds``, default 30 s). Afterwards
every accepted write is on chain exactly once and nothing refused is.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from web3.exceptions import TransactionNotFound

from govledger.bench.stack import rpc
from tests.reliability.harness import ReliabilityStack, start_stack
from tests.reliability.workload import (
    ACCEPTED,
    BROKEN,
    HUNG,
    REFUSED,
    Write,
    certificate_writes,
    check_exactly_once,
    operations_in_flight,
    record_writes,
    send,
    send_all,
    wait_until_on_chain,
)

OUTAGE_SECONDS = 30.0
WRITING_BEFORE_SECONDS = 6.0
WRITING_AFTER_SECONDS = 6.0
CLIENT_THREADS = 8
REQUEST_TIMEOUT_SECONDS = 10.0  # an answer slower than this counts as a hang
BATCH_SIZE = 50
SETTLE_TIMEOUT_SECONDS = 120.0


class Writers:
    """Client threads that keep sending fresh writes, each tagged with the phase it was sent in."""

    def __init__(self, client: httpx.Client, seed: int):
        self.client = client
        self.phase = "before"
        self.sent: list[tuple[str, Write]] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._counter = 0
        self._threads = [threading.Thread(target=self._run, name=f"writer-{i}") for i in range(CLIENT_THREADS)]

    def _next(self) -> tuple[str, Write]:
        with self._lock:
            self._counter += 1
            n, choice = self._counter, self._rng.random()
            phase = self.phase
        tag = f"N{n}"
        if choice < 0.4:
            write = record_writes(tag, singles=1, batches=0, batch_size=0)[0]
        elif choice < 0.6:
            write = record_writes(tag, singles=0, batches=1, batch_size=BATCH_SIZE)[0]
        else:
            write = certificate_writes(tag, 1)[0]
        return phase, write

    def _run(self) -> None:
        while not self._stop.is_set():
            phase, write = self._next()
            send(self.client, write, timeout=REQUEST_TIMEOUT_SECONDS)
            with self._lock:
                self.sent.append((phase, write))
            if write.outcome != ACCEPTED:
                time.sleep(0.2)  # a polite client backs off a little after a refusal

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def _mempool(stack: ReliabilityStack) -> set[str]:
    """Hashes of the transactions waiting in anvil's mempool."""
    content = rpc(stack.anvil.url, "txpool_content")
    assert isinstance(content, dict)
    return {
        str(tx["hash"]).lower()
        for section in ("pending", "queued")
        for by_nonce in content.get(section, {}).values()
        for tx in by_nonce.values()
    }


def _wait_for_mempool(stack: ReliabilityStack, timeout: float = 10.0) -> set[str]:
    deadline = time.monotonic() + timeout
    while not (waiting := _mempool(stack)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return waiting


def _mined(stack: ReliabilityStack, tx_hashes: set[str]) -> set[str]:
    mined = set()
    for tx_hash in tx_hashes:
        try:
            stack.chain.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            continue
        mined.add(tx_hash)
    return mined


@pytest.mark.anvil
def test_a_node_outage_refuses_writes_clearly_and_loses_nothing_accepted(tmp_path: Path) -> None:
    started = time.monotonic()
    stack = start_stack(tmp_path)
    try:
        with stack.client(timeout=REQUEST_TIMEOUT_SECONDS, connections=CLIENT_THREADS + 8) as client:
            writers = Writers(client, seed=8)
            writers.start()
            try:
                time.sleep(WRITING_BEFORE_SECONDS)
                writers.phase = "outage"
                # Hold mining for a moment so that transactions are surely waiting in the mempool when the
                # node stops: they are the ones a restarted node has forgotten and the service must resend.
                rpc(stack.anvil.url, "evm_setIntervalMining", [0])
                in_mempool = _wait_for_mempool(stack)
                stack.anvil.stop()
                saved_state = stack.anvil.state_file.read_text().lower()
                # The node forgets what was only in its mempool: those transactions are in no saved block.
                forgotten = {tx_hash for tx_hash in in_mempool if tx_hash.removeprefix("0x") not in saved_state}
                outage_started = time.monotonic()
                time.sleep(OUTAGE_SECONDS)
                ready_during_outage = client.get("/readyz").status_code
                stack.anvil.start()
                outage_seconds = time.monotonic() - outage_started
                writers.phase = "after"
                time.sleep(WRITING_AFTER_SECONDS)
            finally:
                writers.stop()
            writes = [write for _phase, write in writers.sent]

            # A broken connection (the service never went away, so none is expected) is ambiguous: resend it.
            ambiguous = [w for w in writes if w.outcome == BROKEN]
            for write in ambiguous:
                send(client, write, timeout=REQUEST_TIMEOUT_SECONDS)

            accepted = [w for w in writes if w.outcome == ACCEPTED]
            settle_started = time.monotonic()
            wait_until_on_chain(
                stack,
                records=sum(len(w.records) for w in accepted),
                certificates=sum(1 for w in accepted if w.kind == "certificate"),
                timeout=SETTLE_TIMEOUT_SECONDS,
            )
            settle_seconds = time.monotonic() - settle_started
            in_flight = operations_in_flight(client)
            verdict = check_exactly_once(stack, client, writes)
            resent = _mined(stack, forgotten)
    finally:
        stack.close()

    by_phase: dict[str, Counter[str]] = {}
    for phase, write in writers.sent:
        by_phase.setdefault(phase, Counter())[write.first_outcome] += 1
    refused = [w for w in writes if w.outcome == REFUSED]
    unclear = [w for w in refused if w.status != 503 or w.error_code != "chain_unavailable" or not w.retry_after]
    hung = [w for w in writes if w.first_outcome == HUNG]
    print(
        f"fault test (node stopped {outage_seconds:.0f} s): requests={len(writes)} accepted={len(accepted)} "
        f"refused_503={len(refused) - len(unclear)} refused_otherwise={len(unclear)} hung={len(hung)} "
        f"broken={len(ambiguous)} mempool_at_stop={len(in_mempool)} forgotten_by_node={len(forgotten)} "
        f"resent_and_mined={len(resent)} "
        f"readyz_during_outage={ready_during_outage} "
        f"records_on_chain={verdict.records_on_chain}/{verdict.accepted_records} "
        f"certificates_on_chain={verdict.certificates_on_chain}/{verdict.accepted_certificates} "
        f"duplicates={verdict.duplicates} lost={verdict.lost}"
    )
    print(
        "by phase (first answer):",
        {phase: dict(counts) for phase, counts in by_phase.items()},
        f"retry_after={sorted({str(w.retry_after) for w in refused})}",
    )
    print(f"node outage timing: wall={time.monotonic() - started:.1f}s settle_after_return={settle_seconds:.1f}s")

    assert hung == [], f"{len(hung)} requests hung for {REQUEST_TIMEOUT_SECONDS} s"
    assert unclear == [], f"unclear refusals: {Counter((w.status, w.error_code, w.retry_after) for w in unclear)}"
    assert by_phase["outage"].total() > 0
    assert ready_during_outage == 503
    assert forgotten, "no transaction was lost with the node's mempool; the resend path was not exercised"
    assert resent == forgotten, f"transactions the node forgot and the service never resent: {forgotten - resent}"
    assert all(w.outcome == ACCEPTED for w in ambiguous)
    assert verdict.missing_records == [], f"lost records: {verdict.missing_records[:10]}"
    assert verdict.missing_certificates == [], f"lost certificates: {verdict.missing_certificates[:10]}"
    assert verdict.duplicates == 0
    assert verdict.refused_on_chain == []
    assert in_flight == 0


FROZEN_SECONDS = 15.0


@pytest.mark.anvil
def test_a_hung_node_gets_writes_answered_within_the_client_timeout(tmp_path: Path) -> None:
    stack = start_stack(tmp_path)
    try:
        with stack.client(timeout=REQUEST_TIMEOUT_SECONDS, connections=16) as client:
            stack.anvil.freeze()
            try:
                time.sleep(3.0)  # longer than the service caches what it read from the chain (2 s by default)
                writes = record_writes("H", singles=4, batches=2, batch_size=BATCH_SIZE) + certificate_writes("H", 4)
                frozen_started = time.monotonic()
                send_all(client, writes, workers=len(writes), timeout=REQUEST_TIMEOUT_SECONDS)
                time.sleep(max(0.0, FROZEN_SECONDS - (time.monotonic() - frozen_started)))
            finally:
                stack.anvil.thaw()
            # A write that hung may still have gone through: send it again (same key, same id) before counting.
            send_all(client, [w for w in writes if w.outcome == HUNG], workers=4, timeout=60)
            accepted = [w for w in writes if w.outcome == ACCEPTED]
            wait_until_on_chain(
                stack,
                records=sum(len(w.records) for w in accepted),
                certificates=sum(1 for w in accepted if w.kind == "certificate"),
                timeout=SETTLE_TIMEOUT_SECONDS,
            )
            verdict = check_exactly_once(stack, client, writes)
    finally:
        stack.close()

    outcomes = Counter(write.first_outcome for write in writes)
    refused = [w for w in writes if w.first_outcome == REFUSED]
    unclear = [w for w in refused if w.status != 503 or w.error_code != "chain_unavailable" or not w.retry_after]
    print(
        f"fault test (node hung {FROZEN_SECONDS:.0f} s): requests={len(writes)} accepted={outcomes[ACCEPTED]} "
        f"refused_503={len(refused) - len(unclear)} refused_otherwise={len(unclear)} hung={outcomes[HUNG]} "
        f"on_chain={verdict.records_on_chain + verdict.certificates_on_chain} duplicates={verdict.duplicates} "
        f"lost={verdict.lost}"
    )
    assert outcomes[HUNG] == 0, f"{outcomes[HUNG]} of {len(writes)} writes hung past {REQUEST_TIMEOUT_SECONDS} s"
    assert unclear == []
    assert verdict.lost == 0
    assert verdict.duplicates == 0

"""Puts N real system-contract events on the bench's chain quickly, for the indexer catch-up row.

The API rows leave only a few thousand events behind, far from the 100,000 the indexer target is stated
on. Driving 100,000 transactions through the service would take longer than the rest of the benchmark, so
this phase talks to anvil directly: departments BENCH-W3 and BENCH-W3-USE are anvil's unlocked accounts,
so anvil signs ``eth_sendTransaction`` itself and hundreds of them go in one JSON-RPC batch. BENCH-W3 issues
certificates (``CertificateIssued``) and BENCH-W3-USE logs uses of a grant BENCH-W3 gave it
(``DataUseLogged``): two different events of two contracts, both indexed like any other.

Interval mining is paused while the transactions are sent and blocks are mined on demand (``anvil_mine``)
until the pool is empty, so the load costs the node's execution time rather than one second per 30M-gas
block. The block gas limit is left as the bench set it, so the blocks look like the bench's other blocks;
interval mining is switched back on afterwards for whatever runs next.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from eth_utils import keccak

from govledger.bench.gas_comparison import SHA256, VALID_FROM, VALID_UNTIL
from govledger.bench.stack import (
    BLOCK_GAS_LIMIT,
    BLOCK_TIME_SECONDS,
    WEB3_CONSUMER_DEPARTMENT,
    BenchSetupError,
    Stack,
)
from govledger.chain.artifacts import load_artifact
from govledger.chain.deploy import Deployment
from govledger.consortium.departments import encode_department_code
from govledger.shortids import encode_short_id

#: Transactions per JSON-RPC batch request.
SEND_BATCH = 500
#: Batch requests in flight at once.
SENDING_THREADS = 4
#: Transactions sent before blocks are mined for them: bounds the node's pending pool.
MINE_EVERY = 4_000
#: Gas limit given to each transaction, as a multiple of its estimate (the block is packed by gas limit).
GAS_MARGIN = 1.15


@dataclass(frozen=True)
class LoadedEvents:
    """What the load put on the chain: how many events, in which blocks, and how long it took."""

    events: int
    first_block: int
    last_block: int
    seconds: float

    @property
    def blocks(self) -> int:
        return self.last_block - self.first_block + 1


class _Node:
    """Plain JSON-RPC to anvil: single calls and batches, failing loudly on any error answer."""

    def __init__(self, url: str):
        self.url = url
        self.client = httpx.Client(timeout=300)

    def call(self, method: str, params: list[Any] | None = None) -> Any:
        return self.batch([(method, params or [])])[0]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = self.client.post(self.url, json=body).json()
        if not isinstance(answers, list):
            raise BenchSetupError(f"anvil refused a batch of {len(calls)} calls: {answers}")
        by_id = {answer["id"]: answer for answer in answers}
        results = []
        for i, (method, _) in enumerate(calls):
            answer = by_id[i]
            if "error" in answer:
                raise BenchSetupError(f"{method}: {answer['error']}")
            results.append(answer["result"])
        return results

    def close(self) -> None:
        self.client.close()


def _tx(sender: str, to: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"from": sender, "to": to, "data": "0x" + data.hex(), "gasPrice": "0x0", **extra}


def _mine_until_empty(node: _Node, expected_blocks: int) -> None:
    """Mine blocks until the pool holds no pending transaction."""
    node.call("anvil_mine", [hex(max(1, expected_blocks))])
    while int(node.call("txpool_status")["pending"], 16) > 0:
        node.call("anvil_mine", ["0x1"])


def load_events(stack: Stack, count: int, *, run_tag: str) -> LoadedEvents:
    """Put ``count`` events (half certificate issues, half data-use logs) on the chain; return where they are."""
    deployment = Deployment.load(stack.deployment_file)
    certificates = deployment.contracts["CertificateRegistry"].address
    sharing = deployment.contracts["SharingRegistry"].address
    certificate_abi = load_artifact("CertificateRegistry").interface
    sharing_abi = load_artifact("SharingRegistry").interface
    issuer, consumer = stack.web3_account, stack.web3_consumer_account
    dataset = keccak(text=f"bench event load {run_tag} dataset")
    grant = keccak(text=f"bench event load {run_tag} grant")

    def issue(i: int) -> bytes:
        return certificate_abi.encode_call(
            "issue",
            [
                keccak(text=f"bench event load {run_tag} certificate {i}"),
                keccak(text=f"document {i}"),
                SHA256,
                keccak(text=f"holder {i}"),
                encode_short_id("BENCH-LOAD"),
                VALID_FROM,
                VALID_UNTIL,
            ],
        )

    def log_use(i: int) -> bytes:
        return sharing_abi.encode_call("logUse", [grant, keccak(text=f"request {i}")])

    node = _Node(stack.chain_url)
    senders = ThreadPoolExecutor(SENDING_THREADS, thread_name_prefix="event-load")
    started = time.perf_counter()
    node.call("evm_setIntervalMining", [0])
    try:
        first_block = int(node.call("eth_blockNumber"), 16) + 1
        issuer_nonce, consumer_nonce = (
            int(n, 16)
            for n in node.batch(
                [("eth_getTransactionCount", [issuer, "pending"]), ("eth_getTransactionCount", [consumer, "pending"])]
            )
        )
        # The data set and the grant the uses are logged against, in their own block. Nonces are always
        # given: anvil answers a batch's calls concurrently and would hand two of them the same nonce.
        register = sharing_abi.encode_call("registerDataset", [dataset, keccak(text="metadata")])
        give = sharing_abi.encode_call(
            "grant",
            [grant, dataset, encode_department_code(WEB3_CONSUMER_DEPARTMENT), encode_short_id("BENCH-LOAD"),
             keccak(text="scope"), VALID_FROM, VALID_UNTIL],
        )  # fmt: skip
        node.batch(
            [
                ("eth_sendTransaction", [_tx(issuer, sharing, register, nonce=hex(issuer_nonce))]),
                ("eth_sendTransaction", [_tx(issuer, sharing, give, nonce=hex(issuer_nonce + 1))]),
            ]
        )
        issuer_nonce += 2
        _mine_until_empty(node, 1)
        issue_gas, use_gas = (
            math.ceil(int(gas, 16) * GAS_MARGIN)
            for gas in node.batch(
                [
                    ("eth_estimateGas", [_tx(issuer, certificates, issue(0))]),
                    ("eth_estimateGas", [_tx(consumer, sharing, log_use(0))]),
                ]
            )
        )
        issues, uses = count - count // 2, count // 2

        def transaction(k: int) -> tuple[str, list[Any]]:
            """The k-th transaction: issues and uses alternate while both last, so both kinds fill every block."""
            i, by_consumer = (k // 2, k % 2 == 1) if k < 2 * uses else (k - uses, False)
            if by_consumer:
                tx = _tx(consumer, sharing, log_use(i), gas=hex(use_gas), nonce=hex(consumer_nonce + i))
            else:
                tx = _tx(issuer, certificates, issue(i), gas=hex(issue_gas), nonce=hex(issuer_nonce + i))
            return "eth_sendTransaction", [tx]

        # Built a chunk at a time: 100,000 prepared transactions would hold hundreds of MB for nothing.
        for start in range(0, count, MINE_EVERY):
            chunk = [transaction(k) for k in range(start, min(count, start + MINE_EVERY))]
            # A few batches in flight at once: anvil serves them on several threads.
            list(senders.map(node.batch, [chunk[at : at + SEND_BATCH] for at in range(0, len(chunk), SEND_BATCH)]))
            gas = sum(issue_gas if tx[1][0]["to"] == certificates else use_gas for tx in chunk)
            _mine_until_empty(node, math.ceil(gas / BLOCK_GAS_LIMIT))
        last_block = int(node.call("eth_blockNumber"), 16)
        _check_all_succeeded(node, sharing_abi, sharing, grant, uses, issuer, issuer_nonce + issues)
    finally:
        node.call("evm_setIntervalMining", [BLOCK_TIME_SECONDS])
        senders.shutdown()
        node.close()
    # The data set and the grant are two more events of the same block range.
    return LoadedEvents(count + 2, first_block, last_block, time.perf_counter() - started)


def _check_all_succeeded(
    node: _Node, sharing_abi: Any, sharing: str, grant: bytes, uses: int, issuer: str, issuer_nonce: int
) -> None:
    """Every use was logged (the grant's counter) and every issue was mined; a revert would break the figures."""
    counted = node.call(
        "eth_call", [{"to": sharing, "data": "0x" + sharing_abi.encode_call("useCount", [grant]).hex()}]
    )
    logged = int(sharing_abi.decode_output("useCount", bytes.fromhex(counted[2:])))
    mined = int(node.call("eth_getTransactionCount", [issuer, "latest"]), 16)
    if logged != uses or mined != issuer_nonce:
        raise BenchSetupError(f"event load: {logged} of {uses} uses logged, issuer nonce {mined} of {issuer_nonce}")

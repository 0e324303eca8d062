"""A re-org on the node: the index and every answer the service gives afterwards match the chain.

``govledger serve`` runs on anvil with 4 confirmations. Records and certificates are written and settled;
then block production is paused, a second round of writes is mined into one block, and that block and the
next are replaced by ``anvil_reorg``: the new blocks hold a transaction of another department instead (the
service's transactions vanish from the chain, as after a real fork). From then on:

- the indexer must drop the events of the orphaned blocks, index the new ones, and keep its checkpoint and
  block hashes on the new chain (compared row by row with ``eth_getLogs``);
- the transaction manager must notice that its mined-but-not-final transactions vanished and send them
  again, so every write accepted before the fork is confirmed on the new chain;
- the API (certificate verification, record state and proof, audit events, integrity, completeness) must
  never claim anything the new chain does not hold, both right after the fork and once everything settled.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from govledger.bench.certificates_issue import certificate_body
from govledger.bench.records_single import record_body
from govledger.bench.stack import API_DEPARTMENT, WEB3_DEPARTMENT, Stack, start_stack
from govledger.chain.artifacts import load_artifact
from govledger.chain.deploy import Deployment
from govledger.shortids import short_id_hex
from tests.reliability.on_chain import NodeReader
from tests.reliability.service_db import auditor_key, index_state, service_engine

pytestmark = pytest.mark.anvil

CONFIRMATIONS = 4
REORG_DEPTH = 2
CERTIFICATES_PER_ROUND = 4
RECORDS_PER_ROUND = 12
SETTLE_TIMEOUT = 60.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = SETTLE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


class Round:
    """One round of writes through the API: certificates and single records, and where each went."""

    def __init__(self, client: httpx.Client, tag: str):
        self.client = client
        self.certificates: dict[str, str] = {}  # certificate id -> operation id
        self.records: list[str] = []
        for n in range(CERTIFICATES_PER_ROUND):
            certificate_id = f"RGC{tag}-{n}"
            reply = client.post("/api/v1/certificates", json=certificate_body(certificate_id))
            assert reply.status_code == 202, reply.text
            self.certificates[certificate_id] = reply.json()["operation"]["id"]
        for n in range(RECORDS_PER_ROUND):
            record_id = f"RGR{tag}-{n}"
            reply = client.post("/api/v1/records", json=record_body(record_id))
            assert reply.status_code == 202, reply.text
            self.records.append(record_id)

    def operations(self) -> list[dict[str, Any]]:
        """Every operation of the round (certificate issues and record batches), as the API shows it now."""
        ids = set(self.certificates.values())
        for record_id in self.records:
            operation_id = self.client.get(f"/api/v1/records/{record_id}").json().get("operation_id")
            if operation_id is None:
                return []  # not batched yet
            ids.add(operation_id)
        return [self.client.get(f"/api/v1/operations/{operation_id}").json() for operation_id in sorted(ids)]

    def settled(self) -> bool:
        operations = self.operations()
        return bool(operations) and all(op["status"] == "confirmed" for op in operations)


class Mismatches:
    """Everything the service said that the chain contradicts, with a note of where."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, ok: bool, note: str) -> None:
        if not ok:
            self.found.append(note)


def compare_index(stack: Stack, node: NodeReader, addresses: list[str], start: int, mismatches: Mismatches) -> int:
    """Index rows, checkpoint and kept block hashes against the chain; the checkpoint's block number."""
    state = index_state(service_engine(stack))
    assert state.checkpoint is not None
    number, block_hash = state.checkpoint
    mismatches.check(node.block_hash(number) == block_hash.lower(), f"checkpoint {number} is not on the chain")
    on_chain = node.log_keys(addresses, start, number)
    indexed = {key for key in state.events if key[2] <= number}
    for key in sorted(on_chain - indexed):
        mismatches.check(False, f"event on chain but not indexed: {key}")
    for key in sorted(state.events - on_chain):
        mismatches.check(False, f"indexed event not on the chain: {key}")
    for block, stored in state.block_hashes.items():
        mismatches.check(node.block_hash(block) == stored, f"kept hash of block {block} is not on the chain")
    return number


def audit_events(auditor: httpx.Client) -> tuple[list[dict[str, Any]], int]:
    """Every event the audit API lists (all pages, final or not), and the final block it vouches for."""
    events: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = auditor.get("/api/v1/audit/events", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        events += body["events"]
        cursor = body["next_cursor"]
        if not cursor:
            return events, body["final_block"]


def compare_answers(
    client: httpx.Client,
    auditor: httpx.Client,
    node: NodeReader,
    addresses: list[str],
    start: int,
    rounds: list[Round],
    mismatches: Mismatches,
) -> None:
    """Each answer of the API about these rounds, and the audit views, against the chain."""
    for round_ in rounds:
        for certificate_id in round_.certificates:
            answer = client.get(f"/api/v1/verify/certificates/{certificate_id}").json()
            anchor = answer.get("anchor") or {}
            if answer["status"] == "valid" or anchor.get("block_number") is not None:
                mined = node.emits_topic(anchor.get("tx_hash"), short_id_hex(certificate_id))
                receipt = node.receipt(anchor["tx_hash"]) if mined else None
                in_block = receipt is not None and int(receipt["blockNumber"], 16) == anchor.get("block_number")
                mismatches.check(mined and in_block, f"certificate {certificate_id}: {answer['status']} {anchor}")
        for record_id in round_.records:
            record = client.get(f"/api/v1/records/{record_id}").json()
            if record["status"] == "anchored" or record.get("block_number") is not None:
                mismatches.check(node.record_on_chain(record), f"record {record_id}: {record['status']}")
            proof = client.get(f"/api/v1/records/{record_id}/proof")
            if proof.status_code == 200:
                bundle = str(proof.json())
                receipt = node.receipt(record["tx_hash"]) if record.get("tx_hash") else None
                mismatches.check(
                    receipt is not None and receipt["blockHash"].lower() in bundle.lower(),
                    f"proof of {record_id} names a block that does not hold its batch",
                )
            else:
                mismatches.check(proof.status_code == 409, f"proof of {record_id}: {proof.status_code}")
    events, final_block = audit_events(auditor)
    listed = {(e["tx_hash"].lower(), e["log_index"], e["block_number"], e["block_hash"].lower()) for e in events}
    # The index is complete up to its checkpoint, so up to the last block it lists it must equal the chain.
    on_chain = node.log_keys(addresses, start, max(e["block_number"] for e in events))
    wrongly_final = [e for e in events if e["final"] != (e["block_number"] <= final_block)]
    mismatches.check(not wrongly_final, f"events with a wrong 'final' flag: {wrongly_final[:3]}")
    mismatches.check(
        final_block <= node.head() - CONFIRMATIONS + 1, f"final block {final_block} is not {CONFIRMATIONS} deep"
    )
    mismatches.check(
        listed == on_chain,
        "audit events differ from the chain: "
        f"listed only {sorted(listed - on_chain)[:3]}, on chain only {sorted(on_chain - listed)[:3]}",
    )
    integrity = auditor.get("/api/v1/audit/integrity").json()
    mismatches.check(integrity.get("ok") is True, f"audit integrity: {integrity}")
    for department in (API_DEPARTMENT, WEB3_DEPARTMENT):
        completeness = auditor.get(f"/api/v1/audit/departments/{department}/completeness").json()
        mismatches.check(completeness.get("complete") is True, f"completeness of {department}: {completeness}")


def foreign_anchor(stack: Stack, deployment: Deployment) -> tuple[dict[str, str], str]:
    """A transaction of the other department (an unlocked anvil account), and the batch root it anchors."""
    root = "0x" + os.urandom(32).hex()
    data = load_artifact("RecordRegistry").interface.encode_call("anchorBatch", [bytes.fromhex(root[2:]), 3])
    tx = {"from": stack.web3_account, "to": deployment.address_of("RecordRegistry"), "data": "0x" + data.hex()}
    return tx, root


def test_after_a_reorg_the_index_and_every_answer_match_the_new_chain(tmp_path: Path):
    stack = start_stack(
        tmp_path,
        rate_limit_per_minute=10_000,
        extra_env={
            "GOVLEDGER_CONFIRMATIONS": str(CONFIRMATIONS),
            "GOVLEDGER_REBROADCAST_AFTER_SECONDS": "2",
            "GOVLEDGER_INDEXER_POLL_SECONDS": "0.2",
            "GOVLEDGER_BATCH_MAX_DELAY_SECONDS": "0.3",
        },
    )
    engine = service_engine(stack)
    deployment = Deployment.load(stack.deployment_file)
    addresses = [contract.address for contract in deployment.contracts.values()]
    start = deployment.start_block
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    auditor_headers = {"Authorization": f"Bearer {auditor_key(engine, API_DEPARTMENT)}"}
    mismatches = Mismatches()
    try:
        with (
            httpx.Client(base_url=stack.api_url, headers=headers, timeout=30) as client,
            httpx.Client(base_url=stack.api_url, headers=auditor_headers, timeout=30) as auditor,
            NodeReader(stack.chain_url) as node,
        ):
            settled = Round(client, "A")
            wait_for(settled.settled, "the first round to be confirmed")

            # Pause block production: the second round is mined into exactly one block, on top of which
            # one more block is mined; both are then replaced.
            node.rpc("evm_setIntervalMining", [0])
            forked = Round(client, "B")

            def all_in_mempool() -> bool:
                operations = forked.operations()
                return bool(operations) and all(
                    op["tx_hash"] and node.rpc("eth_getTransactionByHash", [op["tx_hash"]]) for op in operations
                )

            wait_for(all_in_mempool, "the second round to be sent")
            node.rpc("evm_mine", [])
            fork_block = node.head()
            node.rpc("evm_mine", [])
            wait_for(
                lambda: all(op["block_number"] == fork_block for op in forked.operations()),
                "the transaction manager to see the second round mined",
            )
            wait_for(
                lambda: (index_state(engine).checkpoint or (0, ""))[0] == fork_block + 1,
                "the indexer to reach the head",
            )
            indexed_before = index_state(engine).events
            orphaned = node.log_keys(addresses, fork_block, fork_block + 1)
            assert orphaned and orphaned <= indexed_before
            assert all(op["status"] == "submitted" for op in forked.operations()), "mined, but not final yet"

            tx, foreign_root = foreign_anchor(stack, deployment)
            node.rpc("anvil_reorg", [REORG_DEPTH, [[tx, 0]]])
            assert node.head() == fork_block + 1
            replacement = node.log_keys(addresses, fork_block, fork_block + 1)
            assert replacement and not replacement & orphaned

            # Right after the fork, while no new block comes: the service must catch up and then only say
            # what the new chain holds.
            wait_for(
                lambda: index_state(engine).checkpoint == (fork_block + 1, node.block_hash(fork_block + 1)),
                "the indexer to follow the re-org",
            )
            wait_for(
                lambda: all(op["block_number"] is None for op in forked.operations()),
                "the transaction manager to notice the vanished transactions",
            )
            compare_index(stack, node, addresses, start, mismatches)
            compare_answers(client, auditor, node, addresses, start, [settled, forked], mismatches)
            after_fork = len(mismatches.found)

            # Blocks again: the vanished transactions are sent again and confirmed on the new chain.
            node.forget_receipts()
            node.rpc("evm_setIntervalMining", [1])
            wait_for(forked.settled, "the second round to be confirmed again")
            last_block = max(op["block_number"] for op in forked.operations())
            wait_for(
                lambda: auditor.get("/api/v1/audit/events", params={"limit": 1}).json()["final_block"] >= last_block,
                "the re-sent round to be final and indexed",
            )
            remined = node.log_keys(addresses, fork_block + 2, last_block)
            resent = len(forked.operations())
            compare_index(stack, node, addresses, start, mismatches)
            compare_answers(client, auditor, node, addresses, start, [settled, forked], mismatches)
            for round_ in (settled, forked):
                for certificate_id in round_.certificates:
                    status = client.get(f"/api/v1/verify/certificates/{certificate_id}").json()["status"]
                    mismatches.check(status == "valid", f"certificate {certificate_id} is {status} after settling")
                for record_id in round_.records:
                    status = client.get(f"/api/v1/records/{record_id}").json()["status"]
                    mismatches.check(status == "anchored", f"record {record_id} is {status} after settling")
            foreign = auditor.get(
                "/api/v1/audit/events", params={"event": "BatchAnchored", "department": WEB3_DEPARTMENT}
            ).json()["events"]
            mismatches.check(
                [event["args"].get("root", "").lower() for event in foreign] == [foreign_root],
                f"the other department's batch in the audit view: {foreign}",
            )

        print(
            f"re-org: blocks_reorged={REORG_DEPTH} events_removed={len(orphaned)} "
            f"events_added={len(replacement)} events_remined={len(remined)} "
            f"operations_resent={resent} mismatches_after_fork={after_fork} "
            f"mismatches={len(mismatches.found)}"
        )
        assert not mismatches.found, mismatches.found[:10]
    finally:
        engine.dispose()
        stack.close()

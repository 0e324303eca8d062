"""Checks against the node itself that an accepted write really is on chain, without trusting the service.

The service's answer (a record's ``tx_hash``, an operation's ``tx_hash``) only says where to look; the
receipt read from the node must exist, have succeeded, and carry the event whose first indexed argument is
the write's own id (a record batch's root, a certificate's number).
"""

from __future__ import annotations

from typing import Any

import httpx

from govledger.shortids import short_id_hex


class NodeReader:
    """Receipts read from the node over one kept-alive connection, each transaction's read once."""

    def __init__(self, chain_url: str):
        self._client = httpx.Client(timeout=10)
        self._url = chain_url
        self._receipts: dict[str, dict[str, Any] | None] = {}

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> NodeReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def rpc(self, method: str, params: list[Any]) -> Any:
        body = self._client.post(self._url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
        reply = body.json()
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        return reply["result"]

    def forget_receipts(self) -> None:
        """Read every receipt afresh from now on (after a re-org they may have changed)."""
        self._receipts.clear()

    def head(self) -> int:
        return int(self.rpc("eth_blockNumber", []), 16)

    def block_hash(self, number: int) -> str | None:
        block = self.rpc("eth_getBlockByNumber", [hex(number), False])
        return str(block["hash"]).lower() if block else None

    def log_keys(self, addresses: list[str], first: int, last: int) -> set[tuple[str, int, int, str]]:
        """(tx_hash, log_index, block_number, block_hash) of every log of ``addresses`` in the block range."""
        logs = self.rpc("eth_getLogs", [{"address": addresses, "fromBlock": hex(first), "toBlock": hex(last)}])
        return {
            (log["transactionHash"].lower(), int(log["logIndex"], 16), int(log["blockNumber"], 16),
             log["blockHash"].lower())
            for log in logs
        }  # fmt: skip

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        if tx_hash not in self._receipts:
            self._receipts[tx_hash] = self.rpc("eth_getTransactionReceipt", [tx_hash])
        return self._receipts[tx_hash]

    def emits_topic(self, tx_hash: str | None, topic: str) -> bool:
        """True if the transaction succeeded on chain with a log whose first indexed argument is ``topic``."""
        if tx_hash is None:
            return False
        found = self.receipt(tx_hash)
        if found is None or int(found["status"], 16) != 1:
            return False
        return any(len(log["topics"]) > 1 and log["topics"][1].lower() == topic.lower() for log in found["logs"])

    def record_on_chain(self, record: dict[str, Any]) -> bool:
        """A record (GET /records/{id}) is on chain: its batch's BatchAnchored event carries the batch root."""
        root = record.get("batch_root")
        return root is not None and self.emits_topic(record.get("tx_hash"), root)

    def certificate_on_chain(self, certificate_id: str, operation: dict[str, Any]) -> bool:
        """A certificate's issue operation is on chain: its CertificateIssued event names the certificate."""
        return self.emits_topic(operation.get("tx_hash"), short_id_hex(certificate_id))

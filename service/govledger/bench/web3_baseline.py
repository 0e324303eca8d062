"""The baseline for the record rows: what a team writes with web3.py in an afternoon.

``contract.functions.anchorRecord(...).transact()`` from a node-unlocked account, then
``wait_for_transaction_receipt``, one record after another, for a fixed time. It imports web3 directly on
purpose: the point is to measure plain web3.py, not govledger's chain layer.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from web3 import Web3
from web3.contract import Contract

from govledger.bench.load import BenchRunError
from govledger.chain.deploy import Deployment

ARTIFACTS = Path(__file__).resolve().parents[1] / "chain" / "artifacts"
SHA256 = 1


def _contract(web3: Web3, deployment_file: Path, name: str) -> Contract:
    abi = json.loads((ARTIFACTS / f"{name}.json").read_text())["abi"]
    address = Deployment.load(deployment_file).contracts[name].address
    return web3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def web3_records_per_second(chain_url: str, deployment_file: Path, account: str, seconds: float) -> tuple[float, int]:
    """Records anchored per second the usual web3.py way, and how many were anchored."""
    web3 = Web3(Web3.HTTPProvider(chain_url))
    registry = _contract(web3, deployment_file, "RecordRegistry")
    sender = Web3.to_checksum_address(account)
    schema = b"BENCH-SCHEMA".ljust(32, b"\0")
    count = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds or count == 0:
        record_id = f"W3-{count}-{os.urandom(4).hex()}".encode().ljust(32, b"\0")
        tx_hash = registry.functions.anchorRecord(record_id, os.urandom(32), SHA256, schema, [], 0).transact(
            {"from": sender}
        )
        receipt = web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
        if receipt["status"] != 1:
            raise BenchRunError("the baseline's anchorRecord transaction reverted")
        count += 1
    return count / (time.perf_counter() - start), count


def certificate_lookup_requests(chain_url: str, deployment_file: Path, cert_ids: list[str]) -> list[str]:
    """JSON-RPC bodies of the plain ``certificateOf`` eth_call for each id: what the baseline sends to the node."""
    web3 = Web3(Web3.HTTPProvider(chain_url))
    registry = _contract(web3, deployment_file, "CertificateRegistry")
    bodies = []
    for cert_id in cert_ids:
        data = registry.encode_abi("certificateOf", args=[cert_id.encode().ljust(32, b"\0")])
        call = {"to": registry.address, "data": data}
        bodies.append(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [call, "latest"]}))
    return bodies

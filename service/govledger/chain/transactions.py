"""Building, sending and confirming single transactions, and explaining why one failed.

This is the simple, one-at-a-time path used by deployment and administration. The service's own writes
go through the transaction manager, which persists each operation first and pipelines nonces; both share
the building and decoding here so a transaction looks the same whichever path sent it.
"""

from __future__ import annotations

import time
from typing import Any

from eth_utils import to_checksum_address

from govledger.chain.abi import ContractInterface, DecodedError
from govledger.chain.client import CallReverted, Chain, Receipt, checksummed
from govledger.errors import ChainError, ChainUnavailableError, ContractRevertError
from govledger.keys import Signer

#: Head-room over the node's gas estimate: state can change between estimate and inclusion.
GAS_MARGIN = 1.25


def build_transaction(
    chain: Chain,
    *,
    sender: str,
    to: str | None,
    data: bytes,
    nonce: int,
    gas: int,
    value: int = 0,
    fees: dict[str, int] | None = None,
) -> dict[str, Any]:
    """An unsigned transaction with the given fee fields, or the chain's current ones."""
    tx: dict[str, Any] = {
        "chainId": chain.chain_id,
        "nonce": nonce,
        "gas": gas,
        "value": value,
        "data": data,
        **(fees if fees is not None else chain.fee_fields()),
    }
    if to is not None:
        tx["to"] = checksummed(to)
    if "maxFeePerGas" in tx:
        tx["type"] = 2
    return tx


def estimate_gas(chain: Chain, interface: ContractInterface, *, sender: str, to: str | None, data: bytes) -> int:
    """The gas to give a transaction, or the contract's custom error if it would revert."""
    request: dict[str, Any] = {"from": to_checksum_address(sender), "data": data}
    if to is not None:
        request["to"] = to_checksum_address(to)
    try:
        return int(chain.estimate_gas(request) * GAS_MARGIN)
    except CallReverted as exc:
        raise revert_error(interface, exc.data) from None


def revert_error(interface: ContractInterface, revert_data: bytes) -> ContractRevertError:
    decoded = interface.decode_error(revert_data)
    return ContractRevertError(decoded.name, decoded.args)


def explain_failure(
    chain: Chain, interface: ContractInterface, *, sender: str, to: str, data: bytes, block_number: int
) -> DecodedError:
    """Why a mined transaction failed: replay it as a call against the state before its block."""
    try:
        chain.call(to, data, sender=sender, block=max(block_number - 1, 0))
    except CallReverted as exc:
        return interface.decode_error(exc.data)
    # The state it ran against differed (other transactions earlier in the block); nothing more to say.
    return DecodedError("Reverted", {})


def wait_for_receipt(chain: Chain, tx_hash: str, *, timeout: float = 60.0, poll: float = 0.05) -> Receipt:
    """Poll until the transaction is mined; ChainUnavailableError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        receipt = chain.get_receipt(tx_hash)
        if receipt is not None:
            return receipt
        if time.monotonic() > deadline:
            raise ChainUnavailableError(f"transaction {tx_hash} was not mined within {timeout:.0f} s")
        time.sleep(poll)


def send_and_confirm(
    chain: Chain,
    signer: Signer,
    interface: ContractInterface,
    *,
    to: str | None,
    data: bytes,
    gas: int | None = None,
    timeout: float = 60.0,
) -> Receipt:
    """Sign, send and wait for one transaction; raise the contract's custom error if it fails."""
    if gas is None:
        gas = estimate_gas(chain, interface, sender=signer.address, to=to, data=data)
    nonce = chain.transaction_count(signer.address, "pending")
    tx = build_transaction(chain, sender=signer.address, to=to, data=data, nonce=nonce, gas=gas)
    signed = signer.sign_transaction(tx)
    tx_hash = chain.send_raw_transaction(signed.raw)
    receipt = wait_for_receipt(chain, tx_hash, timeout=timeout)
    if receipt.status != 1:
        if to is None:
            raise ChainError(f"contract creation {tx_hash} failed")
        decoded = explain_failure(
            chain, interface, sender=signer.address, to=to, data=data, block_number=receipt.block_number
        )
        raise ContractRevertError(decoded.name, decoded.args)
    return receipt

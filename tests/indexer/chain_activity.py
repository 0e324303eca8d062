"""Making many governance events on anvil quickly, and reading back what the chain itself holds."""

from __future__ import annotations

from govledger.chain.client import Chain, LogEntry
from govledger.chain.transactions import build_transaction, wait_for_receipt
from tests.fixtures.anvil import AnvilNode
from tests.support.consortium import SET_THRESHOLD, Consortium, payload

# A SetThreshold proposal is the cheapest governance action: one ProposalCreated event per transaction.
PROPOSAL_GAS = 300_000


def propose_many(
    anvil: AnvilNode, consortium: Consortium, count: int, *, department: str = "CS-DRB", per_block: int = 1
) -> list[str]:
    """Send ``count`` proposals, ``per_block`` to a block, without waiting for each; return their tx hashes.

    Pre-signed transactions with consecutive nonces and a fixed gas limit skip the estimate and receipt
    round trips of ``send_and_confirm``, which makes thousands of events take seconds rather than minutes.
    """
    chain, signer, contract = consortium.chain, consortium.signers[department], consortium.contract
    data = contract.encode("propose", SET_THRESHOLD, payload(["uint8"], [2]))
    nonce = chain.transaction_count(signer.address)
    tx_hashes: list[str] = []
    anvil.rpc("evm_setAutomine", [False])
    try:
        for i in range(count):
            tx = build_transaction(
                chain, sender=signer.address, to=contract.address, data=data, nonce=nonce + i, gas=PROPOSAL_GAS
            )
            tx_hashes.append(chain.send_raw_transaction(signer.sign_transaction(tx).raw))
            if (i + 1) % per_block == 0:
                anvil.rpc("evm_mine")
        if count % per_block:
            anvil.rpc("evm_mine")
    finally:
        anvil.rpc("evm_setAutomine", [True])
    if tx_hashes:
        assert wait_for_receipt(chain, tx_hashes[-1], timeout=10).status == 1
    return tx_hashes


def logs_on_chain(chain: Chain, consortium: Consortium) -> set[tuple[str, int]]:
    """(tx hash, log index) of every log the system contracts have on the chain now."""
    logs: list[LogEntry] = chain.get_logs(
        [c.address for c in consortium.deployment.contracts.values()],
        consortium.deployment.start_block,
        chain.block_number(),
    )
    return {(log.tx_hash, log.log_index) for log in logs}

"""The gas row: gas per operation, govledger's contracts next to the Ethereum Attestation Service (EAS).

Both sides are measured in the same run on the bench's anvil, from the ``gasUsed`` of transaction receipts.
EAS's SchemaRegistry and EAS are deployed from the compiled artifacts of the pinned npm package
``@ethereum-attestation-service/eas-contracts`` (tools/, installed by scripts/install-tools); nothing of EAS
is copied into this repository. govledger's contracts are driven with plain web3.py ``transact()`` from the
unlocked account of department BENCH-W3, and log use from BENCH-W3-USE, the department it grants to.

Every measured call is a steady-state one: the acting department has acted before (its action counter is
non-zero, as on a live network) and, for each operation that creates something (issue, anchor, batch
anchor, grant, log use, attest, timestamp), a warm-up of the same operation ran first, so no figure carries
the one-off cost of a first write to a contract-wide slot. What each operation writes for itself (a new
certificate's slot, a new attestation's slots) is its real cost and is kept. Revocations on either side
touch only the revoked item's own slots.

Transactions that do not depend on each other are sent together and awaited together, so the row costs a
handful of 1 s blocks rather than one block per transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract
from web3.contract.contract import ContractConstructor, ContractFunction
from web3.types import TxParams, TxReceipt

from govledger.bench.load import BenchRunError
from govledger.bench.stack import (
    BLOCK_GAS_LIMIT,
    REPO_ROOT,
    WEB3_CONSUMER_DEPARTMENT,
    Stack,
    mining_each_transaction,
)
from govledger.bench.table import Row, ratio_text
from govledger.chain.deploy import Deployment
from govledger.consortium.departments import encode_department_code
from govledger.shortids import encode_short_id

SYSTEM_ARTIFACTS = Path(__file__).resolve().parents[1] / "chain" / "artifacts"
EAS_PACKAGE = REPO_ROOT / "tools" / "node_modules" / "@ethereum-attestation-service" / "eas-contracts"
EAS_ARTIFACTS = EAS_PACKAGE / "artifacts" / "contracts"
ZERO_ADDRESS = "0x" + "00" * 20
NO_REFERENCE = bytes(32)

#: What our CertificateRegistry.issue records, as an EAS schema: the same fields, with validUntil carried by
#: the attestation's own expirationTime. The attestation, like ours, names its attester and its time.
CERTIFICATE_SCHEMA = (
    "bytes32 certificateId,bytes32 documentHash,uint8 hashAlgorithm,bytes32 holderCommitment,"
    "bytes32 certificateType,uint64 validFrom"
)
CERTIFICATE_TYPES = ("bytes32", "bytes32", "uint8", "bytes32", "bytes32", "uint64")
#: A smaller schema (a hash of the certificate, the holder and the expiry), to show how far the comparison
#: depends on how much of the certificate a team would put on chain with EAS.
MINIMAL_SCHEMA = "bytes32 certificateHash,bytes32 holderCommitment,uint64 validUntil"
MINIMAL_TYPES = ("bytes32", "bytes32", "uint64")

BATCH_RECORDS = 1_000
MULTI_ATTEST_WANTED = 1_000
#: Room left in a block under the multiAttest, so the estimate's rounding can never make it not fit.
BLOCK_GAS_HEADROOM = 0.97
SHA256 = 1
#: Fixed rather than the clock: calldata gas depends on every byte, so inputs must not change between runs.
VALID_FROM = 1_700_000_000
VALID_UNTIL = VALID_FROM + 20 * 365 * 24 * 3600

ISSUE_TARGET = 1 / 3
BATCH_TARGET = 1 / 1000


def sid(text: str) -> bytes:
    return encode_short_id(text)


def _eas_artifact(name: str) -> dict[str, Any]:
    path = EAS_ARTIFACTS / f"{name}.sol" / f"{name}.json"
    if not path.is_file():
        raise BenchRunError(f"EAS artifact {path} is missing; run scripts/install-tools")
    artifact: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return artifact


def _system_contract(web3: Web3, deployment: Deployment, name: str) -> Contract:
    abi = json.loads((SYSTEM_ARTIFACTS / f"{name}.json").read_text(encoding="utf-8"))["abi"]
    return web3.eth.contract(address=Web3.to_checksum_address(deployment.contracts[name].address), abi=abi)


@dataclass(frozen=True)
class Call:
    """One transaction to send: a contract function (or a deployment) and its sender."""

    function: ContractFunction | ContractConstructor
    sender: str
    gas: int | None = None


class Sender:
    """Sends groups of independent transactions from node-unlocked accounts and waits for all their receipts."""

    def __init__(self, web3: Web3):
        self.web3 = web3

    def run(self, calls: Sequence[Call]) -> list[TxReceipt]:
        hashes = []
        for call in calls:
            options: TxParams = {"from": Web3.to_checksum_address(call.sender)}
            if call.gas is not None:
                options["gas"] = call.gas
            hashes.append(call.function.transact(options))
        receipts = [self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=120) for tx_hash in hashes]
        for call, receipt in zip(calls, receipts, strict=True):
            if receipt["status"] != 1:
                raise BenchRunError(f"a gas-comparison transaction reverted: {getattr(call.function, 'fn_name', call)}")
        return receipts


def _deploy(web3: Web3, sender: Sender, account: str, artifact: dict[str, Any], *args: Any) -> Contract:
    factory = web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    (receipt,) = sender.run([Call(factory.constructor(*args), account)])
    address = receipt["contractAddress"]
    if address is None:
        raise BenchRunError(f"deploying {artifact['contractName']} returned no contract address")
    return web3.eth.contract(address=Web3.to_checksum_address(address), abi=artifact["abi"])


def _attestation(expiration: int, data: bytes) -> tuple[str, int, bool, bytes, bytes, int]:
    """EAS's AttestationRequestData: no recipient account (the holder is a commitment), revocable, no value."""
    return (ZERO_ADDRESS, expiration, True, NO_REFERENCE, data, 0)


def certificate_attestation(number: int) -> tuple[str, int, bool, bytes, bytes, int]:
    """The attestation of certificate ``number``: its issue fields as data, validUntil as the expiry."""
    *values, valid_until = certificate_fields(number)
    return _attestation(valid_until, abi_encode(CERTIFICATE_TYPES, values))


def minimal_attestation(number: int) -> tuple[str, int, bool, bytes, bytes, int]:
    values = (keccak(text=f"certificate {number}"), keccak(text=f"holder salt {number}"), VALID_UNTIL)
    return _attestation(VALID_UNTIL, abi_encode(MINIMAL_TYPES, values))


def certificate_fields(number: int) -> tuple[Any, ...]:
    """Arguments of CertificateRegistry.issue with the same values as certificate_attestation(number)."""
    return (
        sid(f"BL-2024-{number:06d}"),
        keccak(text=f"document {number}"),
        SHA256,
        keccak(text=f"holder salt {number}"),
        sid("business-licence"),
        VALID_FROM,
        VALID_UNTIL,
    )


@dataclass
class GasFigures:
    """Gas used by each measured operation, from receipts of this run."""

    ours: dict[str, float]
    eas: dict[str, float]
    multi_attest_items: int
    multi_attest_gas: int
    batch_gas: int


def _schema_uid(registry: Contract, receipt: TxReceipt) -> bytes:
    (registered,) = registry.events.Registered().process_receipt(receipt)
    return bytes(registered["args"]["uid"])


def _attested_uid(eas: Contract, receipt: TxReceipt) -> bytes:
    (attested,) = eas.events.Attested().process_receipt(receipt)
    return bytes(attested["args"]["uid"])


def _multi_attest_size(eas: Contract, schema: bytes, account: str) -> int:
    """How many certificate attestations one multiAttest may carry: the wanted 1,000 or the most that fit.

    The per-item gas comes from two estimates (10 and 20 items), so the largest size that fits in a block is
    found without sending a transaction the node would refuse.
    """

    def estimate(items: int) -> int:
        request = [(schema, [certificate_attestation(900_000 + i) for i in range(items)])]
        return int(eas.functions.multiAttest(request).estimate_gas({"from": account}))

    small, large = estimate(10), estimate(20)
    per_item = (large - small) / 10
    fixed = small - 10 * per_item
    fits = int((BLOCK_GAS_LIMIT * BLOCK_GAS_HEADROOM - fixed) // per_item)
    return min(MULTI_ATTEST_WANTED, fits)


def measure_gas(stack: Stack) -> GasFigures:
    """Deploy EAS next to the system, then measure each operation of both once in a steady state."""
    web3 = Web3(Web3.HTTPProvider(stack.chain_url, request_kwargs={"timeout": 120}))
    sender = Sender(web3)
    owner = Web3.to_checksum_address(stack.web3_account)
    consumer = Web3.to_checksum_address(stack.web3_consumer_account)
    deployment = Deployment.load(stack.deployment_file)
    records = _system_contract(web3, deployment, "RecordRegistry")
    certificates = _system_contract(web3, deployment, "CertificateRegistry")
    sharing = _system_contract(web3, deployment, "SharingRegistry")

    registry = _deploy(web3, sender, owner, _eas_artifact("SchemaRegistry"))
    eas = _deploy(web3, sender, owner, _eas_artifact("EAS"), registry.address)
    certificate_schema, minimal_schema = (
        _schema_uid(registry, receipt)
        for receipt in sender.run(
            [
                Call(registry.functions.register(CERTIFICATE_SCHEMA, ZERO_ADDRESS, True), owner),
                Call(registry.functions.register(MINIMAL_SCHEMA, ZERO_ADDRESS, True), owner),
            ]
        )
    )

    dataset, consumer_dept = sid("DS-GAS-HOUSEHOLD"), encode_department_code(WEB3_CONSUMER_DEPARTMENT)

    def grant(grant_id: str, purpose: str) -> Call:
        """A grant of the data set to BENCH-W3-USE; a new purpose makes it a first grant for that purpose."""
        function = sharing.functions.grant(
            sid(grant_id), dataset, consumer_dept, sid(purpose), keccak(text="scope"), VALID_FROM, VALID_UNTIL
        )
        return Call(function, owner)

    # Warm-ups: the first write of each kind on both sides, and whatever the measured calls build on.
    warm = sender.run(
        [
            Call(sharing.functions.registerDataset(dataset, keccak(text="metadata")), owner),
            Call(certificates.functions.issue(*certificate_fields(1)), owner),
            Call(certificates.functions.issue(*certificate_fields(2)), owner),
            Call(
                records.functions.anchorRecord(sid("GAS-REC-WARM"), keccak(text="warm"), SHA256, sid("s"), [], 0), owner
            ),
            Call(records.functions.anchorBatch(keccak(text="warm batch"), BATCH_RECORDS), owner),
            Call(eas.functions.attest((certificate_schema, certificate_attestation(1))), owner),
            Call(eas.functions.attest((minimal_schema, minimal_attestation(1))), owner),
            Call(eas.functions.timestamp(keccak(text="warm timestamp")), owner),
        ]
    )
    warm_uid = _attested_uid(eas, warm[5])
    sender.run([grant("GR-GAS-WARM", "subsidy-eligibility")])
    sender.run([Call(sharing.functions.logUse(sid("GR-GAS-WARM"), keccak(text="request 0")), consumer)])

    measured: dict[str, Call] = {
        "issue": Call(certificates.functions.issue(*certificate_fields(10)), owner),
        "revoke": Call(certificates.functions.revoke(sid("BL-2024-000001"), sid("LICENCE-CANCELLED")), owner),
        "anchor": Call(
            records.functions.anchorRecord(
                sid("GAS-REC-1"), keccak(text="content v1"), SHA256, sid("household-registration"), [], 0
            ),
            owner,
        ),
        "batch": Call(records.functions.anchorBatch(keccak(text="record batch"), BATCH_RECORDS), owner),
        # A new (data set, consumer, purpose): the grant also writes the "latest grant" pointer, as most do.
        "grant": grant("GR-GAS-0001", "housing-allowance"),
        "log use": Call(sharing.functions.logUse(sid("GR-GAS-WARM"), keccak(text="request 1")), consumer),
        "eas attest": Call(eas.functions.attest((certificate_schema, certificate_attestation(10))), owner),
        "eas attest (minimal schema)": Call(eas.functions.attest((minimal_schema, minimal_attestation(10))), owner),
        "eas revoke": Call(eas.functions.revoke((certificate_schema, (warm_uid, 0))), owner),
        "eas timestamp": Call(eas.functions.timestamp(keccak(text="content v1")), owner),
    }
    gas = {
        name: int(receipt["gasUsed"])
        for name, receipt in zip(measured, sender.run(list(measured.values())), strict=True)
    }

    items = _multi_attest_size(eas, certificate_schema, owner)
    request = [(certificate_schema, [certificate_attestation(100_000 + i) for i in range(items)])]
    # The node's estimate is exact enough; the limit adds what the per-item slope leaves out.
    limit = min(BLOCK_GAS_LIMIT, int(eas.functions.multiAttest(request).estimate_gas({"from": owner}) * 1.02))
    (multi,) = sender.run([Call(eas.functions.multiAttest(request), owner, gas=limit)])
    multi_gas = int(multi["gasUsed"])

    ours = {
        "anchor": gas["anchor"],
        "batch": gas["batch"] / BATCH_RECORDS,
        "issue": gas["issue"],
        "revoke": gas["revoke"],
        "grant": gas["grant"],
        "log use": gas["log use"],
    }
    eas_gas = {
        "attest": gas["eas attest"],
        "attest (minimal schema)": gas["eas attest (minimal schema)"],
        "multiAttest per item": multi_gas / items,
        "revoke": gas["eas revoke"],
        "timestamp": gas["eas timestamp"],
    }
    return GasFigures(
        ours=ours, eas=eas_gas, multi_attest_items=items, multi_attest_gas=multi_gas, batch_gas=gas["batch"]
    )


def _verdict(ratio: float, target: float) -> str:
    return "target met" if ratio <= target else "target MISSED"


def rows_from(figures: GasFigures) -> list[Row]:
    """One row per compared pair: our operation's gas, its EAS counterpart's, the ratio and any target."""
    ours, eas = figures.ours, figures.eas

    def row(what: str, mine: str, theirs: str, label: str, target: str = "—", detail: str = "") -> Row:
        return Row(what, ours[mine], "gas", eas[theirs], label, target, detail)

    minimal = eas["attest (minimal schema)"]
    issue_detail = (
        f"{_verdict(ours['issue'] / eas['attest'], ISSUE_TARGET)}; against an attest of the 3-field schema "
        f"({minimal:,.0f} gas): {ratio_text(ours['issue'] / minimal)}"
    )
    fitted = "" if figures.multi_attest_items == MULTI_ATTEST_WANTED else ", the most that fit in a 30M-gas block"
    batch_detail = (
        f"{_verdict(ours['batch'] / eas['multiAttest per item'], BATCH_TARGET)}; anchorBatch tx "
        f"{figures.batch_gas:,} gas; multiAttest of {figures.multi_attest_items:,} items{fitted}: "
        f"{figures.multi_attest_gas:,} gas"
    )
    anchor_detail = f"against EAS attest ({eas['attest']:,.0f} gas): {ratio_text(ours['anchor'] / eas['attest'])}"
    return [
        row(
            "gas: certificate issue (CertificateRegistry.issue)",
            "issue",
            "attest",
            "gas EAS attest (certificate schema)",
            "≤ 1/3 of EAS attest",
            issue_detail,
        ),
        row(
            f"gas: batch anchor per record (RecordRegistry.anchorBatch of {BATCH_RECORDS:,})",
            "batch",
            "multiAttest per item",
            "gas EAS multiAttest per item",
            "≤ 1/1000 of EAS multiAttest per item",
            batch_detail,
        ),
        row(
            "gas: record anchor (RecordRegistry.anchorRecord)",
            "anchor",
            "timestamp",
            "gas EAS timestamp",
            detail=anchor_detail,
        ),
        row("gas: certificate revoke (CertificateRegistry.revoke)", "revoke", "revoke", "gas EAS revoke"),
        row("gas: sharing grant (SharingRegistry.grant)", "grant", "attest", "gas EAS attest (certificate schema)"),
        row("gas: data use log (SharingRegistry.logUse)", "log use", "timestamp", "gas EAS timestamp"),
    ]


def measure(stack: Stack) -> list[Row]:
    """The gas rows of the table, measured on the stack's anvil (gas does not depend on when blocks come)."""
    with mining_each_transaction(stack.chain_url):
        return rows_from(measure_gas(stack))

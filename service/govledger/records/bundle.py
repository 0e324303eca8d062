"""Proof bundles: a self-contained JSON document proving that one record was anchored on chain in a batch.

A bundle carries everything a verifier needs and nothing it has to take on trust: the record's four leaf
fields, the Merkle proof from its leaf to the batch root, and where the root was anchored (chain, contract,
transaction, block). ``check_offline`` redoes the hashing; ``check_on_chain`` asks any node of the network
whether that transaction really anchored that root and whether the RecordRegistry itself accepts the proof.
The format is specified for outside verifiers in docs/PROOF_BUNDLE.md; change both together, and change
``FORMAT`` whenever a field changes meaning, since bundles are handed out and kept for years.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from govledger.chain.artifacts import load_artifact
from govledger.chain.client import Chain, Receipt
from govledger.chain.contracts import BoundContract
from govledger.consortium.departments import encode_department_code, validate_department_code
from govledger.errors import ContractRevertError, GovLedgerError, ValidationError
from govledger.hashing import HashAlgorithm, digest_stream, hash_hex, parse_hash_hex
from govledger.merkle import RECORD_LEAF_ENCODING, leaf_hash, process_proof

FORMAT = "govledger-proof-bundle-1"
REGISTRY_CONTRACT = "RecordRegistry"
ANCHOR_EVENT = "BatchAnchored"

#: A batch tree deeper than this would hold more leaves than any node could anchor in one transaction's worth
#: of records; a longer "proof" is garbage, and refusing it keeps a hostile bundle from costing much to check.
MAX_PROOF_LENGTH = 64

_TOP_FIELDS = ("format", "record", "leafEncoding", "leafHash", "proof", "root", "anchor")
_RECORD_FIELDS = ("recordId", "contentHash", "hashAlgorithm", "schemaId")
_ANCHOR_FIELDS = ("chainId", "contract", "txHash", "blockNumber", "blockHash")
_ANCHOR_OPTIONAL = ("department",)


@dataclass(frozen=True)
class RecordLeaf:
    """The four fields of a record that make its batch leaf."""

    record_id: bytes
    content_hash: bytes
    hash_algorithm: HashAlgorithm
    schema_id: bytes

    def leaf_values(self) -> list[Any]:
        """The values in RECORD_LEAF_ENCODING order, the algorithm as its on-chain code."""
        return [self.record_id, self.content_hash, int(self.hash_algorithm), self.schema_id]

    def leaf_hash(self) -> str:
        return leaf_hash(RECORD_LEAF_ENCODING, self.leaf_values())


@dataclass(frozen=True)
class Anchor:
    """Where a batch root went on chain."""

    chain_id: int
    contract: str
    tx_hash: str
    block_number: int
    block_hash: str
    department: str | None = None


@dataclass(frozen=True)
class ProofBundle:
    """A parsed, well-formed bundle (well-formed, not yet checked: see check_offline and check_on_chain)."""

    record: RecordLeaf
    leaf_hash: str
    proof: tuple[str, ...]
    root: str
    anchor: Anchor

    def to_dict(self) -> dict[str, Any]:
        """The bundle as the JSON object of docs/PROOF_BUNDLE.md."""
        anchor: dict[str, Any] = {
            "chainId": self.anchor.chain_id,
            "contract": self.anchor.contract,
            "txHash": self.anchor.tx_hash,
            "blockNumber": self.anchor.block_number,
            "blockHash": self.anchor.block_hash,
        }
        if self.anchor.department is not None:
            anchor["department"] = self.anchor.department
        return {
            "format": FORMAT,
            "record": {
                "recordId": hash_hex(self.record.record_id),
                "contentHash": hash_hex(self.record.content_hash),
                "hashAlgorithm": self.record.hash_algorithm.label,
                "schemaId": hash_hex(self.record.schema_id),
            },
            "leafEncoding": list(RECORD_LEAF_ENCODING),
            "leafHash": self.leaf_hash,
            "proof": list(self.proof),
            "root": self.root,
            "anchor": anchor,
        }


# ------------------------------------------------------------------ building and parsing


def _hex32(value: bytes | str) -> str:
    return hash_hex(value) if isinstance(value, bytes) else hash_hex(parse_hash_hex(value))


def build_bundle(
    *,
    record_id: bytes | str,
    content_hash: bytes | str,
    hash_algorithm: HashAlgorithm | str,
    schema_id: bytes | str,
    proof: Sequence[bytes | str],
    root: bytes | str,
    chain_id: int,
    contract: str,
    tx_hash: bytes | str,
    block_number: int,
    block_hash: bytes | str,
    department: str | None = None,
) -> dict[str, Any]:
    """The JSON bundle for one record of an anchored batch; refuses to build one whose proof is wrong."""
    algorithm = hash_algorithm if isinstance(hash_algorithm, HashAlgorithm) else HashAlgorithm.from_name(hash_algorithm)
    record_id_hex, content_hash_hex, schema_id_hex = _hex32(record_id), _hex32(content_hash), _hex32(schema_id)
    leaf = leaf_hash(RECORD_LEAF_ENCODING, [record_id_hex, content_hash_hex, int(algorithm), schema_id_hex])
    anchor: dict[str, Any] = {
        "chainId": chain_id,
        "contract": contract,
        "txHash": _hex32(tx_hash),
        "blockNumber": block_number,
        "blockHash": _hex32(block_hash),
    }
    if department is not None:
        anchor["department"] = department
    data = {
        "format": FORMAT,
        "record": {
            "recordId": record_id_hex,
            "contentHash": content_hash_hex,
            "hashAlgorithm": algorithm.label,
            "schemaId": schema_id_hex,
        },
        "leafEncoding": list(RECORD_LEAF_ENCODING),
        "leafHash": leaf,
        "proof": [_hex32(node) for node in proof],
        "root": _hex32(root),
        "anchor": anchor,
    }
    # One validation path: what build_bundle emits is exactly what parse_bundle accepts.
    bundle = parse_bundle(data)
    problems = check_offline(bundle)
    if problems:
        raise ValidationError("cannot build the proof bundle: " + "; ".join(problems), code="invalid_proof_bundle")
    return bundle.to_dict()


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(f"proof bundle: {field} {message}", code="invalid_proof_bundle", details={"field": field})


def _object(data: Any, field: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _refuse(field, "must be a JSON object")
    for key in required:
        if key not in data:
            raise _refuse(f"{field}.{key}" if field != "bundle" else key, "is missing")
    # Unknown fields are refused: a field this version does not know could change what the bundle claims.
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise _refuse(field, f"has unknown fields {unknown}; this is format {FORMAT}")
    return data


def _hash_field(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise _refuse(field, f"must be 0x followed by 64 hex digits, got {value!r}")
    try:
        return hash_hex(parse_hash_hex(value))
    except ValidationError:
        raise _refuse(field, f"must be 0x followed by 64 hex digits, got {value!r}") from None


def _int_field(value: Any, field: str, minimum: int) -> int:
    # bool is an int in Python but never a number in JSON.
    if type(value) is not int or value < minimum:
        raise _refuse(field, f"must be an integer ≥ {minimum}, got {value!r}")
    return value


def _address_field(value: Any, field: str) -> str:
    if not isinstance(value, str) or not is_hex_address(value):
        raise _refuse(field, f"must be a 0x-prefixed 20-byte address, got {value!r}")
    mixed_case = value[2:] != value[2:].lower() and value[2:] != value[2:].upper()
    if mixed_case and not is_checksum_address(value):
        # A mixed-case address with a bad EIP-55 checksum is how a mistyped address shows itself.
        raise _refuse(field, f"has a wrong EIP-55 checksum: {value!r}")
    return to_checksum_address(value)


def _algorithm_field(value: Any, field: str) -> HashAlgorithm:
    if not isinstance(value, str) or value not in {a.label for a in HashAlgorithm}:
        known = ", ".join(a.label for a in HashAlgorithm)
        raise _refuse(field, f"must be one of {known}, got {value!r}")
    return HashAlgorithm.from_name(value)


def parse_bundle(data: Mapping[str, Any]) -> ProofBundle:
    """A ProofBundle from its JSON object, refusing anything malformed with a message naming the field."""
    top = _object(data, "bundle", _TOP_FIELDS)
    if top["format"] != FORMAT:
        raise _refuse("format", f"must be {FORMAT!r}, got {top['format']!r}")
    if top["leafEncoding"] != list(RECORD_LEAF_ENCODING):
        raise _refuse("leafEncoding", f"must be {list(RECORD_LEAF_ENCODING)}, got {top['leafEncoding']!r}")

    raw_record = _object(top["record"], "record", _RECORD_FIELDS)
    record = RecordLeaf(
        record_id=parse_hash_hex(_hash_field(raw_record["recordId"], "record.recordId")),
        content_hash=parse_hash_hex(_hash_field(raw_record["contentHash"], "record.contentHash")),
        hash_algorithm=_algorithm_field(raw_record["hashAlgorithm"], "record.hashAlgorithm"),
        schema_id=parse_hash_hex(_hash_field(raw_record["schemaId"], "record.schemaId")),
    )

    raw_proof = top["proof"]
    if not isinstance(raw_proof, list):
        raise _refuse("proof", "must be a list of hashes")
    if len(raw_proof) > MAX_PROOF_LENGTH:
        raise _refuse("proof", f"has {len(raw_proof)} elements; at most {MAX_PROOF_LENGTH} are possible")
    proof = tuple(_hash_field(node, f"proof[{i}]") for i, node in enumerate(raw_proof))

    raw_anchor = _object(top["anchor"], "anchor", _ANCHOR_FIELDS, _ANCHOR_OPTIONAL)
    department = raw_anchor.get("department")
    if department is not None:
        try:
            validate_department_code(department)
        except ValidationError as exc:
            raise _refuse("anchor.department", exc.message) from None
    anchor = Anchor(
        chain_id=_int_field(raw_anchor["chainId"], "anchor.chainId", 1),
        contract=_address_field(raw_anchor["contract"], "anchor.contract"),
        tx_hash=_hash_field(raw_anchor["txHash"], "anchor.txHash"),
        block_number=_int_field(raw_anchor["blockNumber"], "anchor.blockNumber", 0),
        block_hash=_hash_field(raw_anchor["blockHash"], "anchor.blockHash"),
        department=department,
    )
    return ProofBundle(
        record=record,
        leaf_hash=_hash_field(top["leafHash"], "leafHash"),
        proof=proof,
        root=_hash_field(top["root"], "root"),
        anchor=anchor,
    )


def _as_bundle(bundle: ProofBundle | Mapping[str, Any]) -> ProofBundle:
    return bundle if isinstance(bundle, ProofBundle) else parse_bundle(bundle)


# ------------------------------------------------------------------ checking


def check_offline(bundle: ProofBundle | Mapping[str, Any]) -> list[str]:
    """What is wrong with the bundle's own arithmetic (empty when the leaf and the proof are right).

    A malformed bundle is not a list of problems: parse_bundle refuses it with a ValidationError.
    """
    parsed = _as_bundle(bundle)
    problems: list[str] = []
    expected_leaf = parsed.record.leaf_hash()
    if parsed.leaf_hash != expected_leaf:
        problems.append(f"leafHash {parsed.leaf_hash} is not the leaf of the record's values (that is {expected_leaf})")
    # The proof is followed from the recomputed leaf: the record's values are what is being proved.
    reached = process_proof(expected_leaf, parsed.proof)
    if reached != parsed.root:
        problems.append(f"the proof leads from the record's leaf to {reached}, not to the root {parsed.root}")
    return problems


def check_content(bundle: ProofBundle | Mapping[str, Any], stream: BinaryIO) -> list[str]:
    """Whether the document read from ``stream`` is the one whose hash the bundle carries."""
    parsed = _as_bundle(bundle)
    actual = digest_stream(parsed.record.hash_algorithm, stream)
    if actual != parsed.record.content_hash:
        return [
            f"the document's {parsed.record.hash_algorithm.label} digest is {hash_hex(actual)}, "
            f"the bundle's contentHash is {hash_hex(parsed.record.content_hash)}"
        ]
    return []


def _same_hex(a: str, b: str) -> bool:
    return a.lower() == b.lower()


def _anchor_event_problems(parsed: ProofBundle, receipt: Receipt, registry: BoundContract) -> list[str]:
    """Whether the receipt's logs hold BatchAnchored(root) from the registry (and by the named department)."""
    anchored = []
    for log in receipt.logs:
        event = registry.decode_log(log)
        if event is not None and event.name == ANCHOR_EVENT and hash_hex(bytes(event.args["root"])) == parsed.root:
            anchored.append(event)
    if not anchored:
        return [
            f"transaction {parsed.anchor.tx_hash} has no {ANCHOR_EVENT} event for root {parsed.root} "
            f"from {registry.address}"
        ]
    if parsed.anchor.department is not None:
        expected = encode_department_code(parsed.anchor.department)
        if all(bytes(event.args["ownerDept"]) != expected for event in anchored):
            return [f"root {parsed.root} was anchored by another department than {parsed.anchor.department}"]
    return []


def check_on_chain(
    bundle: ProofBundle | Mapping[str, Any], chain: Chain, *, expected_contract: str | None = None
) -> list[str]:
    """What a node of the network contradicts in the bundle (empty when the chain confirms all of it).

    Checks that the node is the bundle's chain; the code at the contract address is the RecordRegistry
    (and, with ``expected_contract``, the published address); the transaction is mined, succeeded and sits in
    the named block, which is still the chain's block at that height; its logs hold ``BatchAnchored`` for this
    root from that contract; and the contract's own ``verifyRecordInBatch`` accepts the record and proof.
    An unreachable node raises ChainUnavailableError: that says nothing about the bundle.
    """
    parsed = _as_bundle(bundle)
    anchor = parsed.anchor
    if chain.chain_id != anchor.chain_id:
        return [f"the node is on chain {chain.chain_id}, the bundle was anchored on chain {anchor.chain_id}"]
    problems: list[str] = []
    if expected_contract is not None and not _same_hex(expected_contract, anchor.contract):
        problems.append(f"the bundle names contract {anchor.contract}, not the registry {expected_contract}")
    code = chain.get_code(anchor.contract)
    if not code:
        return [*problems, f"there is no contract at {anchor.contract}"]
    if not load_artifact(REGISTRY_CONTRACT).runtime_code_matches(code):
        return [*problems, f"the contract at {anchor.contract} is not a {REGISTRY_CONTRACT}"]

    registry = BoundContract(REGISTRY_CONTRACT, anchor.contract, chain)
    receipt = chain.get_receipt(anchor.tx_hash)
    if receipt is None:
        problems.append(f"transaction {anchor.tx_hash} is not on the chain")
    else:
        if receipt.status != 1:
            problems.append(f"transaction {anchor.tx_hash} failed (status {receipt.status})")
        if receipt.block_number != anchor.block_number or not _same_hex(receipt.block_hash, anchor.block_hash):
            problems.append(
                f"transaction {anchor.tx_hash} is in block {receipt.block_number} ({receipt.block_hash}), "
                f"not block {anchor.block_number} ({anchor.block_hash})"
            )
        problems.extend(_anchor_event_problems(parsed, receipt, registry))
    try:
        canonical = chain.get_block(anchor.block_number)
    except GovLedgerError as exc:
        if exc.code != "block_not_found":
            raise
        problems.append(f"block {anchor.block_number} does not exist on this chain")
    else:
        if not _same_hex(canonical.hash, anchor.block_hash):
            problems.append(
                f"block {anchor.block_number} of the chain is {canonical.hash}, not {anchor.block_hash} (re-organised?)"
            )

    record = parsed.record
    try:
        accepted = registry.call(
            "verifyRecordInBatch",
            parse_hash_hex(parsed.root),
            record.record_id,
            record.content_hash,
            int(record.hash_algorithm),
            record.schema_id,
            [parse_hash_hex(node) for node in parsed.proof],
        )
    except ContractRevertError as exc:
        problems.append(f"the registry refused to verify the record: {exc.error_name}")
    else:
        if accepted is not True:
            problems.append(
                f"the registry at {anchor.contract} does not accept the record and proof for root {parsed.root}"
            )
    return problems

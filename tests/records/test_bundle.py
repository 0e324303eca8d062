"""Proof bundles: strict parsing, the offline arithmetic, the document check, and the checks against a chain."""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_utils import to_checksum_address

from govledger.chain.client import Receipt, Web3Chain
from govledger.chain.contracts import BoundContract
from govledger.chain.transactions import send_and_confirm
from govledger.errors import ValidationError
from govledger.hashing import HashAlgorithm, digest, hash_hex
from govledger.merkle import RECORD_LEAF_ENCODING, StandardMerkleTree
from govledger.records.bundle import (
    FORMAT,
    MAX_PROOF_LENGTH,
    RecordLeaf,
    build_bundle,
    check_content,
    check_offline,
    check_on_chain,
    parse_bundle,
)
from tests.support.consortium import Consortium, deploy_consortium

DOCUMENTS = [f"营业执照 No.{i:04d} 长沙市市场监督管理局".encode() for i in range(5)]
SCHEMA = digest("keccak256", b"govledger/schema/business-licence/1")
ALGORITHMS = [HashAlgorithm.SM3, HashAlgorithm.SHA256, HashAlgorithm.KECCAK256, HashAlgorithm.SM3, HashAlgorithm.SM3]


def record_leaves() -> list[RecordLeaf]:
    return [
        RecordLeaf(
            record_id=digest("keccak256", f"CS-MSA/licence/{i}".encode()),
            content_hash=digest(algorithm, document),
            hash_algorithm=algorithm,
            schema_id=SCHEMA,
        )
        for i, (document, algorithm) in enumerate(zip(DOCUMENTS, ALGORITHMS, strict=True))
    ]


@dataclass
class Batch:
    records: list[RecordLeaf]
    tree: StandardMerkleTree


def make_batch(records: list[RecordLeaf] | None = None) -> Batch:
    records = records or record_leaves()
    return Batch(records, StandardMerkleTree.of([r.leaf_values() for r in records], RECORD_LEAF_ENCODING))


FAKE_ANCHOR: dict[str, Any] = {
    "chain_id": 8848,
    "contract": "0x" + "ab" * 20,
    "tx_hash": "0x" + "01" * 32,
    "block_number": 123,
    "block_hash": "0x" + "02" * 32,
    "department": "CS-MSA",
}


def bundle_for(batch: Batch, index: int, **anchor: Any) -> dict[str, Any]:
    record = batch.records[index]
    return build_bundle(
        record_id=record.record_id,
        content_hash=record.content_hash,
        hash_algorithm=record.hash_algorithm,
        schema_id=record.schema_id,
        proof=batch.tree.proof(index),
        root=batch.tree.root,
        **(anchor or FAKE_ANCHOR),
    )


# ------------------------------------------------------------------ building and parsing


def test_a_built_bundle_has_the_documented_shape_and_passes_the_offline_checks():
    batch = make_batch()
    bundle = bundle_for(batch, 2)
    assert list(bundle) == ["format", "record", "leafEncoding", "leafHash", "proof", "root", "anchor"]
    assert bundle["format"] == FORMAT
    assert bundle["record"]["hashAlgorithm"] == "keccak256"
    assert bundle["leafEncoding"] == ["bytes32", "bytes32", "uint8", "bytes32"]
    assert bundle["leafHash"] == batch.tree.leaf_hash(batch.records[2].leaf_values())
    assert bundle["root"] == batch.tree.root
    assert bundle["anchor"]["contract"] == "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"  # EIP-55
    assert check_offline(bundle) == []


def test_a_bundle_survives_json_and_parses_back_to_the_same_bundle():
    bundle = bundle_for(make_batch(), 0)
    parsed = parse_bundle(json.loads(json.dumps(bundle)))
    assert parsed.to_dict() == bundle
    assert parsed.record.hash_algorithm is HashAlgorithm.SM3


def test_the_department_is_optional():
    anchor = {k: v for k, v in FAKE_ANCHOR.items() if k != "department"}
    bundle = bundle_for(make_batch(), 1, **anchor)
    assert "department" not in bundle["anchor"]
    assert parse_bundle(bundle).anchor.department is None


def test_a_batch_of_one_record_has_an_empty_proof():
    batch = make_batch(record_leaves()[:1])
    bundle = bundle_for(batch, 0)
    assert bundle["proof"] == [] and bundle["root"] == bundle["leafHash"]
    assert check_offline(bundle) == []


def test_building_a_bundle_with_another_records_proof_is_refused():
    batch = make_batch()
    record = batch.records[0]
    with pytest.raises(ValidationError) as info:
        build_bundle(
            record_id=record.record_id,
            content_hash=record.content_hash,
            hash_algorithm=record.hash_algorithm,
            schema_id=record.schema_id,
            proof=batch.tree.proof(1),
            root=batch.tree.root,
            **FAKE_ANCHOR,
        )
    assert info.value.code == "invalid_proof_bundle"


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(bundle: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = bundle
        for key in parents:
            target = target[key]
        if value is _DELETE:
            del target[last]
        else:
            target[last] = value

    return change


_DELETE = object()
HASH = "0x" + "cd" * 32


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (_set("format", "govledger-proof-bundle-2"), "format"),
        (_set("leafEncoding", ["bytes32", "bytes32", "uint256", "bytes32"]), "leafEncoding"),
        (_set("record.contentHash", "cd" * 32), "record.contentHash"),
        (_set("record.recordId", "0x" + "cd" * 31), "record.recordId"),
        (_set("record.schemaId", "0x" + "zz" * 32), "record.schemaId"),
        (_set("record.hashAlgorithm", "md5"), "record.hashAlgorithm"),
        (_set("record.hashAlgorithm", 3), "record.hashAlgorithm"),
        (_set("record.schemaId", _DELETE), "record.schemaId"),
        (_set("record.note", "extra"), "record"),
        (_set("leafHash", None), "leafHash"),
        (_set("proof", HASH), "proof"),
        (_set("proof", [HASH, "0x12"]), "proof[1]"),
        (_set("proof", [HASH] * (MAX_PROOF_LENGTH + 1)), "proof"),
        (_set("root", _DELETE), "root"),
        (_set("anchor.chainId", 0), "anchor.chainId"),
        (_set("anchor.chainId", True), "anchor.chainId"),
        (_set("anchor.chainId", "8848"), "anchor.chainId"),
        (_set("anchor.blockNumber", -1), "anchor.blockNumber"),
        (_set("anchor.contract", "0x" + "ab" * 19), "anchor.contract"),
        (_set("anchor.contract", "0xAbaBaBaBABabABabAbAbABAbABabababaBaBABaB"), "anchor.contract"),  # bad checksum
        (_set("anchor.txHash", _DELETE), "anchor.txHash"),
        (_set("anchor.department", "cs msa"), "anchor.department"),
        (_set("anchor.operator", "me"), "anchor"),
        (_set("record", []), "record"),
    ],
)
def test_malformed_bundles_are_refused_naming_the_field(change: Callable[[dict[str, Any]], None], field: str):
    bundle = copy.deepcopy(bundle_for(make_batch(), 3))
    change(bundle)
    with pytest.raises(ValidationError) as info:
        parse_bundle(bundle)
    assert info.value.code == "invalid_proof_bundle"
    assert info.value.details["field"] == field
    assert field in info.value.message


def test_a_non_object_is_refused():
    with pytest.raises(ValidationError):
        parse_bundle([])  # type: ignore[arg-type]


# ------------------------------------------------------------------ offline checks


def _flip_hex(value: str) -> str:
    return value[:-1] + ("0" if value[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda b: b["record"].update(contentHash=_flip_hex(b["record"]["contentHash"])), 2),
        (lambda b: b["record"].update(recordId=_flip_hex(b["record"]["recordId"])), 2),
        (lambda b: b["record"].update(schemaId=_flip_hex(b["record"]["schemaId"])), 2),
        (lambda b: b["record"].update(hashAlgorithm="keccak256"), 2),  # record 1 is sha256
        (lambda b: b.update(leafHash=_flip_hex(b["leafHash"])), 1),
        (lambda b: b["proof"].__setitem__(0, _flip_hex(b["proof"][0])), 1),
        (lambda b: b["proof"].pop(), 1),
        (lambda b: b["proof"].append(HASH), 1),
        (lambda b: b.update(root=_flip_hex(b["root"])), 1),
    ],
    ids=[
        "content",
        "record-id",
        "schema",
        "algorithm",
        "leaf-hash",
        "proof-element",
        "short-proof",
        "long-proof",
        "root",
    ],
)
def test_offline_checks_catch_every_tampered_value(change: Callable[[dict[str, Any]], None], expected: int):
    bundle = copy.deepcopy(bundle_for(make_batch(), 1))
    change(bundle)
    problems = check_offline(bundle)
    # A changed record value breaks both the stated leaf and the path to the root.
    assert len(problems) == expected, problems


def test_the_document_itself_can_be_checked_against_the_bundle():
    bundle = bundle_for(make_batch(), 0)
    assert check_content(bundle, io.BytesIO(DOCUMENTS[0])) == []
    problems = check_content(bundle, io.BytesIO(DOCUMENTS[0] + b" "))
    assert len(problems) == 1 and "sm3" in problems[0]


def test_the_example_in_the_format_document_is_a_valid_bundle():
    text = (Path(__file__).resolve().parents[2] / "docs" / "PROOF_BUNDLE.md").read_text(encoding="utf-8")
    example = json.loads(text.split("```json\n", 1)[1].split("```", 1)[0])
    assert check_offline(example) == []
    assert check_content(example, io.BytesIO(DOCUMENTS[0])) == []


# ------------------------------------------------------------------ on-chain checks (embedded chain)


@dataclass
class Anchored:
    chain: Web3Chain
    consortium: Consortium
    registry: BoundContract
    batch: Batch
    receipt: Receipt

    def bundle(self, index: int, department: str | None = "CS-MSA") -> dict[str, Any]:
        return bundle_for(
            self.batch,
            index,
            chain_id=self.chain.chain_id,
            contract=self.registry.address,
            tx_hash=self.receipt.tx_hash,
            block_number=self.receipt.block_number,
            block_hash=self.receipt.block_hash,
            department=department,
        )


def anchor_batch(consortium: Consortium, batch: Batch, department: str = "CS-MSA") -> Receipt:
    registry = consortium.deployment.bind(consortium.chain, "RecordRegistry")
    return send_and_confirm(
        consortium.chain,
        consortium.signers[department],
        registry.interface,
        to=registry.address,
        data=registry.encode("anchorBatch", batch.tree.root_bytes, len(batch.tree)),
    )


@pytest.fixture(scope="module")
def anchored() -> Anchored:
    chain = Web3Chain("embedded")
    consortium = deploy_consortium(chain)
    batch = make_batch()
    receipt = anchor_batch(consortium, batch)
    chain.mine_blocks(2)
    return Anchored(chain, consortium, consortium.deployment.bind(chain, "RecordRegistry"), batch, receipt)


def test_the_registry_builds_leaves_exactly_like_the_python_tree(anchored: Anchored):
    record = anchored.batch.records[0]
    leaf = anchored.registry.call(
        "recordLeaf", record.record_id, record.content_hash, int(record.hash_algorithm), record.schema_id
    )
    assert hash_hex(leaf) == record.leaf_hash()


@pytest.mark.parametrize("index", range(5))
def test_every_record_of_an_anchored_batch_passes_every_on_chain_check(anchored: Anchored, index: int):
    bundle = json.loads(json.dumps(anchored.bundle(index)))
    assert check_offline(bundle) == []
    assert check_on_chain(bundle, anchored.chain, expected_contract=anchored.registry.address) == []


def test_a_bundle_without_department_skips_only_that_check(anchored: Anchored):
    assert check_on_chain(anchored.bundle(0, department=None), anchored.chain) == []


def _problems_after(anchored: Anchored, change: Callable[[dict[str, Any]], None], **kwargs: Any) -> list[str]:
    bundle = copy.deepcopy(anchored.bundle(1))
    change(bundle)
    return check_on_chain(bundle, anchored.chain, **kwargs)


def test_a_changed_record_is_refused_by_the_registry(anchored: Anchored):
    problems = _problems_after(
        anchored, lambda b: b["record"].update(contentHash=hash_hex(digest("sm3", b"forged licence")))
    )
    assert len(problems) == 1 and "does not accept" in problems[0]


def test_a_bundle_for_another_chain_is_refused(anchored: Anchored):
    problems = _problems_after(anchored, lambda b: b["anchor"].update(chainId=anchored.chain.chain_id + 1))
    assert len(problems) == 1 and "chain" in problems[0]


def test_an_unknown_transaction_is_reported(anchored: Anchored):
    problems = _problems_after(anchored, lambda b: b["anchor"].update(txHash=HASH))
    assert problems == [f"transaction {HASH} is not on the chain"]


def test_a_transaction_that_anchored_nothing_is_reported(anchored: Anchored):
    other = anchored.consortium.deployment.contracts["RecordRegistry"]
    problems = _problems_after(
        anchored,
        lambda b: b["anchor"].update(
            txHash=other.tx_hash,
            blockNumber=other.block_number,
            blockHash=anchored.chain.get_block(other.block_number).hash,
        ),
    )
    assert len(problems) == 1 and "no BatchAnchored event" in problems[0]


def test_a_wrong_block_is_reported(anchored: Anchored):
    wrong_number = anchored.receipt.block_number + 1
    problems = _problems_after(anchored, lambda b: b["anchor"].update(blockNumber=wrong_number))
    assert any(f"not block {wrong_number}" in p for p in problems)
    assert any("re-organised" in p for p in problems)
    problems = _problems_after(anchored, lambda b: b["anchor"].update(blockHash=HASH))
    assert len(problems) == 2
    problems = _problems_after(anchored, lambda b: b["anchor"].update(blockNumber=10**9))
    assert any("does not exist" in p for p in problems)


def test_another_department_is_reported(anchored: Anchored):
    problems = _problems_after(anchored, lambda b: b["anchor"].update(department="CS-PSB"))
    assert problems == [f"root {anchored.batch.tree.root} was anchored by another department than CS-PSB"]


def test_a_contract_that_is_not_the_registry_is_reported(anchored: Anchored):
    consortium_address = anchored.consortium.deployment.address_of("Consortium")
    problems = _problems_after(anchored, lambda b: b["anchor"].update(contract=consortium_address))
    assert problems == [f"the contract at {consortium_address} is not a RecordRegistry"]
    empty = to_checksum_address("0x" + "12" * 20)
    problems = _problems_after(anchored, lambda b: b["anchor"].update(contract=empty))
    assert problems == [f"there is no contract at {empty}"]


def test_a_registry_other_than_the_published_one_is_reported(anchored: Anchored):
    problems = _problems_after(anchored, lambda b: None, expected_contract="0x" + "34" * 20)
    assert len(problems) == 1 and "not the registry" in problems[0]


def make_other_records() -> list[RecordLeaf]:
    return [
        RecordLeaf(os.urandom(32), digest("sm3", b"other"), HashAlgorithm.SM3, SCHEMA),
    ]


def test_a_consistent_bundle_for_a_root_never_anchored_fails_on_chain(anchored: Anchored):
    unanchored = make_batch([*record_leaves(), *make_other_records()])
    bundle = bundle_for(
        unanchored,
        0,
        chain_id=anchored.chain.chain_id,
        contract=anchored.registry.address,
        tx_hash=anchored.receipt.tx_hash,
        block_number=anchored.receipt.block_number,
        block_hash=anchored.receipt.block_hash,
    )
    assert check_offline(bundle) == []
    problems = check_on_chain(bundle, anchored.chain)
    assert len(problems) == 2
    assert "no BatchAnchored event" in problems[0] and "does not accept" in problems[1]

"""The Merkle tree: its own rules, properties over many batch sizes, and byte-equality with OpenZeppelin's tool."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govledger.errors import ValidationError
from govledger.hashing import keccak256
from govledger.merkle import (
    RECORD_LEAF_ENCODING,
    StandardMerkleTree,
    leaf_hash,
    node_hash,
    process_proof,
    verify,
)

REPO = Path(__file__).resolve().parents[1]
TOOLS = REPO / "tools"
OZ_PACKAGE = TOOLS / "node_modules" / "@openzeppelin" / "merkle-tree"


def random_hex(rng: random.Random, size: int = 32) -> str:
    return "0x" + rng.randbytes(size).hex()


def record_values(count: int, seed: int = 0) -> list[list[Any]]:
    """``count`` distinct record leaves as JSON-friendly values (hex strings and ints)."""
    rng = random.Random(seed)
    return [[random_hex(rng), random_hex(rng), rng.choice((1, 2, 3)), random_hex(rng)] for _ in range(count)]


# ------------------------------------------------------------------ the construction


def test_a_leaf_is_the_double_keccak_of_the_abi_encoding():
    values = ["0x" + "11" * 32, "0x" + "22" * 32, 3, "0x" + "33" * 32]
    encoded = bytes.fromhex("11" * 32 + "22" * 32 + "00" * 31 + "03" + "33" * 32)
    assert leaf_hash(RECORD_LEAF_ENCODING, values) == "0x" + keccak256(keccak256(encoded)).hex()


def test_internal_nodes_hash_the_sorted_pair():
    low, high = bytes(31) + b"\x01", bytes(31) + b"\x02"
    assert node_hash(low, high) == node_hash(high, low) == keccak256(low + high)


def test_a_single_leaf_is_its_own_root_with_an_empty_proof():
    values = record_values(1)
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING)
    assert tree.root == tree.leaf_hash(values[0])
    assert tree.proof(0) == []
    assert verify(tree.root, tree.root, [])


def test_an_empty_batch_is_refused():
    with pytest.raises(ValidationError) as info:
        StandardMerkleTree.of([], RECORD_LEAF_ENCODING)
    assert info.value.code == "empty_merkle_tree"


def test_layout_puts_sorted_leaves_at_the_end_of_the_array_in_reverse():
    values = record_values(5)
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING)
    nodes = tree.dump()["tree"]
    assert len(nodes) == 9
    leaves = sorted(tree.leaf_hash(v) for v in values)
    assert nodes[4:] == list(reversed(leaves))
    for i in range(4):
        left, right = (bytes.fromhex(n[2:]) for n in nodes[2 * i + 1 : 2 * i + 3])
        assert nodes[i] == "0x" + node_hash(left, right).hex()


def test_without_sorting_leaves_keep_input_order():
    values = record_values(4)
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING, sort_leaves=False)
    assert [entry["treeIndex"] for entry in tree.dump()["values"]] == [6, 5, 4, 3]


def test_proofs_can_be_asked_by_index_or_by_value():
    values = record_values(9)
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING)
    assert tree.proof(4) == tree.proof(values[4]) == tree.proofs()[4]
    assert tree.leaf_lookup(values[4]) == 4
    assert tree.verify(4, tree.proof(4))
    assert not tree.verify(4, tree.proof(5))


def test_bytes_and_hex_strings_make_the_same_leaf():
    as_hex = record_values(1)[0]
    as_bytes = [bytes.fromhex(as_hex[0][2:]), bytes.fromhex(as_hex[1][2:]), as_hex[2], bytes.fromhex(as_hex[3][2:])]
    assert leaf_hash(RECORD_LEAF_ENCODING, as_hex) == leaf_hash(RECORD_LEAF_ENCODING, as_bytes)
    tree = StandardMerkleTree.of([as_bytes], RECORD_LEAF_ENCODING)
    assert tree.dump()["values"][0]["value"] == as_hex


def test_a_value_not_in_the_tree_has_no_proof():
    tree = StandardMerkleTree.of(record_values(3), RECORD_LEAF_ENCODING)
    with pytest.raises(ValidationError) as info:
        tree.proof(record_values(1, seed=99)[0])
    assert info.value.code == "leaf_not_in_tree"
    with pytest.raises(ValidationError):
        tree.proof(3)


@pytest.mark.parametrize(
    "leaf",
    [
        ["0x" + "11" * 32, "0x" + "22" * 32, 3],  # too few values
        ["0x" + "11" * 33, "0x" + "22" * 32, 3, "0x" + "33" * 32],  # 33-byte bytes32
        ["0x" + "11" * 32, "0x" + "22" * 32, 256, "0x" + "33" * 32],  # uint8 overflow
        ["0xzz" + "11" * 31, "0x" + "22" * 32, 3, "0x" + "33" * 32],  # not hex
        "not a list",
    ],
)
def test_malformed_leaves_are_refused(leaf: Any):
    # A short bytes32 is padded, not refused, exactly as OpenZeppelin's encoder does; bundles check lengths.
    with pytest.raises(ValidationError) as info:
        StandardMerkleTree.of([leaf], RECORD_LEAF_ENCODING)
    assert info.value.code == "invalid_leaf"


def test_an_unknown_abi_type_is_refused():
    with pytest.raises(ValidationError) as info:
        StandardMerkleTree.of([[1]], ["uint7"])
    assert info.value.code == "invalid_leaf_encoding"


def test_a_dump_loads_back_into_the_same_tree():
    tree = StandardMerkleTree.of(record_values(11), RECORD_LEAF_ENCODING)
    loaded = StandardMerkleTree.load(json.loads(json.dumps(tree.dump())))
    assert loaded.root == tree.root
    assert loaded.proofs() == tree.proofs()
    assert loaded.dump() == tree.dump()


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d.update(format="standard-v2"),
        lambda d: d["tree"].__setitem__(1, "0x" + "00" * 32),
        lambda d: d["tree"].pop(),
        lambda d: d["values"][0]["value"].__setitem__(2, 1 if d["values"][0]["value"][2] != 1 else 2),
        lambda d: d["values"][0].__setitem__("treeIndex", 0),
        lambda d: d.update(leafEncoding=["bytes32", "uint8", "bytes32", "bytes32"]),
    ],
    ids=["format", "internal-node", "tree-length", "value", "tree-index", "encoding"],
)
def test_a_tampered_dump_is_refused(tamper: Any):
    dump = StandardMerkleTree.of(record_values(6), RECORD_LEAF_ENCODING).dump()
    tamper(dump)
    with pytest.raises(ValidationError):
        StandardMerkleTree.load(dump)


def test_malformed_proof_elements_are_refused_not_silently_false():
    with pytest.raises(ValidationError) as info:
        process_proof("0x" + "11" * 32, ["0x1234"])
    assert info.value.code == "invalid_hash"


def test_ten_thousand_leaves_build_and_every_proof_verifies():
    """A batch the size the API accepts (and ten times over the bench's) is built and proved in full.

    Speed is judged by scripts/bench, not here: the timings are printed for the run's record only.
    """
    values = record_values(10_000)
    started = time.perf_counter()
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING)
    built = time.perf_counter()
    proofs = tree.proofs()
    proved = time.perf_counter()
    print(f"merkle leaves=10000 build={built - started:.3f}s proofs={proved - built:.3f}s")
    assert len(proofs) == 10_000 and all(len(p) in (13, 14) for p in proofs)
    assert all(verify(tree.root, tree.leaf_hash(value), proof) for value, proof in zip(values, proofs, strict=True))


# ------------------------------------------------------------------ properties over batch sizes


def _flip(node: str, position: int) -> str:
    raw = bytearray.fromhex(node[2:])
    raw[position % 32] ^= 0x01
    return "0x" + raw.hex()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(size=st.integers(min_value=1, max_value=3000), seed=st.integers(min_value=0, max_value=2**32))
def test_every_leaf_proof_verifies_against_the_root(size: int, seed: int):
    values = record_values(size, seed)
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING)
    for value, proof in zip(values, tree.proofs(), strict=True):
        assert verify(tree.root, tree.leaf_hash(value), proof)


@settings(max_examples=40, deadline=None)
@given(
    size=st.integers(min_value=1, max_value=3000),
    seed=st.integers(min_value=0, max_value=2**32),
    data=st.data(),
)
def test_any_change_to_leaf_proof_or_root_fails_verification(size: int, seed: int, data: st.DataObject):
    values = record_values(size, seed)
    tree = StandardMerkleTree.of(values, RECORD_LEAF_ENCODING)
    index = data.draw(st.integers(min_value=0, max_value=size - 1), label="leaf")
    proof = tree.proof(index)
    leaf = tree.leaf_hash(values[index])
    assert verify(tree.root, leaf, proof)

    field = data.draw(st.integers(min_value=0, max_value=3), label="field")
    changed = list(values[index])
    changed[field] = 1 + (changed[field] % 3) if field == 2 else _flip(changed[field], data.draw(st.integers(0, 31)))
    assert not verify(tree.root, tree.leaf_hash(changed), proof)

    if proof:
        at = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="proof element")
        bad = list(proof)
        bad[at] = _flip(bad[at], data.draw(st.integers(0, 31), label="byte"))
        assert not verify(tree.root, leaf, bad)
        assert not verify(tree.root, leaf, proof[:-1])
    assert not verify(tree.root, leaf, [*proof, random_hex(random.Random(seed))])
    assert not verify(_flip(tree.root, data.draw(st.integers(0, 31), label="root byte")), leaf, proof)


# ------------------------------------------------------------------ byte-equality with OpenZeppelin's tool

# Reads cases from stdin and prints, for each, OpenZeppelin's root, every proof (input order) and dump.
_OPENZEPPELIN_SCRIPT = """
const { StandardMerkleTree } = require('@openzeppelin/merkle-tree');
let input = '';
process.stdin.on('data', chunk => { input += chunk; });
process.stdin.on('end', () => {
  const results = JSON.parse(input).map(({ values, leafEncoding, sortLeaves }) => {
    const tree = StandardMerkleTree.of(values, leafEncoding, { sortLeaves });
    return {
      root: tree.root,
      proofs: values.map((_, i) => tree.getProof(i)),
      dump: tree.dump(),
    };
  });
  process.stdout.write(JSON.stringify(results));
});
"""


def openzeppelin_trees(cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What @openzeppelin/merkle-tree (the pinned copy in tools/) makes of each case."""
    node = shutil.which("node")
    if node is None or not OZ_PACKAGE.is_dir():
        pytest.fail(
            "the OpenZeppelin cross-check needs node and tools/node_modules/@openzeppelin/merkle-tree: "
            "run scripts/install-tools"
        )
    completed = subprocess.run(
        [node, "-e", _OPENZEPPELIN_SCRIPT],
        input=json.dumps(cases),
        capture_output=True,
        text=True,
        cwd=TOOLS,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


def mixed_values(count: int, seed: int) -> list[list[Any]]:
    """Leaves with dynamic types too, so the ABI encoding (heads, tails, padding) is compared as well."""
    rng = random.Random(seed)
    return [
        [
            random_hex(rng, 20),
            str(rng.getrandbits(256)),
            "政务 " + rng.randbytes(rng.randint(0, 40)).hex(),
            random_hex(rng, rng.randint(0, 70)),
            [str(rng.getrandbits(64)) for _ in range(rng.randint(0, 4))],
            rng.random() < 0.5,
        ]
        for _ in range(count)
    ]


MIXED_ENCODING = ["address", "uint256", "string", "bytes", "uint64[]", "bool"]


def test_roots_proofs_and_dumps_equal_openzeppelins():
    rng = random.Random(2024)
    cases: list[dict[str, Any]] = []
    for size in (1, 2, 3, 7, 100, rng.randint(101, 600)):
        cases.append({"values": record_values(size, seed=size), "leafEncoding": list(RECORD_LEAF_ENCODING)})
    cases.append({"values": record_values(13, seed=5), "leafEncoding": list(RECORD_LEAF_ENCODING), "sortLeaves": False})
    duplicated = record_values(4, seed=6)
    cases.append({"values": [*duplicated, duplicated[1]], "leafEncoding": list(RECORD_LEAF_ENCODING)})
    for size in (1, 5, 33):
        cases.append({"values": mixed_values(size, seed=size), "leafEncoding": MIXED_ENCODING})

    expected = openzeppelin_trees(cases)

    assert len(expected) == len(cases)
    for case, theirs in zip(cases, expected, strict=True):
        ours = StandardMerkleTree.of(case["values"], case["leafEncoding"], sort_leaves=case.get("sortLeaves", True))
        assert ours.root == theirs["root"]
        assert ours.proofs() == theirs["proofs"]
        assert ours.dump() == theirs["dump"]
        assert StandardMerkleTree.load(theirs["dump"]).root == theirs["root"]


# ------------------------------------------------------------------ the direct encoder of one-word values


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.binary(min_size=0, max_size=32),
            st.integers(min_value=0, max_value=255),
            st.integers(min_value=0, max_value=2**256 - 1),
            st.binary(min_size=0, max_size=20),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_one_word_values_hash_exactly_as_eth_abi_encodes_them(leaves: list[tuple[bytes, int, int, bytes]]):
    encoding = ("bytes32", "uint8", "uint256", "bytes20")
    tree = StandardMerkleTree.of([list(leaf) for leaf in leaves], encoding)
    for index, leaf in enumerate(leaves):
        expected = "0x" + keccak256(keccak256(abi_encode(list(encoding), list(leaf)))).hex()
        assert tree.leaf_hash_at(index) == expected
        assert tree.leaf_hash(list(leaf)) == expected


@pytest.mark.parametrize(
    "leaf",
    [
        [b"\x01" * 33, 1],  # too long for bytes32
        [b"\x01", 256],  # out of range for uint8
        [b"\x01", -1],
        [b"\x01", True],  # eth_abi refuses a bool as an integer
        [b"\x01", "0x1ff"],
    ],
)
def test_values_the_direct_encoder_does_not_take_get_eth_abis_refusal(leaf: list[Any]):
    with pytest.raises(ValidationError) as refused:
        StandardMerkleTree.of([leaf], ["bytes32", "uint8"])
    assert refused.value.code == "invalid_leaf"


def test_proofs_as_json_are_what_json_writes():
    for size in (1, 2, 7):
        tree = StandardMerkleTree.of(record_values(size), RECORD_LEAF_ENCODING)
        assert tree.proofs_json() == [json.dumps(proof) for proof in tree.proofs()]

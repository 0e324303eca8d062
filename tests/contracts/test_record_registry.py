"""Every path of RecordRegistry.sol: records, versions, joint maintenance, endorsements and Merkle batches."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govledger.chain.artifacts import load_artifact
from govledger.chain.client import Receipt, Web3Chain
from govledger.chain.transactions import send_and_confirm
from govledger.consortium.departments import Role
from govledger.merkle import RECORD_LEAF_ENCODING, StandardMerkleTree
from tests.support.consortium import (
    ADD_DEPARTMENT,
    SET_MODULE,
    SUSPEND,
    Consortium,
    deploy_consortium,
    dept,
    new_signer,
    payload,
    reverts_with,
)

RECORDS = "RecordRegistry"
SHA256, KECCAK256, SM3 = 1, 2, 3
SCHEMA = keccak(text="household-registration/v1")
RECORD = keccak(text="record-1")


@pytest.fixture
def chain() -> Web3Chain:
    return Web3Chain("embedded")


@pytest.fixture
def consortium(chain: Web3Chain) -> Consortium:
    return deploy_consortium(chain)


def hexed(value: bytes) -> str:
    """How decoded errors show bytes32 values."""
    return "0x" + value.hex()


def content(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def record_leaf(record_id: bytes, content_hash: bytes, algorithm: int, schema_id: bytes) -> bytes:
    """The OpenZeppelin StandardMerkleTree leaf of a record, computed independently of the contract."""
    encoded = abi_encode(["bytes32", "bytes32", "uint8", "bytes32"], [record_id, content_hash, algorithm, schema_id])
    return keccak(keccak(encoded))


def parent(a: bytes, b: bytes) -> bytes:
    return keccak(min(a, b) + max(a, b))


def tree_with_proofs(leaves: list[bytes]) -> tuple[bytes, list[list[bytes]]]:
    """Root and one proof per leaf of a sorted-pair tree; an odd node out moves up a level unchanged."""
    proofs: list[list[bytes]] = [[] for _ in leaves]
    level = [(leaf, [i]) for i, leaf in enumerate(leaves)]  # node and the leaves beneath it
    while len(level) > 1:
        above = []
        for i in range(0, len(level) - 1, 2):
            (left, left_leaves), (right, right_leaves) = level[i], level[i + 1]
            for leaf in left_leaves:
                proofs[leaf].append(right)
            for leaf in right_leaves:
                proofs[leaf].append(left)
            above.append((parent(left, right), left_leaves + right_leaves))
        if len(level) % 2:
            above.append(level[-1])
        level = above
    return level[0][0], proofs


def act(consortium: Consortium, department: str, function: str, *args: Any) -> Receipt:
    return consortium.act(department, function, *args, contract=RECORDS)


def view(consortium: Consortium, function: str, *args: Any) -> Any:
    return consortium.module(RECORDS).call(function, *args)


def anchor(
    consortium: Consortium,
    department: str = "CS-MSA",
    record_id: bytes = RECORD,
    *,
    text: str = "v1",
    co_maintainers: tuple[str, ...] = (),
    required: int = 0,
) -> Receipt:
    return act(
        consortium,
        department,
        "anchorRecord",
        record_id,
        content(text),
        SHA256,
        SCHEMA,
        [dept(code) for code in co_maintainers],
        required,
    )


def add_record_keepers(consortium: Consortium, count: int) -> list[str]:
    """New record-keeper departments, added by governance."""
    codes = []
    for i in range(count):
        code = f"CS-RK{i}"
        body = payload(
            ["bytes32", "string", "uint8", "address"],
            [dept(code), f"部门 {i}", int(Role.RECORD_KEEPER), new_signer(consortium.chain).address],
        )
        consortium.pass_proposal(ADD_DEPARTMENT, body)
        codes.append(code)
    return codes


# ------------------------------------------------------------------ deployment


def test_the_registry_is_deployed_bound_to_the_consortium_and_registered_as_a_module(consortium: Consortium):
    registry = consortium.module(RECORDS)
    assert registry.call("consortium") == consortium.contract.address
    assert registry.call("version") == "1.0.0"
    assert consortium.contract.call("isModule", registry.address)
    assert (registry.call("HASH_SHA256"), registry.call("HASH_KECCAK256"), registry.call("HASH_SM3")) == (1, 2, 3)


def test_a_registry_refuses_a_consortium_address_without_code(chain: Web3Chain):
    artifact = load_artifact(RECORDS)
    nowhere = new_signer(chain).address
    with reverts_with("ConsortiumModuleInvalidConsortium") as info:
        send_and_confirm(
            chain,
            new_signer(chain),
            artifact.interface,
            to=None,
            data=artifact.bytecode + artifact.interface.encode_constructor([nowhere]),
        )
    assert info.value.error_args == {"consortium": nowhere}


# ------------------------------------------------------------------ anchoring


def test_anchoring_a_record_stores_version_one_and_names_its_co_maintainers(consortium: Consortium):
    receipt = anchor(consortium, co_maintainers=("CS-PSB", "CS-HRSS"), required=1)

    assert consortium.events(receipt) == [
        (
            "RecordAnchored",
            {
                "recordId": RECORD,
                "ownerDept": dept("CS-MSA"),
                "contentHash": content("v1"),
                "hashAlgorithm": SHA256,
                "schemaId": SCHEMA,
                "coMaintainers": [dept("CS-PSB"), dept("CS-HRSS")],
                "requiredEndorsements": 1,
                "actionSeq": 1,
            },
        )
    ]
    record = view(consortium, "recordOf", RECORD)
    assert record["ownerDept"] == dept("CS-MSA") and record["schemaId"] == SCHEMA
    assert (record["latestVersion"], record["requiredEndorsements"], record["coMaintainerCount"]) == (1, 1, 2)
    assert record["anchoredAt"] == consortium.chain.get_block(receipt.block_number).timestamp
    first = view(consortium, "versionOf", RECORD, 1)
    assert first["contentHash"] == content("v1") and first["hashAlgorithm"] == SHA256
    assert first["authorDept"] == dept("CS-MSA") and first["previousContentHash"] == bytes(32)
    for code, named in [("CS-MSA", True), ("CS-PSB", True), ("CS-HRSS", True), ("CS-DRB", False)]:
        assert view(consortium, "isNamed", RECORD, dept(code)) is named
    assert view(consortium, "isConfirmed", RECORD) is False


@pytest.mark.parametrize("algorithm", [SHA256, KECCAK256, SM3])
def test_every_supported_hash_algorithm_is_accepted(consortium: Consortium, algorithm: int):
    act(consortium, "CS-MSA", "anchorRecord", RECORD, content("x"), algorithm, SCHEMA, [], 0)
    assert view(consortium, "versionOf", RECORD, 1)["hashAlgorithm"] == algorithm


@pytest.mark.parametrize(
    ("record_id", "content_hash", "algorithm", "co_maintainers", "required", "error", "error_args"),
    [
        (bytes(32), content("x"), SHA256, [], 0, "RecordRegistryInvalidRecordId", {"recordId": hexed(bytes(32))}),
        (RECORD, bytes(32), SHA256, [], 0, "RecordRegistryInvalidContentHash", {"contentHash": hexed(bytes(32))}),
        (RECORD, content("x"), 0, [], 0, "RecordRegistryUnsupportedHashAlgorithm", {"hashAlgorithm": 0}),
        (RECORD, content("x"), 4, [], 0, "RecordRegistryUnsupportedHashAlgorithm", {"hashAlgorithm": 4}),
        (
            RECORD,
            content("x"),
            SHA256,
            [dept(f"CS-X{i}") for i in range(17)],
            0,
            "RecordRegistryTooManyMaintainers",
            {"count": 17, "max": 16},
        ),
        (
            RECORD,
            content("x"),
            SHA256,
            [],
            17,
            "RecordRegistryInvalidRequiredEndorsements",
            {"requiredEndorsements": 17, "max": 16},
        ),
        (
            RECORD,
            content("x"),
            SHA256,
            [dept("CS-PSB"), dept("CS-PSB")],
            0,
            "RecordRegistryAlreadyMaintainer",
            {"recordId": hexed(RECORD), "deptId": hexed(dept("CS-PSB"))},
        ),
        (
            RECORD,
            content("x"),
            SHA256,
            [dept("CS-MSA")],
            0,
            "RecordRegistryOwnerAsMaintainer",
            {"recordId": hexed(RECORD), "deptId": hexed(dept("CS-MSA"))},
        ),
        (
            RECORD,
            content("x"),
            SHA256,
            [dept("CS-NOBODY")],
            0,
            "ConsortiumUnknownDepartment",
            {"deptId": hexed(dept("CS-NOBODY"))},
        ),
    ],
)
def test_anchoring_refuses_invalid_input(
    consortium: Consortium, record_id, content_hash, algorithm, co_maintainers, required, error, error_args
):
    with reverts_with(error) as info:
        act(consortium, "CS-MSA", "anchorRecord", record_id, content_hash, algorithm, SCHEMA, co_maintainers, required)
    assert info.value.error_args == error_args


def test_a_record_id_is_anchored_only_once(consortium: Consortium):
    anchor(consortium)
    with reverts_with("RecordRegistryRecordExists") as info:
        anchor(consortium, "CS-PSB", text="other")
    assert info.value.error_args == {"recordId": hexed(RECORD)}


def test_a_department_without_the_record_keeper_role_is_refused_with_the_consortiums_error(consortium: Consortium):
    with reverts_with("ConsortiumMissingRole") as info:
        anchor(consortium, "CS-DRB")
    assert info.value.error_args == {"deptId": hexed(dept("CS-DRB")), "requiredRoles": int(Role.RECORD_KEEPER)}
    stranger = new_signer(consortium.chain)
    with reverts_with("ConsortiumNotMember") as info:
        consortium.send(stranger, "anchorBatch", keccak(text="root"), 1, contract=RECORDS)
    assert info.value.error_args == {"account": stranger.address}
    assert consortium.contract.call("actionCount", dept("CS-DRB")) == 0


def test_a_suspended_department_can_no_longer_anchor(consortium: Consortium):
    consortium.pass_proposal(SUSPEND, payload(["bytes32"], [dept("CS-PSB")]))
    with reverts_with("ConsortiumDepartmentInactive"):
        anchor(consortium, "CS-PSB")


def test_a_module_removed_by_governance_can_no_longer_record_actions(consortium: Consortium):
    registry = consortium.module(RECORDS).address
    consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [registry, False]))
    with reverts_with("ConsortiumNotModule") as info:
        anchor(consortium)
    assert info.value.error_args == {"caller": registry}


# ------------------------------------------------------------------ versions and joint maintenance


def test_versions_link_to_the_previous_hash_and_history_is_kept(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-PSB",))
    act(consortium, "CS-MSA", "appendVersion", RECORD, content("v2"), KECCAK256)
    receipt = act(consortium, "CS-PSB", "appendVersion", RECORD, content("v3"), SM3)

    assert consortium.events(receipt) == [
        (
            "RecordVersionAppended",
            {
                "recordId": RECORD,
                "authorDept": dept("CS-PSB"),
                "version": 3,
                "contentHash": content("v3"),
                "hashAlgorithm": SM3,
                "previousContentHash": content("v2"),
                "actionSeq": 1,
            },
        )
    ]
    history = [view(consortium, "versionOf", RECORD, n) for n in (1, 2, 3)]
    assert [v["contentHash"] for v in history] == [content("v1"), content("v2"), content("v3")]
    assert [v["previousContentHash"] for v in history] == [bytes(32), content("v1"), content("v2")]
    assert [v["authorDept"] for v in history] == [dept("CS-MSA"), dept("CS-MSA"), dept("CS-PSB")]
    assert [v["version"] for v in history] == [1, 2, 3]
    assert view(consortium, "recordOf", RECORD)["latestVersion"] == 3
    for missing in (0, 4):
        with reverts_with("RecordRegistryUnknownVersion") as info:
            view(consortium, "versionOf", RECORD, missing)
        assert info.value.error_args == {"recordId": hexed(RECORD), "version": missing}


def test_append_refuses_a_bad_hash_and_an_unknown_record(consortium: Consortium):
    anchor(consortium)
    with reverts_with("RecordRegistryUnsupportedHashAlgorithm"):
        act(consortium, "CS-MSA", "appendVersion", RECORD, content("v2"), 9)
    with reverts_with("RecordRegistryInvalidContentHash"):
        act(consortium, "CS-MSA", "appendVersion", RECORD, bytes(32), SHA256)
    unknown = keccak(text="nope")
    with reverts_with("RecordRegistryUnknownRecord") as info:
        act(consortium, "CS-MSA", "appendVersion", unknown, content("v2"), SHA256)
    assert info.value.error_args == {"recordId": hexed(unknown)}
    with reverts_with("RecordRegistryUnknownRecord"):
        view(consortium, "recordOf", unknown)


def test_a_department_not_named_on_a_record_cannot_change_it(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-HRSS",))
    outsider = {"recordId": hexed(RECORD), "callerDept": hexed(dept("CS-PSB"))}
    with reverts_with("RecordRegistryNotNamed") as info:
        act(consortium, "CS-PSB", "appendVersion", RECORD, content("forged"), SHA256)
    assert info.value.error_args == outsider
    with reverts_with("RecordRegistryNotNamed") as info:
        act(consortium, "CS-PSB", "endorse", RECORD, 1)
    assert info.value.error_args == outsider
    with reverts_with("RecordRegistryNotOwner") as info:
        act(consortium, "CS-PSB", "setMaintainer", RECORD, dept("CS-PSB"), True)
    assert info.value.error_args == outsider
    assert view(consortium, "recordOf", RECORD)["latestVersion"] == 1


def test_only_the_owner_names_co_maintainers(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-PSB",))
    with reverts_with("RecordRegistryNotOwner") as info:
        act(consortium, "CS-PSB", "setMaintainer", RECORD, dept("CS-HRSS"), True)
    assert info.value.error_args == {"recordId": hexed(RECORD), "callerDept": hexed(dept("CS-PSB"))}


def test_a_co_maintainer_needs_the_record_keeper_role_to_append_but_not_to_endorse(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-HRSS",))
    with reverts_with("ConsortiumMissingRole"):
        act(consortium, "CS-HRSS", "appendVersion", RECORD, content("v2"), SHA256)
    act(consortium, "CS-HRSS", "endorse", RECORD, 1)
    assert view(consortium, "hasEndorsed", RECORD, 1, dept("CS-HRSS"))


def test_the_owner_names_and_removes_co_maintainers(consortium: Consortium):
    anchor(consortium)
    receipt = act(consortium, "CS-MSA", "setMaintainer", RECORD, dept("CS-PSB"), True)
    assert consortium.events(receipt) == [
        (
            "MaintainerAdded",
            {"recordId": RECORD, "maintainerDept": dept("CS-PSB"), "ownerDept": dept("CS-MSA"), "actionSeq": 2},
        )
    ]
    act(consortium, "CS-PSB", "appendVersion", RECORD, content("v2"), SHA256)
    receipt = act(consortium, "CS-MSA", "setMaintainer", RECORD, dept("CS-PSB"), False)
    assert consortium.events(receipt) == [
        (
            "MaintainerRemoved",
            {"recordId": RECORD, "maintainerDept": dept("CS-PSB"), "ownerDept": dept("CS-MSA"), "actionSeq": 3},
        )
    ]
    assert not view(consortium, "isNamed", RECORD, dept("CS-PSB"))
    assert view(consortium, "recordOf", RECORD)["coMaintainerCount"] == 0
    with reverts_with("RecordRegistryNotNamed"):
        act(consortium, "CS-PSB", "appendVersion", RECORD, content("v3"), SHA256)
    # The removed department's version stays in the history.
    assert view(consortium, "versionOf", RECORD, 2)["authorDept"] == dept("CS-PSB")


@pytest.mark.parametrize(
    ("target", "named", "error"),
    [
        ("CS-HRSS", True, "RecordRegistryAlreadyMaintainer"),
        ("CS-MSA", True, "RecordRegistryOwnerAsMaintainer"),
        ("CS-NOBODY", True, "ConsortiumUnknownDepartment"),
        ("CS-PSB", False, "RecordRegistryNotMaintainer"),
        ("CS-MSA", False, "RecordRegistryNotMaintainer"),
    ],
)
def test_set_maintainer_refuses_changes_that_make_no_sense(consortium: Consortium, target, named, error):
    anchor(consortium, co_maintainers=("CS-HRSS",))
    with reverts_with(error):
        act(consortium, "CS-MSA", "setMaintainer", RECORD, dept(target), named)


def test_a_record_holds_at_most_sixteen_co_maintainers(consortium: Consortium):
    codes = [*add_record_keepers(consortium, 13), "CS-PSB", "CS-HRSS", "CS-DRB"]
    anchor(consortium, co_maintainers=tuple(codes))
    assert view(consortium, "recordOf", RECORD)["coMaintainerCount"] == 16
    with reverts_with("RecordRegistryTooManyMaintainers") as info:
        act(consortium, "CS-MSA", "setMaintainer", RECORD, dept("CS-AUD"), True)
    assert info.value.error_args == {"count": 17, "max": 16}
    act(consortium, "CS-MSA", "setMaintainer", RECORD, dept("CS-DRB"), False)
    act(consortium, "CS-MSA", "setMaintainer", RECORD, dept("CS-AUD"), True)
    assert view(consortium, "isNamed", RECORD, dept("CS-AUD"))


# ------------------------------------------------------------------ endorsements


def test_an_author_cannot_endorse_its_own_version(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-PSB",), required=1)
    act(consortium, "CS-PSB", "appendVersion", RECORD, content("v2"), SHA256)
    for author, version in [("CS-MSA", 1), ("CS-PSB", 2)]:
        with reverts_with("RecordRegistryAuthorCannotEndorse") as info:
            act(consortium, author, "endorse", RECORD, version)
        assert info.value.error_args == {"recordId": hexed(RECORD), "version": version, "deptId": hexed(dept(author))}


def test_a_department_endorses_a_version_only_once(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-PSB",), required=2)
    receipt = act(consortium, "CS-PSB", "endorse", RECORD, 1)
    assert consortium.events(receipt) == [
        (
            "VersionEndorsed",
            {"recordId": RECORD, "endorserDept": dept("CS-PSB"), "version": 1, "endorsements": 1, "actionSeq": 1},
        )
    ]
    with reverts_with("RecordRegistryAlreadyEndorsed") as info:
        act(consortium, "CS-PSB", "endorse", RECORD, 1)
    assert info.value.error_args == {"recordId": hexed(RECORD), "version": 1, "deptId": hexed(dept("CS-PSB"))}
    assert view(consortium, "endorsementCount", RECORD, 1) == 1


def test_endorsing_a_version_that_does_not_exist_is_refused(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-PSB",))
    for missing in (0, 2):
        with reverts_with("RecordRegistryUnknownVersion"):
            act(consortium, "CS-PSB", "endorse", RECORD, missing)
    with reverts_with("RecordRegistryUnknownRecord"):
        act(consortium, "CS-PSB", "endorse", keccak(text="nope"), 1)


def test_the_latest_version_is_confirmed_after_the_required_endorsements(consortium: Consortium):
    anchor(consortium, co_maintainers=("CS-PSB", "CS-HRSS", "CS-DRB"), required=2)
    act(consortium, "CS-PSB", "endorse", RECORD, 1)
    assert view(consortium, "isConfirmed", RECORD) is False
    act(consortium, "CS-HRSS", "endorse", RECORD, 1)
    assert view(consortium, "isConfirmed", RECORD) is True

    # A new version starts unconfirmed; endorsing the old one no longer helps.
    act(consortium, "CS-PSB", "appendVersion", RECORD, content("v2"), SHA256)
    assert view(consortium, "isConfirmed", RECORD) is False
    act(consortium, "CS-DRB", "endorse", RECORD, 1)
    assert view(consortium, "endorsementCount", RECORD, 1) == 3
    assert view(consortium, "isConfirmed", RECORD) is False
    act(consortium, "CS-MSA", "endorse", RECORD, 2)
    act(consortium, "CS-DRB", "endorse", RECORD, 2)
    assert view(consortium, "endorsementCount", RECORD, 2) == 2
    assert view(consortium, "hasEndorsed", RECORD, 2, dept("CS-MSA"))
    assert not view(consortium, "hasEndorsed", RECORD, 2, dept("CS-HRSS"))
    assert view(consortium, "isConfirmed", RECORD) is True


def test_a_record_needing_no_endorsements_is_confirmed_at_once_and_an_unknown_one_never(consortium: Consortium):
    anchor(consortium, required=0)
    assert view(consortium, "isConfirmed", RECORD) is True
    assert view(consortium, "isConfirmed", keccak(text="nope")) is False


# ------------------------------------------------------------------ Merkle batches


def records_for_batch(count: int) -> list[tuple[bytes, bytes, int, bytes]]:
    return [(keccak(text=f"batch-record-{i}"), content(f"body {i}"), SHA256, SCHEMA) for i in range(count)]


def test_anchoring_a_batch_records_its_owner_time_and_size(consortium: Consortium):
    root = keccak(text="root")
    receipt = act(consortium, "CS-PSB", "anchorBatch", root, 5000)
    assert consortium.events(receipt) == [
        ("BatchAnchored", {"root": root, "ownerDept": dept("CS-PSB"), "leafCount": 5000, "actionSeq": 1})
    ]
    timestamp = consortium.chain.get_block(receipt.block_number).timestamp
    assert view(consortium, "batchOf", root) == (dept("CS-PSB"), timestamp, 5000)
    assert view(consortium, "batchOf", keccak(text="other")) == (bytes(32), 0, 0)


def test_batch_anchoring_refuses_a_zero_root_no_leaves_and_a_second_anchoring(consortium: Consortium):
    root = keccak(text="root")
    with reverts_with("RecordRegistryInvalidRoot"):
        act(consortium, "CS-PSB", "anchorBatch", bytes(32), 1)
    with reverts_with("RecordRegistryInvalidLeafCount") as info:
        act(consortium, "CS-PSB", "anchorBatch", root, 0)
    assert info.value.error_args == {"leafCount": 0}
    act(consortium, "CS-PSB", "anchorBatch", root, 1)
    with reverts_with("RecordRegistryBatchExists") as info:
        act(consortium, "CS-MSA", "anchorBatch", root, 1)
    assert info.value.error_args == {"root": hexed(root)}
    with reverts_with("ConsortiumMissingRole"):
        act(consortium, "CS-HRSS", "anchorBatch", keccak(text="root 2"), 1)


def test_a_long_department_code_survives_the_packed_batch_slot(consortium: Consortium):
    long_code = "CS-" + "LONGDEPARTMENTCODE" + "-X" * 5  # 31 characters: spills past the packed 20 bytes
    signer = new_signer(consortium.chain)
    body = payload(["bytes32", "string", "uint8", "address"], [dept(long_code), "长代码", 4, signer.address])
    consortium.pass_proposal(ADD_DEPARTMENT, body)
    root = keccak(text="long")
    consortium.send(signer, "anchorBatch", root, 3, contract=RECORDS)
    assert view(consortium, "batchOf", root)[0] == dept(long_code)


def test_the_record_leaf_is_the_standard_merkle_tree_leaf(consortium: Consortium):
    fields = records_for_batch(1)[0]
    assert view(consortium, "recordLeaf", *fields) == record_leaf(*fields)


def test_every_record_of_an_anchored_batch_verifies_and_nothing_else_does(consortium: Consortium):
    records = records_for_batch(5)
    leaves = [record_leaf(*fields) for fields in records]
    root, proofs = tree_with_proofs(leaves)
    # By hand, for the record at index 4, which has no partner until the top: root = H(H(H01, H23), l4).
    assert root == parent(parent(parent(leaves[0], leaves[1]), parent(leaves[2], leaves[3])), leaves[4])
    assert view(consortium, "verifyLeaf", root, leaves[0], proofs[0]) is False  # not anchored yet
    act(consortium, "CS-MSA", "anchorBatch", root, len(leaves))

    for fields, leaf, proof in zip(records, leaves, proofs, strict=True):
        assert view(consortium, "verifyLeaf", root, leaf, proof) is True
        assert view(consortium, "verifyRecordInBatch", root, *fields, proof) is True
    record_id, content_hash, algorithm, schema = records[0]
    tampered = [
        (record_id, content("forged"), algorithm, schema),
        (record_id, content_hash, KECCAK256, schema),
        (record_id, content_hash, algorithm, keccak(text="other schema")),
        (records[1][0], content_hash, algorithm, schema),
    ]
    for fields in tampered:
        assert view(consortium, "verifyRecordInBatch", root, *fields, proofs[0]) is False
    assert view(consortium, "verifyLeaf", root, leaves[0], proofs[1]) is False
    assert view(consortium, "verifyLeaf", root, leaves[0], proofs[0][:-1]) is False


def test_a_batch_of_one_record_is_its_own_root(consortium: Consortium):
    fields = records_for_batch(1)[0]
    root = record_leaf(*fields)
    act(consortium, "CS-MSA", "anchorBatch", root, 1)
    assert view(consortium, "verifyRecordInBatch", root, *fields, []) is True


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(leaves=st.lists(st.binary(min_size=32, max_size=32).filter(any), min_size=1, max_size=40, unique=True))
def test_every_leaf_of_any_sorted_pair_tree_verifies_on_chain(consortium: Consortium, leaves: list[bytes]):
    root, proofs = tree_with_proofs(leaves)
    if view(consortium, "batchOf", root)[2] == 0:
        act(consortium, "CS-MSA", "anchorBatch", root, len(leaves))
    for leaf, proof in zip(leaves, proofs, strict=True):
        assert view(consortium, "verifyLeaf", root, leaf, proof) is True


# ------------------------------------------------------------------ gas


def test_gas_of_record_operations_stays_within_budget(consortium: Consortium):
    """Prints the gas of each write (for the gas report) and fails when one outgrows its budget.

    anchorBatch is at its floor: 21,000 intrinsic + ~22,100 for its one new slot + ~2,000 for the event +
    ~14,000 for Consortium.recordAction (a cold call, three cold reads and one write) + calldata.
    """
    budgets = {
        "anchorRecord (2 co-maintainers)": 230_000,
        "appendVersion (owner)": 100_000,
        "appendVersion (co-maintainer)": 125_000,
        "endorse": 80_000,
        "anchorBatch": 62_000,
    }
    used = {
        "anchorRecord (2 co-maintainers)": anchor(
            consortium, co_maintainers=("CS-PSB", "CS-HRSS"), required=1
        ).gas_used,
        "appendVersion (owner)": act(consortium, "CS-MSA", "appendVersion", RECORD, content("v2"), SHA256).gas_used,
        "appendVersion (co-maintainer)": act(
            consortium, "CS-PSB", "appendVersion", RECORD, content("v3"), SHA256
        ).gas_used,
        "endorse": act(consortium, "CS-MSA", "endorse", RECORD, 3).gas_used,
        "anchorBatch": act(consortium, "CS-MSA", "anchorBatch", keccak(text="gas root"), 4096).gas_used,
    }
    for operation, gas in used.items():
        print(f"RecordRegistry.{operation}: {gas} gas (budget {budgets[operation]})")
    assert all(used[op] <= budgets[op] for op in budgets), used


def test_a_tree_built_by_the_python_merkle_module_verifies_on_chain(consortium: Consortium):
    records = records_for_batch(7)
    tree = StandardMerkleTree.of(records, RECORD_LEAF_ENCODING)
    act(consortium, "CS-PSB", "anchorBatch", tree.root_bytes, len(tree))
    for index, fields in enumerate(records):
        proof = [bytes.fromhex(node.removeprefix("0x")) for node in tree.proof(index)]
        assert tree.leaf_hash(fields) == hexed(view(consortium, "recordLeaf", *fields))
        assert view(consortium, "verifyRecordInBatch", tree.root_bytes, *fields, proof) is True

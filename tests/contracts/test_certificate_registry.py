"""Every path of CertificateRegistry.sol: issue, the status lifecycle, supersede chains, Merkle batches and
their certificates' status changes, validity at a past moment from the events, and the Consortium's
hot path that every certificate action runs through (initial modules, department numbers).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak

from govledger.chain.artifacts import load_artifact
from govledger.chain.client import Receipt, Web3Chain
from govledger.chain.deploy import MODULE_CONTRACTS
from govledger.chain.transactions import send_and_confirm
from govledger.consortium.departments import Role
from govledger.merkle import StandardMerkleTree
from govledger.shortids import encode_short_id
from tests.contracts.gas_report import CERTIFICATE_LEAF_ENCODING
from tests.support.consortium import (
    ADD_DEPARTMENT,
    REINSTATE,
    SET_MODULE,
    SET_ROLES,
    SUSPEND,
    Consortium,
    deploy_consortium,
    dept,
    new_signer,
    payload,
    reverts_with,
)

CERTS = "CertificateRegistry"
SHA256, KECCAK256, SM3 = 1, 2, 3
NONE, VALID, SUSPENDED, REVOKED, SUPERSEDED = range(5)
YEAR = 365 * 24 * 3600
VALID_FROM = 1_700_000_000
VALID_UNTIL = VALID_FROM + 5 * YEAR
LICENCE = encode_short_id("business-licence")
REASON = encode_short_id("LICENCE-CANCELLED")


@pytest.fixture
def chain() -> Web3Chain:
    return Web3Chain("embedded")


@pytest.fixture
def consortium(chain: Web3Chain) -> Consortium:
    return deploy_consortium(chain)


def cert_id(number: int) -> bytes:
    return encode_short_id(f"BL-2024-{number:06d}")


def fields(number: int, *, algorithm: int = SHA256, valid_from: int = VALID_FROM, valid_until: int = VALID_UNTIL):
    """Leaf values of certificate ``number``, in the order of issue's parameters."""
    return [
        cert_id(number),
        keccak(text=f"document {number}"),
        algorithm,
        keccak(text=f"salted holder id {number}"),
        LICENCE,
        valid_from,
        valid_until,
    ]


def hexed(value: bytes) -> str:
    return "0x" + value.hex()


def leaf_of(values: list[Any]) -> bytes:
    """The OpenZeppelin StandardMerkleTree leaf, computed independently of the contract and of merkle.py."""
    return keccak(keccak(abi_encode(list(CERTIFICATE_LEAF_ENCODING), values)))


def act(consortium: Consortium, department: str, function: str, *args: Any) -> Receipt:
    return consortium.act(department, function, *args, contract=CERTS)


def view(consortium: Consortium, function: str, *args: Any) -> Any:
    return consortium.module(CERTS).call(function, *args)


def issue(consortium: Consortium, number: int, department: str = "CS-MSA", **overrides: Any) -> Receipt:
    return act(consortium, department, "issue", *fields(number, **overrides))


def events(consortium: Consortium, receipt: Receipt) -> list[tuple[str, dict[str, Any]]]:
    return consortium.events(receipt)


def block_time(consortium: Consortium, receipt: Receipt) -> int:
    return consortium.chain.get_block(receipt.block_number).timestamp


def suspend_department(consortium: Consortium, code: str) -> None:
    consortium.pass_proposal(SUSPEND, payload(["bytes32"], [dept(code)]))


def batch(count: int, first: int = 1000) -> tuple[StandardMerkleTree, list[list[Any]]]:
    leaves = [fields(first + i) for i in range(count)]
    return StandardMerkleTree.of(leaves, CERTIFICATE_LEAF_ENCODING), leaves


def proof_of(tree: StandardMerkleTree, values: list[Any]) -> list[bytes]:
    return [bytes.fromhex(node.removeprefix("0x")) for node in tree.proof(values)]


# ------------------------------------------------------------------ deployment


def test_the_registry_is_deployed_first_among_the_modules_and_bound_to_the_consortium(consortium: Consortium):
    registry = consortium.module(CERTS)
    assert MODULE_CONTRACTS[0] == CERTS
    assert registry.call("consortium") == consortium.contract.address
    assert registry.call("version") == "1.0.0"
    assert consortium.contract.call("isModule", registry.address)
    assert (registry.call("HASH_SHA256"), registry.call("HASH_KECCAK256"), registry.call("HASH_SM3")) == (1, 2, 3)


# ------------------------------------------------------------------ issue


def test_issuing_stores_one_fingerprinted_slot_and_emits_every_field(consortium: Consortium):
    receipt = issue(consortium, 1)
    values = fields(1)
    assert events(consortium, receipt) == [
        (
            "CertificateIssued",
            {
                "certId": values[0],
                "issuerDept": dept("CS-MSA"),
                "certType": LICENCE,
                "documentHash": values[1],
                "hashAlgorithm": SHA256,
                "holderCommitment": values[3],
                "validFrom": VALID_FROM,
                "validUntil": VALID_UNTIL,
                "actionSeq": 1,
            },
        )
    ]
    cert = view(consortium, "certificateOf", values[0])
    issued_at = block_time(consortium, receipt)
    assert cert["status"] == VALID and cert["issuerDept"] == dept("CS-MSA")
    assert cert["issuedAt"] == cert["statusChangedAt"] == issued_at
    assert cert["fingerprint"] == leaf_of(values)[:20]
    assert cert["supersededBy"] == bytes(32) and cert["batchRoot"] == bytes(32)
    assert view(consortium, "certificateLeaf", values) == leaf_of(values)
    assert view(consortium, "verifyCertificate", values) is True


def test_verifying_with_any_field_changed_fails(consortium: Consortium):
    issue(consortium, 1)
    for index in range(1, 7):  # index 0, another id, would be another (unknown) certificate
        changed = fields(1)
        original = changed[index]
        changed[index] = original + 1 if isinstance(original, int) else keccak(original)
        assert view(consortium, "verifyCertificate", changed) is False, index


def test_an_unknown_certificate_reads_as_status_none(consortium: Consortium):
    cert = view(consortium, "certificateOf", cert_id(404))
    assert cert["certId"] == cert_id(404) and cert["status"] == NONE and cert["issuerDept"] == bytes(32)
    assert view(consortium, "verifyCertificate", fields(404)) is False


@pytest.mark.parametrize("algorithm", [SHA256, KECCAK256, SM3])
def test_every_supported_hash_algorithm_is_accepted(consortium: Consortium, algorithm: int):
    issue(consortium, 1, algorithm=algorithm)
    assert view(consortium, "verifyCertificate", fields(1, algorithm=algorithm)) is True


def test_a_validity_window_in_the_past_is_accepted_for_digitised_paper_certificates(consortium: Consortium):
    issue(consortium, 1, valid_from=1_000_000, valid_until=2_000_000)
    assert view(consortium, "certificateOf", cert_id(1))["status"] == VALID


@pytest.mark.parametrize(
    ("index", "value", "error", "error_args"),
    [
        (0, bytes(32), "CertificateRegistryInvalidCertId", {"certId": hexed(bytes(32))}),
        (1, bytes(32), "CertificateRegistryInvalidDocumentHash", {"documentHash": hexed(bytes(32))}),
        (2, 0, "CertificateRegistryUnsupportedHashAlgorithm", {"hashAlgorithm": 0}),
        (2, 4, "CertificateRegistryUnsupportedHashAlgorithm", {"hashAlgorithm": 4}),
        (6, VALID_FROM, "CertificateRegistryInvalidValidity", {"validFrom": VALID_FROM, "validUntil": VALID_FROM}),
        (
            6,
            VALID_FROM - 1,
            "CertificateRegistryInvalidValidity",
            {"validFrom": VALID_FROM, "validUntil": VALID_FROM - 1},
        ),
    ],
)
def test_issue_refuses_invalid_fields(consortium: Consortium, index: int, value: Any, error: str, error_args: dict):
    values = fields(1)
    values[index] = value
    with reverts_with(error) as info:
        act(consortium, "CS-MSA", "issue", *values)
    assert info.value.error_args == error_args


def test_a_certificate_id_is_issued_once_even_across_departments(consortium: Consortium):
    issue(consortium, 1)
    for department in ("CS-MSA", "CS-HRSS"):
        with reverts_with("CertificateRegistryCertificateExists"):
            issue(consortium, 1, department)


def test_issue_needs_an_active_member_department_with_the_issuer_role(consortium: Consortium, chain: Web3Chain):
    with reverts_with("ConsortiumMissingRole") as info:
        issue(consortium, 1, "CS-PSB")
    assert info.value.error_args == {"deptId": hexed(dept("CS-PSB")), "requiredRoles": int(Role.CERTIFICATE_ISSUER)}
    with reverts_with("ConsortiumNotMember"):
        consortium.send(new_signer(chain), "issue", *fields(1), contract=CERTS)
    suspend_department(consortium, "CS-HRSS")
    with reverts_with("ConsortiumDepartmentInactive"):
        issue(consortium, 1, "CS-HRSS")


# ------------------------------------------------------------------ lifecycle


def test_suspend_reinstate_and_revoke_each_change_the_status_and_its_time(consortium: Consortium):
    issue(consortium, 1)
    steps = [
        ("suspend", [REASON], "CertificateSuspended", SUSPENDED, {"reasonCode": REASON}),
        ("reinstate", [], "CertificateReinstated", VALID, {}),
        ("suspend", [REASON], "CertificateSuspended", SUSPENDED, {"reasonCode": REASON}),
        ("revoke", [REASON], "CertificateRevoked", REVOKED, {"reasonCode": REASON}),
    ]
    for seq, (function, args, event, status, extra) in enumerate(steps, start=2):
        receipt = act(consortium, "CS-MSA", function, cert_id(1), *args)
        expected = {"certId": cert_id(1), "issuerDept": dept("CS-MSA"), **extra, "actionSeq": seq}
        assert events(consortium, receipt) == [(event, expected)]
        cert = view(consortium, "certificateOf", cert_id(1))
        assert cert["status"] == status
        assert cert["statusChangedAt"] == block_time(consortium, receipt)
    assert view(consortium, "verifyCertificate", fields(1)) is True  # the fields stay provable after revocation


@pytest.mark.parametrize("suspended_first", [False, True])
def test_revoke_and_revoke_batched_change_only_the_status_and_its_time(consortium: Consortium, suspended_first):
    # revoke's usual case is written by hand for its gas budget; revokeBatched runs the Solidity _revoke.
    tree, leaves = batch(2)
    act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    for values in leaves:
        act(consortium, "CS-MSA", "suspendBatched", tree.root_bytes, values, proof_of(tree, values), REASON)
        if not suspended_first:
            act(consortium, "CS-MSA", "reinstate", values[0])
    before = [view(consortium, "certificateOf", values[0]) for values in leaves]
    by_hand = act(consortium, "CS-MSA", "revoke", leaves[0][0], REASON)
    in_solidity = act(
        consortium, "CS-MSA", "revokeBatched", tree.root_bytes, leaves[1], proof_of(tree, leaves[1]), REASON
    )
    last_seq = consortium.contract.call("actionCount", dept("CS-MSA"))
    runs = zip(leaves, before, (by_hand, in_solidity), (last_seq - 1, last_seq), strict=True)
    for values, earlier, receipt, seq in runs:
        expected = {"certId": values[0], "issuerDept": dept("CS-MSA"), "reasonCode": REASON, "actionSeq": seq}
        assert events(consortium, receipt) == [("CertificateRevoked", expected)]
        after = view(consortium, "certificateOf", values[0])
        assert (after["status"], after["statusChangedAt"]) == (REVOKED, block_time(consortium, receipt))
        assert {k: v for k, v in after.items() if k not in ("status", "statusChangedAt")} == {
            k: v for k, v in earlier.items() if k not in ("status", "statusChangedAt")
        }


def test_a_revoked_certificate_can_never_change_again(consortium: Consortium):
    issue(consortium, 1)
    issue(consortium, 2)
    act(consortium, "CS-MSA", "revoke", cert_id(1), REASON)
    for function, args in [("revoke", [REASON]), ("suspend", [REASON]), ("supersede", [cert_id(2)])]:
        with reverts_with("CertificateRegistryAlreadyRevoked"):
            act(consortium, "CS-MSA", function, cert_id(1), *args)
    with reverts_with("CertificateRegistryNotSuspended") as info:
        act(consortium, "CS-MSA", "reinstate", cert_id(1))
    assert info.value.error_args == {"certId": hexed(cert_id(1)), "status": REVOKED}


def test_suspend_twice_and_reinstate_of_a_valid_certificate_are_refused(consortium: Consortium):
    issue(consortium, 1)
    with reverts_with("CertificateRegistryNotSuspended"):
        act(consortium, "CS-MSA", "reinstate", cert_id(1))
    act(consortium, "CS-MSA", "suspend", cert_id(1), REASON)
    with reverts_with("CertificateRegistryAlreadySuspended"):
        act(consortium, "CS-MSA", "suspend", cert_id(1), REASON)


@pytest.mark.parametrize(
    ("function", "args"),
    [("revoke", [REASON]), ("suspend", [REASON]), ("reinstate", []), ("supersede", [cert_id(2)])],
)
def test_status_changes_of_an_unknown_certificate_are_refused(consortium: Consortium, function: str, args: list):
    issue(consortium, 2)
    with reverts_with("CertificateRegistryUnknownCertificate") as info:
        act(consortium, "CS-MSA", function, cert_id(404), *args)
    assert info.value.error_args == {"certId": hexed(cert_id(404))}


@pytest.mark.parametrize(
    ("function", "args"),
    [("revoke", [REASON]), ("suspend", [REASON]), ("reinstate", []), ("supersede", [cert_id(2)])],
)
def test_only_the_issuing_department_changes_a_status(consortium: Consortium, chain: Web3Chain, function, args):
    issue(consortium, 1)
    issue(consortium, 2)
    if function == "reinstate":
        act(consortium, "CS-MSA", "suspend", cert_id(1), REASON)
    with reverts_with("CertificateRegistryNotIssuer") as info:
        act(consortium, "CS-HRSS", function, cert_id(1), *args)  # another issuer department
    assert info.value.error_args == {"certId": hexed(cert_id(1)), "callerDept": hexed(dept("CS-HRSS"))}
    with reverts_with("ConsortiumMissingRole"):
        act(consortium, "CS-PSB", function, cert_id(1), *args)  # no issuer role
    with reverts_with("ConsortiumNotMember"):
        consortium.send(new_signer(chain), function, cert_id(1), *args, contract=CERTS)
    suspend_department(consortium, "CS-MSA")
    with reverts_with("ConsortiumDepartmentInactive"):
        act(consortium, "CS-MSA", function, cert_id(1), *args)  # the issuer itself, while suspended
    proposal = consortium.propose("CS-DRB", REINSTATE, payload(["bytes32"], [dept("CS-MSA")]))
    consortium.act("CS-HRSS", "approve", proposal)  # CS-MSA, suspended, cannot approve its own return
    consortium.act("CS-DRB", "execute", proposal)
    act(consortium, "CS-MSA", function, cert_id(1), *args)


def test_an_issuer_that_lost_the_role_can_no_longer_change_its_certificates(consortium: Consortium):
    issue(consortium, 1)
    consortium.pass_proposal(SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-MSA"), int(Role.GOVERNOR)]))
    with reverts_with("ConsortiumMissingRole"):
        act(consortium, "CS-MSA", "revoke", cert_id(1), REASON)


# ------------------------------------------------------------------ supersede


def test_a_supersede_chain_points_each_certificate_at_its_successor(consortium: Consortium):
    for number in (1, 2, 3):
        issue(consortium, number)
    act(consortium, "CS-MSA", "suspend", cert_id(1), REASON)  # a suspended certificate can be replaced too
    first = act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(2))
    second = act(consortium, "CS-MSA", "supersede", cert_id(2), cert_id(3))
    assert events(consortium, first) == [
        (
            "CertificateSuperseded",
            {"certId": cert_id(1), "newCertId": cert_id(2), "issuerDept": dept("CS-MSA"), "actionSeq": 5},
        )
    ]
    assert events(consortium, second)[0][1]["newCertId"] == cert_id(3)
    chain_of = []
    current = cert_id(1)
    while current != bytes(32):
        cert = view(consortium, "certificateOf", current)
        chain_of.append((current, cert["status"]))
        current = cert["supersededBy"]
    assert chain_of == [(cert_id(1), SUPERSEDED), (cert_id(2), SUPERSEDED), (cert_id(3), VALID)]
    assert view(consortium, "certificateOf", cert_id(1))["statusChangedAt"] == block_time(consortium, first)


def test_supersede_refusals(consortium: Consortium):
    for number in (1, 2, 3, 4):
        issue(consortium, number)
    issue(consortium, 9, "CS-HRSS")
    with reverts_with("CertificateRegistryInvalidSuccessor"):
        act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(1))
    with reverts_with("CertificateRegistryUnknownCertificate"):
        act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(404))
    with reverts_with("CertificateRegistryNotIssuer"):
        act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(9))  # successor of another department
    act(consortium, "CS-MSA", "suspend", cert_id(2), REASON)
    with reverts_with("CertificateRegistrySuccessorNotValid") as info:
        act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(2))
    assert info.value.error_args == {"newCertId": hexed(cert_id(2)), "status": SUSPENDED}
    act(consortium, "CS-MSA", "supersede", cert_id(3), cert_id(4))
    with reverts_with("CertificateRegistryAlreadySuperseded"):
        act(consortium, "CS-MSA", "supersede", cert_id(3), cert_id(1))
    with reverts_with("CertificateRegistryAlreadySuperseded"):
        act(consortium, "CS-MSA", "revoke", cert_id(3), REASON)
    with reverts_with("CertificateRegistrySuccessorNotValid"):
        act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(3))  # no loops: a successor must be Valid


# ------------------------------------------------------------------ batches


def test_a_batch_is_one_root_and_every_leaf_verifies_against_it(consortium: Consortium):
    tree, leaves = batch(7)
    receipt = act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    assert events(consortium, receipt) == [
        (
            "CertificateBatchIssued",
            {"root": tree.root_bytes, "issuerDept": dept("CS-MSA"), "count": 7, "actionSeq": 1},
        )
    ]
    assert view(consortium, "batchOf", tree.root_bytes) == (dept("CS-MSA"), block_time(consortium, receipt), 7)
    for values in leaves:
        assert tree.leaf_hash(values) == hexed(leaf_of(values)) == hexed(view(consortium, "certificateLeaf", values))
        assert view(consortium, "verifyBatchCertificate", tree.root_bytes, values, proof_of(tree, values)) is True
        assert view(consortium, "certificateOf", values[0])["status"] == NONE
    tampered = list(leaves[0])
    tampered[1] = keccak(text="forged document")
    assert view(consortium, "verifyBatchCertificate", tree.root_bytes, tampered, proof_of(tree, leaves[0])) is False
    unknown_root = keccak(text="never issued")
    assert view(consortium, "verifyBatchCertificate", unknown_root, leaves[0], proof_of(tree, leaves[0])) is False
    assert view(consortium, "batchOf", unknown_root) == (bytes(32), 0, 0)


def test_issue_batch_refusals(consortium: Consortium):
    tree, _ = batch(2)
    with reverts_with("CertificateRegistryInvalidRoot"):
        act(consortium, "CS-MSA", "issueBatch", bytes(32), 2)
    with reverts_with("CertificateRegistryInvalidBatchCount"):
        act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, 0)
    with reverts_with("ConsortiumMissingRole"):
        act(consortium, "CS-PSB", "issueBatch", tree.root_bytes, 2)
    act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, 2)
    with reverts_with("CertificateRegistryBatchExists"):
        act(consortium, "CS-HRSS", "issueBatch", tree.root_bytes, 2)


def test_the_first_status_change_of_a_batch_certificate_registers_it_from_its_proof(consortium: Consortium):
    tree, leaves = batch(5)
    anchored = act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    values = leaves[2]
    receipt = act(consortium, "CS-MSA", "suspendBatched", tree.root_bytes, values, proof_of(tree, values), REASON)
    assert [name for name, _ in events(consortium, receipt)] == ["BatchCertificateRegistered", "CertificateSuspended"]
    registered = events(consortium, receipt)[0][1]
    assert registered == {
        "certId": values[0],
        "root": tree.root_bytes,
        "issuerDept": dept("CS-MSA"),
        "documentHash": values[1],
        "hashAlgorithm": values[2],
        "holderCommitment": values[3],
        "certType": values[4],
        "validFrom": values[5],
        "validUntil": values[6],
    }
    cert = view(consortium, "certificateOf", values[0])
    assert (cert["status"], cert["batchRoot"], cert["issuerDept"]) == (SUSPENDED, tree.root_bytes, dept("CS-MSA"))
    assert cert["issuedAt"] == block_time(consortium, anchored)
    assert cert["statusChangedAt"] == block_time(consortium, receipt)
    # Later changes carry the leaf again; it is checked against the stored fingerprint, not re-registered.
    again = act(consortium, "CS-MSA", "reinstateBatched", tree.root_bytes, values, proof_of(tree, values))
    assert [name for name, _ in events(consortium, again)] == ["CertificateReinstated"]
    act(consortium, "CS-MSA", "revokeBatched", tree.root_bytes, values, proof_of(tree, values), REASON)
    assert view(consortium, "certificateOf", values[0])["status"] == REVOKED
    # The plain functions work on it too, now that it has a slot.
    with reverts_with("CertificateRegistryAlreadyRevoked"):
        act(consortium, "CS-MSA", "revoke", values[0], REASON)


def test_batch_status_changes_are_refused_to_others_and_to_bad_proofs(consortium: Consortium):
    tree, leaves = batch(4)
    act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    values, proof = leaves[1], proof_of(tree, leaves[1])
    with reverts_with("CertificateRegistryNotIssuer"):
        act(consortium, "CS-HRSS", "revokeBatched", tree.root_bytes, values, proof, REASON)
    with reverts_with("ConsortiumMissingRole"):
        act(consortium, "CS-PSB", "revokeBatched", tree.root_bytes, values, proof, REASON)
    with reverts_with("CertificateRegistryInvalidProof"):
        act(consortium, "CS-MSA", "revokeBatched", tree.root_bytes, values, proof_of(tree, leaves[0]), REASON)
    with reverts_with("CertificateRegistryUnknownBatch"):
        act(consortium, "CS-MSA", "revokeBatched", keccak(text="no such root"), values, proof, REASON)
    forged = list(values)
    forged[6] = values[6] + YEAR
    with reverts_with("CertificateRegistryInvalidProof"):
        act(consortium, "CS-MSA", "revokeBatched", tree.root_bytes, forged, proof, REASON)
    act(consortium, "CS-MSA", "suspendBatched", tree.root_bytes, values, proof, REASON)
    with reverts_with("CertificateRegistryLeafMismatch"):
        act(consortium, "CS-MSA", "reinstateBatched", tree.root_bytes, forged, proof)


def test_anyone_may_register_a_batch_certificate_and_doing_it_twice_changes_nothing(consortium, chain):
    tree, leaves = batch(3)
    act(consortium, "CS-HRSS", "issueBatch", tree.root_bytes, len(tree))
    outsider = new_signer(chain)
    values, proof = leaves[0], proof_of(tree, leaves[0])
    first = consortium.send(outsider, "registerBatchCertificate", tree.root_bytes, values, proof, contract=CERTS)
    assert [name for name, _ in events(consortium, first)] == ["BatchCertificateRegistered"]
    second = consortium.send(outsider, "registerBatchCertificate", tree.root_bytes, values, proof, contract=CERTS)
    assert events(consortium, second) == []
    assert view(consortium, "certificateOf", values[0])["issuerDept"] == dept("CS-HRSS")
    assert consortium.contract.call("actionCount", dept("CS-HRSS")) == 1  # registration is no department action


def test_a_batch_certificate_can_be_superseded_and_can_be_a_successor(consortium: Consortium):
    tree, leaves = batch(3)
    act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    issue(consortium, 1)
    old, replacement = leaves[0], leaves[1]
    act(consortium, "CS-MSA", "supersedeBatched", tree.root_bytes, old, proof_of(tree, old), cert_id(1))
    assert view(consortium, "certificateOf", old[0])["supersededBy"] == cert_id(1)
    with reverts_with("CertificateRegistryUnknownCertificate"):
        act(consortium, "CS-MSA", "supersede", cert_id(1), replacement[0])  # not registered yet
    act(consortium, "CS-MSA", "registerBatchCertificate", tree.root_bytes, replacement, proof_of(tree, replacement))
    act(consortium, "CS-MSA", "supersede", cert_id(1), replacement[0])
    assert view(consortium, "certificateOf", cert_id(1))["supersededBy"] == replacement[0]


def test_a_batch_certificate_whose_id_was_taken_no_longer_verifies_from_the_batch(consortium: Consortium):
    tree, leaves = batch(2, first=1)
    act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    other = fields(1)
    other[1] = keccak(text="another document")
    act(consortium, "CS-HRSS", "issue", *other)  # the id is taken first, by a single issue
    (values,) = [leaf for leaf in leaves if leaf[0] == cert_id(1)]
    proof = proof_of(tree, values)
    assert view(consortium, "verifyBatchCertificate", tree.root_bytes, values, proof) is False
    with reverts_with("CertificateRegistryLeafMismatch"):
        act(consortium, "CS-MSA", "registerBatchCertificate", tree.root_bytes, values, proof)


# ------------------------------------------------------------------ validity at a past moment, from the events


def validity_timeline(consortium: Consortium, certificate: bytes) -> tuple[tuple[int, int], list[tuple[int, int]]]:
    """The validity window and the (time, status) changes of a certificate, read from its events only."""
    registry = consortium.module(CERTS)
    window: tuple[int, int] | None = None
    changes: list[tuple[int, int]] = []
    status_of = {
        "CertificateIssued": VALID,
        "BatchCertificateRegistered": None,
        "CertificateSuspended": SUSPENDED,
        "CertificateReinstated": VALID,
        "CertificateRevoked": REVOKED,
        "CertificateSuperseded": SUPERSEDED,
    }
    for log in consortium.chain.get_logs([registry.address], 0, consortium.chain.block_number()):
        event = registry.decode_log(log)
        if event is None or event.args.get("certId") != certificate:
            continue
        when = consortium.chain.get_block(log.block_number).timestamp
        if event.name == "CertificateIssued":
            window = (event.args["validFrom"], event.args["validUntil"])
        status = status_of[event.name]
        if status is not None:
            changes.append((when, status))
    assert window is not None
    return window, changes


def valid_at(window: tuple[int, int], changes: list[tuple[int, int]], moment: int) -> bool:
    """Valid at ``moment``: inside its window and, by the last change at or before it, in status Valid."""
    status = NONE
    for when, new_status in changes:
        if when <= moment:
            status = new_status
    return status == VALID and window[0] <= moment < window[1]


def test_validity_at_any_past_moment_follows_from_the_events(consortium: Consortium, chain: Web3Chain):
    start = chain.get_block("latest").timestamp + 100
    chain.time_travel(start)
    issued = issue(consortium, 1, valid_from=start, valid_until=start + 10 * YEAR)
    chain.time_travel(start + 1000)
    suspended = act(consortium, "CS-MSA", "suspend", cert_id(1), REASON)
    chain.time_travel(start + 2000)
    reinstated = act(consortium, "CS-MSA", "reinstate", cert_id(1))
    chain.time_travel(start + 3000)
    revoked = act(consortium, "CS-MSA", "revoke", cert_id(1), REASON)
    t_issued, t_suspended, t_reinstated, t_revoked = (
        block_time(consortium, r) for r in (issued, suspended, reinstated, revoked)
    )
    window, changes = validity_timeline(consortium, cert_id(1))
    assert [status for _, status in changes] == [VALID, SUSPENDED, VALID, REVOKED]
    expectations = {
        t_issued - 1: False,  # not issued yet
        t_issued: True,
        t_suspended - 1: True,
        t_suspended: False,
        t_reinstated - 1: False,
        t_reinstated + 1: True,
        t_revoked - 1: True,
        t_revoked: False,
        t_revoked + YEAR: False,
    }
    for moment, expected in expectations.items():
        assert valid_at(window, changes, moment) is expected, moment


def test_a_certificate_is_not_valid_before_its_window_or_after_it(consortium: Consortium, chain: Web3Chain):
    now = chain.get_block("latest").timestamp
    issue(consortium, 1, valid_from=now + YEAR, valid_until=now + 2 * YEAR)
    window, changes = validity_timeline(consortium, cert_id(1))
    assert not valid_at(window, changes, now + 10)
    assert valid_at(window, changes, now + YEAR)
    assert not valid_at(window, changes, now + 2 * YEAR)


# ------------------------------------------------------------------ action sequence numbers


def test_a_departments_actions_across_all_contracts_are_numbered_without_gaps(consortium: Consortium):
    tree, leaves = batch(2)
    issue(consortium, 1)
    record = [keccak(text="record"), keccak(text="content"), SHA256, keccak(text="schema"), [], 0]
    consortium.act("CS-MSA", "anchorRecord", *record, contract="RecordRegistry")
    act(consortium, "CS-MSA", "suspend", cert_id(1), REASON)
    consortium.propose("CS-MSA", SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-PSB"), int(Role.DATA_OWNER)]))
    act(consortium, "CS-MSA", "issueBatch", tree.root_bytes, len(tree))
    act(consortium, "CS-MSA", "revokeBatched", tree.root_bytes, leaves[0], proof_of(tree, leaves[0]), REASON)
    issue(consortium, 2)
    act(consortium, "CS-MSA", "supersede", cert_id(1), cert_id(2))
    act(consortium, "CS-HRSS", "issue", *fields(3))
    seen: dict[str, list[int]] = defaultdict(list)
    names = list(consortium.deployment.contracts)
    for name in names:
        contract = consortium.module(name)
        for log in consortium.chain.get_logs([contract.address], 0, consortium.chain.block_number()):
            event = contract.decode_log(log)
            if event is not None and "actionSeq" in event.args:
                department = next(v for k, v in event.args.items() if k in ("issuerDept", "ownerDept", "proposerDept"))
                seen[department].append((log.block_number, event.args["actionSeq"]))
    msa = [seq for _, seq in sorted(seen[dept("CS-MSA")])]
    assert msa == list(range(1, 9))
    assert consortium.contract.call("actionCount", dept("CS-MSA")) == 8
    assert [seq for _, seq in sorted(seen[dept("CS-HRSS")])] == [1]


# ------------------------------------------------------------------ the Consortium's hot path


def test_record_action_leaves_every_other_department_field_as_it_was(consortium: Consortium):
    before = consortium.contract.call("getDepartment", dept("CS-MSA"))
    for number in range(3):
        issue(consortium, number + 1)
    after = consortium.contract.call("getDepartment", dept("CS-MSA"))
    assert after["actionCount"] == before["actionCount"] + 3
    assert {k: v for k, v in after.items() if k != "actionCount"} == {
        k: v for k, v in before.items() if k != "actionCount"
    }


def test_departments_have_permanent_numbers_in_order_of_joining(consortium: Consortium, chain: Web3Chain):
    ids = consortium.contract.call("departmentIds")
    for number, dept_id in enumerate(ids, start=1):
        assert consortium.contract.call("departmentIdByNumber", number) == dept_id
    for number in (0, len(ids) + 1):
        with reverts_with("ConsortiumUnknownDepartmentNumber"):
            consortium.contract.call("departmentIdByNumber", number)
    body = payload(
        ["bytes32", "string", "uint8", "address"],
        [dept("CS-EDU"), "教育局", int(Role.CERTIFICATE_ISSUER), new_signer(chain).address],
    )
    consortium.pass_proposal(ADD_DEPARTMENT, body)
    assert consortium.contract.call("departmentIdByNumber", len(ids) + 1) == dept("CS-EDU")


def test_governance_can_disable_and_re_enable_an_initial_module(consortium: Consortium, chain: Web3Chain):
    registry = consortium.module(CERTS).address
    issue(consortium, 1)
    consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [registry, False]))
    assert consortium.contract.call("isModule", registry) is False
    with reverts_with("ConsortiumNotModule") as info:
        act(consortium, "CS-MSA", "revoke", cert_id(1), REASON)
    assert info.value.error_args == {"caller": registry}
    with reverts_with("ConsortiumNotModule"):
        consortium.send(new_signer(chain), "revoke", cert_id(1), REASON, contract=CERTS)  # before "not a member"
    # A department that joins while the module is disabled is refused through it too.
    newcomer = new_signer(chain)
    body = payload(
        ["bytes32", "string", "uint8", "address"],
        [dept("CS-EDU"), "教育局", int(Role.CERTIFICATE_ISSUER), newcomer.address],
    )
    consortium.pass_proposal(ADD_DEPARTMENT, body)
    with reverts_with("ConsortiumNotModule"):
        consortium.send(newcomer, "issue", *fields(2), contract=CERTS)
    # The other initial modules are unaffected.
    consortium.act("CS-MSA", "anchorBatch", keccak(text="root"), 3, contract="RecordRegistry")
    consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [registry, True]))
    assert consortium.contract.call("isModule", registry) is True
    act(consortium, "CS-MSA", "revoke", cert_id(1), REASON)
    consortium.send(newcomer, "issue", *fields(2), contract=CERTS)


def test_the_constructor_refuses_too_many_zero_or_repeated_initial_modules(chain: Web3Chain):
    artifact = load_artifact("Consortium")
    governor = new_signer(chain).address
    some = [new_signer(chain).address for _ in range(5)]
    cases = [
        (some, "ConsortiumTooManyInitialModules"),
        ([some[0], "0x" + "00" * 20], "ConsortiumInvalidModule"),
        ([some[0], some[1], some[0]], "ConsortiumInvalidModule"),
    ]
    for modules, error in cases:
        args = [[dept("CS-A")], ["甲"], [int(Role.GOVERNOR)], [governor], 1, 3600, modules]
        with reverts_with(error):
            send_and_confirm(
                chain,
                new_signer(chain),
                artifact.interface,
                to=None,
                data=artifact.bytecode + artifact.interface.encode_constructor(args),
            )


def test_a_consortium_deployed_without_initial_modules_keeps_register_modules_open(chain: Web3Chain):
    artifact = load_artifact("Consortium")
    deployer = new_signer(chain)
    args = [[dept("CS-A")], ["甲"], [int(Role.GOVERNOR | Role.CERTIFICATE_ISSUER)], [deployer.address], 1, 3600, []]
    receipt = send_and_confirm(
        chain,
        deployer,
        artifact.interface,
        to=None,
        data=artifact.bytecode + artifact.interface.encode_constructor(args),
    )
    from govledger.chain.contracts import BoundContract

    consortium = BoundContract("Consortium", str(receipt.contract_address), chain)
    registry_artifact = load_artifact(CERTS)
    deployed = send_and_confirm(
        chain,
        deployer,
        registry_artifact.interface,
        to=None,
        data=registry_artifact.bytecode + registry_artifact.interface.encode_constructor([consortium.address]),
    )
    registry = BoundContract(CERTS, str(deployed.contract_address), chain)
    assert consortium.call("isModule", registry.address) is False
    send_and_confirm(
        chain,
        deployer,
        consortium.interface,
        to=consortium.address,
        data=consortium.encode("registerModules", [registry.address]),
    )
    assert consortium.call("isModule", registry.address) is True
    send_and_confirm(
        chain, deployer, registry.interface, to=registry.address, data=registry.encode("issue", *fields(1))
    )
    assert registry.call("certificateOf", cert_id(1))["issuerDept"] == dept("CS-A")
    # A module registered after deployment takes the Consortium's slower path, with the same results.
    send_and_confirm(
        chain, deployer, registry.interface, to=registry.address, data=registry.encode("revoke", cert_id(1), REASON)
    )
    assert registry.call("certificateOf", cert_id(1))["status"] == REVOKED
    assert consortium.call("actionCount", dept("CS-A")) == 2
    with reverts_with("ConsortiumNotMember"):
        send_and_confirm(
            chain,
            new_signer(chain),
            registry.interface,
            to=registry.address,
            data=registry.encode("issue", *fields(2)),
        )

"""Stateful property test of CertificateRegistry's lifecycle against a Python model of it.

Hypothesis issues certificates one by one and as Merkle batches, and suspends, reinstates, revokes and
supersedes them (directly and through the *Batched functions) from random accounts: the issuing department,
the other issuer, departments without the issuer role, a suspended department and an outsider. The model says
for each action whether it goes through or which custom error refuses it (with its arguments); after every
step the certificates and batches it touched are read back (certificateOf, batchOf, verifyCertificate,
verifyBatchCertificate) and compared with the model, and a sweep at the end of each example reads them all.
Revoked and Superseded are final; a successor must be a Valid certificate of the same issuer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import hypothesis.strategies as st
import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from govledger.chain.client import Receipt
from govledger.consortium.departments import Role
from govledger.errors import ContractRevertError
from govledger.merkle import StandardMerkleTree
from govledger.shortids import encode_short_id
from tests.contracts.gas_report import CERTIFICATE_LEAF_ENCODING
from tests.support.consortium import REINSTATE, SUSPEND, dept, payload
from tests.support.stateful import Figures, Refusal, World, check_outcome, run_machine

CERTS = "CertificateRegistry"
NONE, VALID, SUSPENDED, REVOKED, SUPERSEDED = range(5)
ISSUER_ROLE = int(Role.CERTIFICATE_ISSUER)
ISSUERS = ("CS-MSA", "CS-HRSS")
DEPARTMENTS = ("CS-MSA", "CS-HRSS", "CS-DRB", "CS-PSB", "CS-AUD")
ZERO = b"\x00" * 32
REASON = encode_short_id("LICENCE-CANCELLED")
LICENCE = encode_short_id("business-licence")
VALID_FROM, VALID_UNTIL = 1_700_000_000, 1_900_000_000


def cert_id(number: int) -> bytes:
    return encode_short_id(f"BL-{number:04d}") if number else ZERO


def leaf_values(number: int, variant: int = 0) -> tuple[Any, ...]:
    """A certificate's seven fields; another variant is another certificate claiming the same id."""
    return (
        cert_id(number),
        keccak(text=f"document {number}/{variant}"),
        1 + (number + variant) % 3,
        keccak(text=f"salted holder {number}"),
        LICENCE,
        VALID_FROM,
        VALID_UNTIL,
    )


def fingerprint(values: tuple[Any, ...]) -> bytes:
    """The first 20 bytes of the StandardMerkleTree leaf, computed here rather than by the contract."""
    return keccak(keccak(abi_encode(list(CERTIFICATE_LEAF_ENCODING), list(values))))[:20]


# Single certificates use ids 1-4; the batches hold 3 and 4 (clashing with single issues, in other variants)
# and ids 5-8; id 6 is in both batches with different fields, so only the first registration can win.
SINGLE_IDS = (1, 2, 3, 4, 0)
BATCH_LEAVES = {
    "A": (leaf_values(3, 1), leaf_values(5), leaf_values(6)),
    "B": (leaf_values(6, 1), leaf_values(7), leaf_values(4, 1), leaf_values(8)),
}
TREES = {
    name: StandardMerkleTree.of([list(v) for v in leaves], CERTIFICATE_LEAF_ENCODING)
    for name, leaves in BATCH_LEAVES.items()
}
ROOTS = {name: tree.root_bytes for name, tree in TREES.items()}
ALL_IDS = sorted({*SINGLE_IDS, 5, 6, 7, 8} - {0})
NUMBER_OF = {cert_id(number): number for number in ALL_IDS}

# Invalid fields for issue, each refused by _checkFields with the error named here.
BAD_FIELDS = {
    "zero document hash": (1, ZERO, "CertificateRegistryInvalidDocumentHash"),
    "hash algorithm 0": (2, 0, "CertificateRegistryUnsupportedHashAlgorithm"),
    "hash algorithm 4": (2, 4, "CertificateRegistryUnsupportedHashAlgorithm"),
    "empty validity": (6, VALID_FROM, "CertificateRegistryInvalidValidity"),
}


# Hypothesis leans towards the first of sampled values; three in four draws take the preferred choice.
PREFERRED_OR_ANY = st.sampled_from(["preferred", "preferred", "any", "preferred"])


def proof(batch: str, values: tuple[Any, ...]) -> list[bytes]:
    return [bytes.fromhex(node.removeprefix("0x")) for node in TREES[batch].proof(list(values))]


@dataclass(frozen=True)
class Certificate:
    values: tuple[Any, ...]
    issuer: str
    status: int
    issued_at: int
    changed_at: int
    superseded_by: bytes = ZERO
    batch_root: bytes = ZERO


@dataclass(frozen=True)
class Batch:
    issuer: str
    issued_at: int
    count: int


class CertificateMachine(RuleBasedStateMachine):
    """The model: certificates that have a slot, by id number; batches issued, by name; suspended departments."""

    world: World
    figures: Figures

    def __init__(self) -> None:
        super().__init__()
        self.world.reset()
        self.figures.examples += 1
        founders = self.world.consortium.signers
        self.signers = {code: founders[code] for code in DEPARTMENTS}
        self.signers["outsider"] = self.world.spares[0]
        self.certificates: dict[int, Certificate] = {}
        self.batches: dict[str, Batch] = {}
        self.suspended_departments: set[str] = set()
        self.department_toggles = 0
        self.touched_ids: set[int] = set()
        self.touched_batches: set[str] = set()
        self.now = 0

    # ------------------------------------------------------------------ the model's rules

    def actor_refusal(self, actor: str) -> Refusal | None:
        """Consortium.recordAction(sender, ROLE_CERTIFICATE_ISSUER), which every write but register runs first."""
        if actor == "outsider":
            return Refusal("ConsortiumNotMember", (self.signers[actor].address,))
        if actor in self.suspended_departments:
            return Refusal("ConsortiumDepartmentInactive", (dept(actor),))
        if actor not in ISSUERS:
            return Refusal("ConsortiumMissingRole", (dept(actor), ISSUER_ROLE))
        return None

    def issuer_refusal(self, number: int, actor: str) -> Refusal | None:
        """_requireIssuer: the certificate has a slot and the caller's department issued it."""
        certificate = self.certificates.get(number)
        if certificate is None:
            return Refusal("CertificateRegistryUnknownCertificate", (cert_id(number),))
        if certificate.issuer != actor:
            return Refusal("CertificateRegistryNotIssuer", (cert_id(number), dept(actor)))
        return None

    def final_refusal(self, number: int) -> Refusal | None:
        """_requireChangeable: Revoked and Superseded are final."""
        status = self.certificates[number].status
        if status == REVOKED:
            return Refusal("CertificateRegistryAlreadyRevoked", (cert_id(number),))
        if status == SUPERSEDED:
            return Refusal("CertificateRegistryAlreadySuperseded", (cert_id(number),))
        return None

    def change_refusal(self, operation: str, number: int, actor: str, successor: int = 0) -> Refusal | None:
        """What refuses suspend, reinstate, revoke or supersede by ``actor`` (already known to be an issuer)."""
        refusal = self.issuer_refusal(number, actor)
        if refusal is not None:
            return refusal
        status = self.certificates[number].status
        if operation == "reinstate":
            if status != SUSPENDED:
                return Refusal("CertificateRegistryNotSuspended", (cert_id(number), status))
            return None
        refusal = self.final_refusal(number)
        if refusal is not None or operation == "revoke":
            return refusal
        if operation == "suspend":
            return Refusal("CertificateRegistryAlreadySuspended", (cert_id(number),)) if status == SUSPENDED else None
        if successor == number:
            return Refusal("CertificateRegistryInvalidSuccessor", (cert_id(number), cert_id(successor)))
        refusal = self.issuer_refusal(successor, actor)
        if refusal is not None:
            return refusal
        successor_status = self.certificates[successor].status
        if successor_status != VALID:
            return Refusal("CertificateRegistrySuccessorNotValid", (cert_id(successor), successor_status))
        return None

    def change(self, operation: str, number: int, successor: int = 0) -> None:
        status = {"suspend": SUSPENDED, "reinstate": VALID, "revoke": REVOKED, "supersede": SUPERSEDED}[operation]
        superseded_by = cert_id(successor) if operation == "supersede" else ZERO
        self.certificates[number] = replace(
            self.certificates[number], status=status, changed_at=self.now, superseded_by=superseded_by
        )
        self.touched_ids.update({number, successor} - {0})
        self.figures.reached[operation] += 1

    def register_refusal(self, batch: str, values: tuple[Any, ...], honest_proof: bool) -> Refusal | None:
        """_register: a slot with this leaf's fingerprint passes; otherwise the batch and the proof must hold."""
        existing = self.certificates.get(NUMBER_OF[values[0]])
        if existing is not None:
            if fingerprint(existing.values) != fingerprint(values):
                return Refusal("CertificateRegistryLeafMismatch", (values[0],))
            return None
        if batch not in self.batches:
            return Refusal("CertificateRegistryUnknownBatch", (ROOTS[batch],))
        if not honest_proof:
            return Refusal("CertificateRegistryInvalidProof", (ROOTS[batch], values[0]))
        return None

    def register(self, batch: str, values: tuple[Any, ...]) -> int:
        """Give a batch certificate its slot if it has none (the refusal was checked); return its number."""
        number = NUMBER_OF[values[0]]
        if number not in self.certificates:
            issued = self.batches[batch]
            self.certificates[number] = Certificate(
                values, issued.issuer, VALID, issued.issued_at, issued.issued_at, batch_root=ROOTS[batch]
            )
        self.touched_ids.add(number)
        return number

    # ------------------------------------------------------------------ driving the contract

    def send(self, actor: str, function: str, *args: Any) -> Receipt | ContractRevertError:
        self.figures.steps += 1
        outcome = self.world.send(self.signers[actor], function, *args, contract=CERTS)
        if isinstance(outcome, Receipt):
            self.now = self.world.chain.get_block(outcome.block_number).timestamp
        return outcome

    def draw_actor(self, data: st.DataObject, issuer_of: int | None = None) -> str:
        # Mostly the certificate's issuer, or an issuer department, so that certificates get issued and changed;
        # otherwise anyone: the other issuer, departments without the role, a suspended one, an outsider.
        certificate = self.certificates.get(issuer_of) if issuer_of is not None else None
        if certificate is not None and data.draw(PREFERRED_OR_ANY, label="the issuer acts") == "preferred":
            return certificate.issuer
        if data.draw(st.sampled_from(["issuer", "issuer", "anyone", "issuer"]), label="who acts") == "issuer":
            return data.draw(st.sampled_from(ISSUERS), label="actor")
        return data.draw(st.sampled_from([*DEPARTMENTS, "outsider"]), label="actor")

    def draw_certificate(self, data: st.DataObject, label: str) -> int:
        # Mostly a certificate with a slot; otherwise any id, including ones never issued.
        held = sorted(self.certificates)
        if held and data.draw(st.sampled_from(["held", "held", "any"]), label=f"{label} kind") == "held":
            return data.draw(st.sampled_from(held), label=label)
        return data.draw(st.sampled_from(ALL_IDS), label=label)

    def draw_successor(self, data: st.DataObject, old: int) -> int:
        # Mostly a Valid certificate of the same issuer, the only kind of successor that is accepted.
        issuer = self.certificates[old].issuer if old in self.certificates else None
        fitting = sorted(
            number
            for number, certificate in self.certificates.items()
            if certificate.issuer == issuer and certificate.status == VALID and number != old
        )
        if fitting and data.draw(PREFERRED_OR_ANY, label="a fitting successor") == "preferred":
            return data.draw(st.sampled_from(fitting), label="successor")
        return self.draw_certificate(data, "successor")

    @rule(data=st.data())
    def issue(self, data: st.DataObject) -> None:
        actor = self.draw_actor(data)
        unissued = [number for number in SINGLE_IDS if number and number not in self.certificates]
        if unissued and data.draw(PREFERRED_OR_ANY, label="fresh id") == "preferred":
            number = data.draw(st.sampled_from(unissued), label="certificate")
        else:
            number = data.draw(st.sampled_from(SINGLE_IDS), label="certificate")
        variant = data.draw(st.sampled_from([0, 1, 2]), label="variant")
        values = list(leaf_values(number, variant))
        flaw = data.draw(st.sampled_from([None, None, None, *BAD_FIELDS]), label="flaw")
        refusal = self.actor_refusal(actor)
        if flaw is not None:
            position, value, error = BAD_FIELDS[flaw]
            values[position] = value
        if refusal is None and number == 0:
            refusal = Refusal("CertificateRegistryInvalidCertId", (ZERO,))
        if refusal is None and flaw is not None:
            position, value, error = BAD_FIELDS[flaw]
            arguments = (values[5], values[6]) if position == 6 else (value,)
            refusal = Refusal(error, arguments)
        if refusal is None and number in self.certificates:
            refusal = Refusal("CertificateRegistryCertificateExists", (cert_id(number),))
        outcome = self.send(actor, "issue", *values)
        check_outcome(outcome, refusal, self.figures)
        if number:
            self.touched_ids.add(number)
        if refusal is None:
            self.certificates[number] = Certificate(tuple(values), actor, VALID, self.now, self.now)
            self.figures.reached["issue"] += 1

    @precondition(lambda self: self.certificates)
    @rule(data=st.data(), operation=st.sampled_from(["revoke", "suspend", "reinstate"]))
    def change_status(self, data: st.DataObject, operation: str) -> None:
        number = self.draw_certificate(data, "certificate")
        actor = self.draw_actor(data, issuer_of=number)
        refusal = self.actor_refusal(actor) or self.change_refusal(operation, number, actor)
        args = (cert_id(number),) if operation == "reinstate" else (cert_id(number), REASON)
        outcome = self.send(actor, operation, *args)
        check_outcome(outcome, refusal, self.figures)
        self.touched_ids.add(number)
        if refusal is None:
            self.change(operation, number)

    @precondition(lambda self: self.certificates)
    @rule(data=st.data())
    def supersede(self, data: st.DataObject) -> None:
        old = self.draw_certificate(data, "old")
        actor = self.draw_actor(data, issuer_of=old)
        new = self.draw_successor(data, old)
        refusal = self.actor_refusal(actor) or self.change_refusal("supersede", old, actor, new)
        outcome = self.send(actor, "supersede", cert_id(old), cert_id(new))
        check_outcome(outcome, refusal, self.figures)
        self.touched_ids.update({old, new})
        if refusal is None:
            self.change("supersede", old, new)

    @rule(
        data=st.data(), batch=st.sampled_from(sorted(TREES)), flaw=st.sampled_from([None, None, "zero root", "empty"])
    )
    def issue_batch(self, data: st.DataObject, batch: str, flaw: str | None) -> None:
        actor = self.draw_actor(data)
        root = ZERO if flaw == "zero root" else ROOTS[batch]
        count = 0 if flaw == "empty" else len(BATCH_LEAVES[batch])
        refusal = self.actor_refusal(actor)
        if refusal is None and flaw == "zero root":
            refusal = Refusal("CertificateRegistryInvalidRoot", (ZERO,))
        if refusal is None and flaw == "empty":
            refusal = Refusal("CertificateRegistryInvalidBatchCount", (0,))
        if refusal is None and batch in self.batches:
            refusal = Refusal("CertificateRegistryBatchExists", (root,))
        outcome = self.send(actor, "issueBatch", root, count)
        check_outcome(outcome, refusal, self.figures)
        self.touched_batches.add(batch)
        if refusal is None:
            self.batches[batch] = Batch(actor, self.now, count)
            self.figures.reached["issueBatch"] += 1

    @precondition(lambda self: self.batches)
    @rule(
        data=st.data(),
        batch=st.sampled_from(sorted(TREES)),
        operation=st.sampled_from(["register", "revoke", "suspend", "reinstate", "supersede"]),
        honest_proof=st.sampled_from([True, True, True, False]),
    )
    def change_batch_certificate(self, data: st.DataObject, batch: str, operation: str, honest_proof: bool) -> None:
        if data.draw(PREFERRED_OR_ANY, label="an issued batch") == "preferred":
            batch = data.draw(st.sampled_from(sorted(self.batches)), label="issued batch")
        values = data.draw(st.sampled_from(BATCH_LEAVES[batch]), label="leaf")
        held = self.certificates.get(NUMBER_OF[values[0]])
        batch_issuer = held.issuer if held else self.batches[batch].issuer if batch in self.batches else None
        if batch_issuer and data.draw(PREFERRED_OR_ANY, label="the issuer acts") == "preferred":
            actor = batch_issuer
        else:
            actor = self.draw_actor(data)
        leaf_proof = proof(batch, values)
        if not honest_proof:
            # Another leaf's proof: it leads to the root only from that other leaf.
            other = next(v for v in BATCH_LEAVES[batch] if v != values)
            leaf_proof = proof(batch, other)
        successor = self.draw_successor(data, NUMBER_OF[values[0]]) if operation == "supersede" else 0
        # Registering is open to anyone; the status changes ask the Consortium about the sender first.
        refusal = None if operation == "register" else self.actor_refusal(actor)
        refusal = refusal or self.register_refusal(batch, values, honest_proof)
        before = dict(self.certificates)
        if refusal is None:
            number = self.register(batch, values)
            if operation != "register":
                refusal = self.change_refusal(operation, number, actor, successor)
        if operation == "register":
            outcome = self.send(actor, "registerBatchCertificate", ROOTS[batch], list(values), leaf_proof)
        elif operation == "reinstate":
            outcome = self.send(actor, "reinstateBatched", ROOTS[batch], list(values), leaf_proof)
        else:
            last = cert_id(successor) if operation == "supersede" else REASON
            outcome = self.send(actor, f"{operation}Batched", ROOTS[batch], list(values), leaf_proof, last)
        check_outcome(outcome, refusal, self.figures)
        self.touched_ids.update({NUMBER_OF[values[0]], successor} - {0})
        self.touched_batches.add(batch)
        if refusal is not None:
            # The whole transaction reverted, registration included.
            self.certificates = before
            return
        if NUMBER_OF[values[0]] not in before:
            self.figures.reached["register"] += 1
        if operation != "register":
            self.change(operation, NUMBER_OF[values[0]], successor)

    # Three transactions each time, so at most twice an example, and only once there is something to change.
    @precondition(lambda self: self.certificates and self.department_toggles < 2)
    @rule()
    def suspend_or_reinstate_an_issuer_department(self) -> None:
        """Governance suspends or reinstates CS-HRSS (propose, approve, execute by the other governors)."""
        kind = REINSTATE if "CS-HRSS" in self.suspended_departments else SUSPEND
        self.department_toggles += 1
        consortium = self.world.consortium
        proposal = payload(["bytes32"], [dept("CS-HRSS")])
        created = self.world.send(consortium.signers["CS-DRB"], "propose", kind, proposal, contract="Consortium")
        assert isinstance(created, Receipt)
        (pid,) = [args["proposalId"] for name, args in consortium.events(created) if name == "ProposalCreated"]
        for code, function in (("CS-MSA", "approve"), ("CS-DRB", "execute")):
            assert isinstance(self.world.send(consortium.signers[code], function, pid, contract="Consortium"), Receipt)
        self.figures.steps += 1
        self.figures.transactions += 3
        self.figures.accepted += 3
        self.suspended_departments ^= {"CS-HRSS"}
        self.figures.reached["suspend or reinstate CS-HRSS"] += 1

    # ------------------------------------------------------------------ the contract's view against the model

    @invariant()
    def contract_matches_model(self) -> None:
        self.check(self.touched_ids, self.touched_batches)
        self.touched_ids, self.touched_batches = set(), set()

    def teardown(self) -> None:
        self.check(set(ALL_IDS), set(TREES))

    def view(self, function: str, *args: Any) -> Any:
        self.figures.views_checked += 1
        return self.world.consortium.module(CERTS).call(function, *args)

    def check(self, numbers: set[int], batches: set[str]) -> None:
        for number in sorted(numbers):
            seen = self.view("certificateOf", cert_id(number))
            model = self.certificates.get(number)
            if model is None:
                assert seen["status"] == NONE and seen["issuerDept"] == ZERO and seen["issuedAt"] == 0, number
                continue
            assert (
                seen["status"],
                seen["issuerDept"],
                seen["issuedAt"],
                seen["statusChangedAt"],
                bytes(seen["fingerprint"]),
                seen["supersededBy"],
                seen["batchRoot"],
            ) == (
                model.status,
                dept(model.issuer),
                model.issued_at,
                model.changed_at,
                fingerprint(model.values),
                model.superseded_by,
                model.batch_root,
            ), number
            assert self.view("verifyCertificate", list(model.values)) is True
            other = leaf_values(number, 2) if model.values != leaf_values(number, 2) else leaf_values(number, 0)
            assert self.view("verifyCertificate", list(other)) is False
        for batch in sorted(batches):
            issued = self.batches.get(batch)
            seen = self.view("batchOf", ROOTS[batch])
            expected = (dept(issued.issuer), issued.issued_at, issued.count) if issued else (ZERO, 0, 0)
            assert tuple(seen.values() if isinstance(seen, dict) else seen) == expected, batch
            for values in BATCH_LEAVES[batch]:
                held = self.certificates.get(NUMBER_OF[values[0]])
                provable = issued is not None and (held is None or fingerprint(held.values) == fingerprint(values))
                assert self.view("verifyBatchCertificate", ROOTS[batch], list(values), proof(batch, values)) is provable


@pytest.fixture(scope="module")
def world() -> World:
    return World.deploy(spare_accounts=1)


def test_certificates_match_their_model(world: World):
    CertificateMachine.world = world
    run_machine(CertificateMachine, examples=8, steps=20, label="certificate state machine")

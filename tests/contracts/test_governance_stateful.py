"""Stateful property test of the Consortium's governance against a Python model of it.

Hypothesis sends random proposals, approvals and executions from random accounts (governors, members without
the role, suspended departments, removed and never-registered accounts), lets time pass so that proposals
expire, and has governance suspend or demote governors that approved pending proposals. The model predicts
every outcome: the custom error and arguments of each refusal, the re-validation of a proposal when it is
executed, and its approvals re-counted against the approvers' current status. After every step the contract's
view of what the step touched, or would have touched had it gone through, is compared with the model:
departments (roles, active, action count, accounts), accounts, proposals (status, approvers, valid approvals,
payload), the threshold and the number of active governors. Each example ends with a sweep of every department
and proposal, so a refused action that changed something anyway cannot go unseen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import hypothesis.strategies as st
import pytest
from eth_abi import encode as abi_encode
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from govledger.chain.client import Receipt
from govledger.consortium.departments import Role
from govledger.errors import ContractRevertError
from tests.support.consortium import (
    ADD_ACCOUNT,
    ADD_DEPARTMENT,
    REINSTATE,
    REMOVE_ACCOUNT,
    SET_MODULE,
    SET_ROLES,
    SET_THRESHOLD,
    SUSPEND,
    dept,
)
from tests.support.stateful import Figures, Refusal, World, check_outcome, normalised, run_machine

LIFETIME = 2 * 3600
#: Time never jumps to within this many seconds of an open proposal's expiry, so the seconds that every
#: mined block adds afterwards cannot carry a proposal across its expiry between a step and its check.
EXPIRY_MARGIN = 900
GOVERNOR = int(Role.GOVERNOR)
ALL_ROLES = 0b11111
MAX_NAME_LENGTH = 128
ZERO_ADDRESS = "0x" + "00" * 20
PENDING, EXECUTED, EXPIRED = 1, 2, 3
CONSORTIUM = "Consortium"

FOUNDERS = ("CS-DRB", "CS-MSA", "CS-HRSS", "CS-PSB", "CS-AUD")
NEWCOMERS = ("CS-EDU", "CS-TAX")
# The zero id is never a department: it probes the checks against an empty id.
DEPARTMENT_CODES = st.sampled_from([*FOUNDERS, *NEWCOMERS, ""])
NEW_DEPARTMENT_CODES = st.sampled_from([*NEWCOMERS, "CS-MSA", ""])
# Mostly valid values, so that proposals pass and change the state; the rest probe the refusals.
ROLE_MASKS = st.sampled_from([*range(1, ALL_ROLES + 1), GOVERNOR, GOVERNOR | 2, 0, 1 << 5, 0xFF])
NAMES = st.sampled_from(["长沙市教育局", "税务局", "教育", "", "x" * (MAX_NAME_LENGTH + 1), "y" * MAX_NAME_LENGTH])
THRESHOLDS = st.sampled_from([1, 2, 3, 0, 4, 5, 6])
# Hypothesis leans towards the first of sampled values; three in four draws take the preferred choice.
PREFERRED_OR_ANY = st.sampled_from(["preferred", "preferred", "any", "preferred"])
# Suspensions and role changes first: they are what makes approvals given earlier stop counting.
KINDS = st.sampled_from(
    [SUSPEND, SET_ROLES, REINSTATE, ADD_DEPARTMENT, ADD_ACCOUNT, REMOVE_ACCOUNT, SET_THRESHOLD, SET_MODULE]
)
# A payload of the wrong length for its kind (each kind's correct length is never among these).
MALFORMED_PAYLOADS = {
    ADD_DEPARTMENT: b"\x01" * 64,
    SUSPEND: b"\x01" * 31,
    REINSTATE: b"\x01" * 64,
    SET_ROLES: b"\x01" * 32,
    ADD_ACCOUNT: b"\x01" * 96,
    REMOVE_ACCOUNT: b"\x01" * 33,
    SET_THRESHOLD: b"\x01" * 64,
    SET_MODULE: b"\x01" * 32,
}
KIND_NAMES = {
    ADD_DEPARTMENT: "AddDepartment",
    SUSPEND: "SuspendDepartment",
    REINSTATE: "ReinstateDepartment",
    SET_ROLES: "SetRoles",
    ADD_ACCOUNT: "AddAccount",
    REMOVE_ACCOUNT: "RemoveAccount",
    SET_THRESHOLD: "SetThreshold",
    SET_MODULE: "SetModule",
}
ARG_TYPES = {
    ADD_DEPARTMENT: ["bytes32", "string", "uint8", "address"],
    SUSPEND: ["bytes32"],
    REINSTATE: ["bytes32"],
    SET_ROLES: ["bytes32", "uint8"],
    ADD_ACCOUNT: ["bytes32", "address"],
    REMOVE_ACCOUNT: ["bytes32", "address"],
    SET_THRESHOLD: ["uint8"],
    SET_MODULE: ["address", "bool"],
}


@dataclass
class Department:
    code: str
    name: str
    roles: int
    active: bool = True
    action_count: int = 0
    accounts: list[str] = field(default_factory=list)

    @property
    def governs(self) -> bool:
        return self.active and bool(self.roles & GOVERNOR)


@dataclass
class Proposal:
    pid: int
    kind: int
    args: tuple[Any, ...] | None  # None: a malformed payload
    payload: bytes
    proposer: str
    expires_at: int
    approvers: list[str]
    executed: bool = False


def department_id(code: str) -> bytes:
    return dept(code) if code else b"\x00" * 32


class GovernanceMachine(RuleBasedStateMachine):
    """The model: departments by code, accounts by address, the threshold and the proposals."""

    world: World
    founder_roles: dict[str, int]
    figures: Figures

    def __init__(self) -> None:
        super().__init__()
        self.world.reset()
        self.figures.examples += 1
        self.signers = self.world.signers()
        self.addresses = sorted(self.signers)
        founders = self.world.consortium.signers
        roles = self.founder_roles
        self.departments: dict[str, Department] = {
            code: Department(code, f"长沙市 {code}", roles[code], accounts=[founders[code].address.lower()])
            for code in FOUNDERS
        }
        self.account_department = {founders[code].address.lower(): code for code in FOUNDERS}
        self.threshold = 2
        self.proposals: dict[int, Proposal] = {}
        self.now = self.world.latest_timestamp()
        # The state right after deployment is the same in every example; test_the_model_starts_where_the_chain_does
        # compares it once.
        self.touched_departments: set[str] = set()
        self.touched_accounts: set[str] = set()
        self.touched_proposals: set[int] = set()
        self.globals_touched = False
        self.proposal_count_touched = False

    # ------------------------------------------------------------------ the model's rules

    @property
    def active_governors(self) -> int:
        return sum(1 for department in self.departments.values() if department.governs)

    def member_refusal(self, account: str) -> Refusal | None:
        """_requireMember(account, ROLE_GOVERNOR), in the contract's order."""
        code = self.account_department.get(account)
        if code is None:
            return Refusal("ConsortiumNotMember", (account,))
        department = self.departments[code]
        if not department.active:
            return Refusal("ConsortiumDepartmentInactive", (department_id(code),))
        if not department.roles & GOVERNOR:
            return Refusal("ConsortiumMissingRole", (department_id(code), GOVERNOR))
        return None

    def governors_after_refusal(self, code: str, roles_after: int, active_after: bool) -> Refusal | None:
        department = self.departments[code]
        governs_after = active_after and bool(roles_after & GOVERNOR)
        if department.governs and not governs_after and self.active_governors - 1 < self.threshold:
            return Refusal("ConsortiumInvalidThreshold", (self.threshold, self.active_governors - 1))
        return None

    def account_refusal(self, account: str) -> Refusal | None:
        if account == ZERO_ADDRESS:
            return Refusal("ConsortiumInvalidAccount", (account,))
        owner = self.account_department.get(account)
        if owner is not None:
            return Refusal("ConsortiumAccountTaken", (account, department_id(owner)))
        return None

    def validation_refusal(self, kind: int, args: tuple[Any, ...] | None) -> Refusal | None:
        """Consortium._validate against the model's current state."""
        if args is None:
            return Refusal("ConsortiumInvalidPayload", (kind,))
        if kind == ADD_DEPARTMENT:
            code, name, roles, account = args
            if not code:
                return Refusal("ConsortiumInvalidDepartmentId", (department_id(code),))
            if code in self.departments:
                return Refusal("ConsortiumDepartmentExists", (department_id(code),))
            length = len(name.encode())
            if length == 0 or length > MAX_NAME_LENGTH:
                return Refusal("ConsortiumInvalidName", (length,))
            if roles == 0 or roles & ~ALL_ROLES:
                return Refusal("ConsortiumInvalidRoles", (roles,))
            return self.account_refusal(account)
        if kind in (SUSPEND, REINSTATE, SET_ROLES, ADD_ACCOUNT):
            code = args[0]
            if code not in self.departments:
                return Refusal("ConsortiumUnknownDepartment", (department_id(code),))
            department = self.departments[code]
            if kind == SUSPEND:
                if not department.active:
                    return Refusal("ConsortiumDepartmentInactive", (department_id(code),))
                return self.governors_after_refusal(code, department.roles, False)
            if kind == REINSTATE:
                return Refusal("ConsortiumDepartmentActive", (department_id(code),)) if department.active else None
            if kind == SET_ROLES:
                roles = args[1]
                if roles == 0 or roles & ~ALL_ROLES:
                    return Refusal("ConsortiumInvalidRoles", (roles,))
                return self.governors_after_refusal(code, roles, department.active)
            return self.account_refusal(args[1])
        if kind == REMOVE_ACCOUNT:
            code, account = args
            # An account of no department "belongs" to the zero id, which has no accounts at all.
            if self.account_department.get(account, "") != code:
                return Refusal("ConsortiumAccountNotInDepartment", (account, department_id(code)))
            if not code or len(self.departments[code].accounts) <= 1:
                return Refusal("ConsortiumLastAccount", (department_id(code),))
            return None
        if kind == SET_THRESHOLD:
            (threshold,) = args
            if threshold == 0 or threshold > self.active_governors:
                return Refusal("ConsortiumInvalidThreshold", (threshold, self.active_governors))
            return None
        module, enabled = args
        # Only accounts without code are offered as modules: enabling one is refused, disabling is harmless.
        return Refusal("ConsortiumInvalidModule", (module,)) if enabled else None

    def apply(self, kind: int, args: tuple[Any, ...]) -> None:
        """Consortium._apply on the model; records what it changed so the next check reads it back."""
        if kind == ADD_DEPARTMENT:
            code, name, roles, account = args
            self.departments[code] = Department(code, name, roles, accounts=[account])
            self.account_department[account] = code
            self.touched_departments.add(code)
            self.touched_accounts.add(account)
        elif kind in (SUSPEND, REINSTATE, SET_ROLES):
            department = self.departments[args[0]]
            if kind == SET_ROLES:
                department.roles = args[1]
            else:
                department.active = kind == REINSTATE
            self.touched_departments.add(department.code)
            # Approvals are re-counted against the approvers' status: every proposal's count may move.
            self.touched_proposals.update(self.proposals)
        elif kind == ADD_ACCOUNT:
            code, account = args
            self.departments[code].accounts.append(account)
            self.account_department[account] = code
            self.touched_departments.add(code)
            self.touched_accounts.add(account)
        elif kind == REMOVE_ACCOUNT:
            code, account = args
            self.departments[code].accounts.remove(account)
            del self.account_department[account]
            self.touched_departments.add(code)
            self.touched_accounts.add(account)
        elif kind == SET_THRESHOLD:
            self.threshold = args[0]
        self.globals_touched = True

    def touch_targets(self, proposal: Proposal) -> None:
        if proposal.args is None:
            return
        for value, kind in zip(proposal.args, ARG_TYPES[proposal.kind], strict=True):
            if kind == "bytes32" and value in self.departments:
                self.touched_departments.add(value)
            elif kind == "address" and value in self.signers:
                self.touched_accounts.add(value)

    def valid_approvals(self, proposal: Proposal) -> int:
        return sum(1 for code in proposal.approvers if self.departments[code].governs)

    def status(self, proposal: Proposal, timestamp: int) -> int:
        if proposal.executed:
            return EXECUTED
        return EXPIRED if timestamp >= proposal.expires_at else PENDING

    def open_refusal(self, pid: int, timestamp: int) -> Refusal | None:
        """_requireOpenProposal at the time the transaction ran."""
        proposal = self.proposals.get(pid)
        if proposal is None:
            return Refusal("ConsortiumUnknownProposal", (pid,))
        if proposal.executed:
            return Refusal("ConsortiumProposalAlreadyExecuted", (pid,))
        if timestamp >= proposal.expires_at:
            return Refusal("ConsortiumProposalExpired", (pid, proposal.expires_at))
        return None

    # ------------------------------------------------------------------ driving the contract

    def send(self, account: str, function: str, *args: Any) -> Receipt | ContractRevertError:
        self.figures.steps += 1
        outcome = self.world.send(self.signers[account], function, *args, contract=CONSORTIUM)
        # The block the transaction ran in (accepted or refused, it was mined): expiry is judged at its time.
        self.now = self.world.latest_timestamp()
        return outcome

    def actor_touched(self, account: str) -> None:
        code = self.account_department.get(account)
        if code is not None:
            self.touched_departments.add(code)

    def draw_actor(self, data: st.DataObject, avoid: Sequence[str] = ()) -> str:
        # Mostly a current governor's account, so that proposals get approved and executed; otherwise any
        # account: members without the role, suspended departments, removed or never-registered accounts.
        governors = sorted(
            account
            for account, code in self.account_department.items()
            if self.departments[code].governs and code not in avoid
        )
        if governors and data.draw(PREFERRED_OR_ANY, label="who acts") == "preferred":
            return data.draw(st.sampled_from(governors), label="actor")
        return data.draw(st.sampled_from(self.addresses), label="actor")

    def draw_proposal_id(self, data: st.DataObject, ripe: bool = False) -> int:
        # Mostly a pending proposal (to execute, preferably one with enough approvals when it was last counted);
        # otherwise any id, including executed, expired and unknown ones (0 and the next id).
        pending = [pid for pid, p in self.proposals.items() if self.status(p, self.now) == PENDING]
        approved = [pid for pid in pending if len(self.proposals[pid].approvers) >= self.threshold]
        if ripe and approved and data.draw(PREFERRED_OR_ANY, label="an approved proposal") == "preferred":
            return data.draw(st.sampled_from(approved), label="proposal id")
        if pending and data.draw(PREFERRED_OR_ANY, label="which proposal") == "preferred":
            return data.draw(st.sampled_from(pending), label="proposal id")
        return data.draw(st.integers(0, len(self.proposals) + 1), label="proposal id")

    def draw_arguments(self, data: st.DataObject, kind: int) -> tuple[Any, ...]:
        free = [account for account in self.addresses if account not in self.account_department]
        accounts = st.sampled_from([*free, *free, *self.addresses, ZERO_ADDRESS])
        if kind == ADD_DEPARTMENT:
            return (data.draw(NEW_DEPARTMENT_CODES), data.draw(NAMES), data.draw(ROLE_MASKS), data.draw(accounts))
        if kind in (SUSPEND, REINSTATE):
            return (data.draw(DEPARTMENT_CODES),)
        if kind == SET_ROLES:
            return (data.draw(DEPARTMENT_CODES), data.draw(ROLE_MASKS))
        if kind in (ADD_ACCOUNT, REMOVE_ACCOUNT):
            return (data.draw(DEPARTMENT_CODES), data.draw(accounts))
        if kind == SET_THRESHOLD:
            return (data.draw(THRESHOLDS),)
        return (data.draw(accounts), data.draw(st.booleans()))

    @staticmethod
    def encode(kind: int, args: tuple[Any, ...]) -> bytes:
        if ARG_TYPES[kind][0] == "bytes32":
            args = (department_id(args[0]), *args[1:])
        return abi_encode(ARG_TYPES[kind], list(args))

    @rule(data=st.data())
    def propose(self, data: st.DataObject) -> None:
        actor = self.draw_actor(data)
        kind = data.draw(KINDS, label="kind")
        malformed = data.draw(st.sampled_from([False] * 9 + [True]), label="malformed")
        self.do_propose(actor, kind, None if malformed else self.draw_arguments(data, kind))

    @precondition(lambda self: self.proposals)
    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        pid = self.draw_proposal_id(data)
        approvers = self.proposals[pid].approvers if pid in self.proposals else []
        self.do_approve(self.draw_actor(data, avoid=approvers), pid)

    @precondition(lambda self: self.proposals)
    @rule(data=st.data())
    def execute(self, data: st.DataObject) -> None:
        self.do_execute(self.draw_actor(data), self.draw_proposal_id(data, ripe=True))

    @precondition(lambda self: self.proposals)
    @rule(data=st.data(), demote=st.booleans())
    def governance_removes_an_approver(self, data: st.DataObject, demote: bool) -> None:
        """A governor that approved a pending proposal is suspended, or loses the governor role, by governance.

        Ordinary steps (a proposal, the other governors' approvals, its execution), each checked against the
        model like any other. Random single steps rarely line this up within an example, and it is what shows
        that approvals are re-counted against the approvers' current status: the pending proposal's count
        drops, and executing it may now fall short of the threshold.
        """
        pending = [p for p in self.proposals.values() if self.status(p, self.now) == PENDING]
        approvers = sorted({code for p in pending for code in p.approvers if self.departments[code].governs})
        if not approvers:
            return
        target = data.draw(st.sampled_from(approvers), label="approver to remove")
        others = [code for code in sorted(self.departments) if code != target and self.departments[code].governs]
        if not others:
            return
        args: tuple[Any, ...]
        if demote:
            kind, args = SET_ROLES, (target, (self.departments[target].roles & ~GOVERNOR) or int(Role.AUDITOR))
        else:
            kind, args = SUSPEND, (target,)
        pid = self.do_propose(self.departments[others[0]].accounts[0], kind, args)
        if pid is None:
            return
        for code in others[1:]:
            self.do_approve(self.departments[code].accounts[0], pid)
        self.do_execute(self.departments[others[0]].accounts[0], pid)

    def do_propose(self, actor: str, kind: int, args: tuple[Any, ...] | None) -> int | None:
        """Send a proposal; return its id if the model expected it to pass (and it did)."""
        payload = MALFORMED_PAYLOADS[kind] if args is None else self.encode(kind, args)
        expected = self.member_refusal(actor) or self.validation_refusal(kind, args)
        outcome = self.send(actor, "propose", kind, payload)
        check_outcome(outcome, expected, self.figures)
        self.actor_touched(actor)
        self.proposal_count_touched = True
        if expected is not None:
            return None
        code = self.account_department[actor]
        self.departments[code].action_count += 1
        pid = len(self.proposals) + 1
        self.proposals[pid] = Proposal(pid, kind, args, payload, code, self.now + LIFETIME, [code])
        self.touched_proposals.add(pid)
        self.figures.reached["propose"] += 1
        assert isinstance(outcome, Receipt)
        events = self.world.consortium.events(outcome)
        assert [name for name, _ in events] == ["ProposalCreated"]
        created = events[0][1]
        assert (created["proposalId"], created["actionSeq"]) == (pid, self.departments[code].action_count)
        assert created["expiresAt"] == self.now + LIFETIME
        return pid

    def do_approve(self, actor: str, pid: int) -> None:
        outcome = self.send(actor, "approve", pid)
        expected = self.member_refusal(actor) or self.open_refusal(pid, self.now)
        code = self.account_department.get(actor)
        if expected is None and code in self.proposals[pid].approvers:
            expected = Refusal("ConsortiumAlreadyApproved", (pid, department_id(code)))
        check_outcome(outcome, expected, self.figures)
        self.actor_touched(actor)
        if pid in self.proposals:
            self.touched_proposals.add(pid)
        if expected is None:
            assert code is not None
            self.departments[code].action_count += 1
            self.proposals[pid].approvers.append(code)
            self.figures.reached["approve"] += 1

    def do_execute(self, actor: str, pid: int) -> None:
        outcome = self.send(actor, "execute", pid)
        expected = self.member_refusal(actor) or self.open_refusal(pid, self.now)
        if expected is None:
            proposal = self.proposals[pid]
            approvals = self.valid_approvals(proposal)
            if approvals < self.threshold:
                expected = Refusal("ConsortiumThresholdNotMet", (pid, approvals, self.threshold))
                if approvals < len(proposal.approvers):
                    self.figures.reached["execute short of approvals that stopped counting"] += 1
            else:
                # _apply validates again: the state may have changed since the proposal was made.
                expected = self.validation_refusal(proposal.kind, proposal.args)
        check_outcome(outcome, expected, self.figures)
        self.actor_touched(actor)
        self.globals_touched = True
        if pid in self.proposals:
            self.touched_proposals.add(pid)
            # What the proposal would change is read back whether it went through or not.
            self.touch_targets(self.proposals[pid])
        if expected is None:
            proposal = self.proposals[pid]
            code = self.account_department[actor]
            self.departments[code].action_count += 1
            proposal.executed = True
            assert proposal.args is not None
            self.apply(proposal.kind, proposal.args)
            self.figures.reached[f"execute {KIND_NAMES[proposal.kind]}"] += 1
            assert isinstance(outcome, Receipt)
            names = [name for name, _ in self.world.consortium.events(outcome)]
            assert names[0] == "ProposalExecuted", names

    @precondition(lambda self: self.proposals)
    @rule(jump=st.sampled_from([600, 60, 1800, LIFETIME - 1200, LIFETIME + 600]))
    def let_time_pass(self, jump: int) -> None:
        self.figures.steps += 1
        target = self.now + jump
        expiries = [p.expires_at for p in self.proposals.values() if not p.executed]
        while any(-EXPIRY_MARGIN < expiry - target < EXPIRY_MARGIN for expiry in expiries):
            target += EXPIRY_MARGIN
        self.world.chain.time_travel(target)
        self.now = self.world.latest_timestamp()
        # Expiry is derived from the clock: every proposal's status may have moved.
        self.touched_proposals.update(self.proposals)

    # ------------------------------------------------------------------ the contract's view against the model

    @invariant()
    def contract_matches_model(self) -> None:
        self.check(
            self.touched_departments,
            self.touched_accounts,
            self.touched_proposals,
            globals_=self.globals_touched,
            proposal_count=self.proposal_count_touched,
        )
        self.touched_departments, self.touched_accounts, self.touched_proposals = set(), set(), set()
        self.globals_touched = False
        self.proposal_count_touched = False

    def teardown(self) -> None:
        # A sweep at the end of every example, whatever the steps touched. Accounts are left out: only an
        # executed proposal moves one, and execute reads back the accounts its proposal names in any case.
        self.check(set(self.departments), set(), set(self.proposals), globals_=True, proposal_count=True)

    def view(self, function: str, *args: Any) -> Any:
        self.figures.views_checked += 1
        return self.world.consortium.contract.call(function, *args)

    def check(
        self, departments: set[str], accounts: set[str], proposals: set[int], *, globals_: bool, proposal_count: bool
    ) -> None:
        for code in sorted(departments):
            model = self.departments[code]
            seen = self.view("getDepartment", department_id(code))
            assert (seen["name"], seen["roles"], seen["active"], seen["actionCount"], seen["accountCount"]) == (
                model.name,
                model.roles,
                model.active,
                model.action_count,
                len(model.accounts),
            ), code
        for account in sorted(accounts):
            owner = self.account_department.get(account)
            expected_owner = department_id(owner) if owner else b"\x00" * 32
            assert self.view("departmentOf", account) == expected_owner, account
        for pid in sorted(proposals):
            model_proposal = self.proposals[pid]
            seen = self.view("getProposal", pid)
            assert seen["status"] == self.status(model_proposal, self.now), pid
            assert (seen["kind"], seen["proposerDept"], seen["expiresAt"]) == (
                model_proposal.kind,
                department_id(model_proposal.proposer),
                model_proposal.expires_at,
            )
            assert seen["expiresAt"] - seen["createdAt"] == LIFETIME
            assert normalised(seen["approvers"]) == normalised(department_id(c) for c in model_proposal.approvers)
            assert seen["approvals"] == self.valid_approvals(model_proposal), pid
            assert bytes(seen["payload"]) == model_proposal.payload
        if proposal_count:
            assert self.view("proposalCount") == len(self.proposals)
        if globals_:
            assert self.view("threshold") == self.threshold
            assert self.view("activeGovernorCount") == self.active_governors
            assert normalised(self.view("departmentIds")) == normalised(department_id(c) for c in self.departments)
            assert 1 <= self.threshold <= self.active_governors


@pytest.fixture(scope="module")
def world() -> World:
    return World.deploy(spare_accounts=4, threshold=2, lifetime=LIFETIME)


def test_the_model_starts_where_the_chain_does(world: World):
    """The state every example starts from, compared once in full (the examples then check what they touch)."""
    world.reset()
    GovernanceMachine.world = world
    GovernanceMachine.founder_roles = founder_roles(world)
    GovernanceMachine.figures = Figures()
    machine = GovernanceMachine()
    machine.check(set(machine.departments), set(machine.addresses), set(), globals_=True, proposal_count=True)
    assert machine.threshold == 2 and machine.active_governors == 3
    print(f"governance model at start: departments={len(machine.departments)} accounts={len(machine.addresses)}")


def founder_roles(world: World) -> dict[str, int]:
    return {code: int(world.consortium.contract.call("getDepartment", dept(code))["roles"]) for code in FOUNDERS}


def test_governance_matches_its_model(world: World):
    GovernanceMachine.world = world
    GovernanceMachine.founder_roles = founder_roles(world)
    run_machine(GovernanceMachine, examples=6, steps=30, label="governance state machine")

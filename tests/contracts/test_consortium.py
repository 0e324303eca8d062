"""Every governance path and every failure case of Consortium.sol, on the embedded eth-tester chain."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from govledger.chain.client import Web3Chain
from govledger.chain.deploy import DepartmentSpec, deploy_system
from govledger.chain.transactions import send_and_confirm
from govledger.consortium.departments import Role, decode_department_code
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
    Consortium,
    deploy_consortium,
    dept,
    new_signer,
    payload,
)

LIFETIME = 3600


@pytest.fixture
def chain() -> Web3Chain:
    return Web3Chain("embedded")


@pytest.fixture
def consortium(chain: Web3Chain) -> Consortium:
    return deploy_consortium(chain, threshold=2, lifetime=LIFETIME)


@contextmanager
def reverts_with(error_name: str) -> Iterator[pytest.ExceptionInfo[ContractRevertError]]:
    """Expect the contract to refuse with the custom error ``error_name``."""
    with pytest.raises(ContractRevertError) as info:
        yield info
    assert info.value.error_name == error_name, (info.value.error_name, info.value.error_args)


def add_department_payload(code: str, account: str, roles: Role = Role.RECORD_KEEPER, name: str = "新部门") -> bytes:
    return payload(["bytes32", "string", "uint8", "address"], [dept(code), name, int(roles), account])


# ------------------------------------------------------------------ bootstrap


def test_deployment_registers_founding_departments_roles_and_threshold(consortium: Consortium):
    c = consortium.contract
    ids = [decode_department_code(i) for i in c.call("departmentIds")]
    assert ids == ["CS-DRB", "CS-MSA", "CS-HRSS", "CS-PSB", "CS-AUD"]
    msa = c.call("getDepartment", dept("CS-MSA"))
    assert msa["roles"] == int(Role.GOVERNOR | Role.CERTIFICATE_ISSUER | Role.RECORD_KEEPER)
    assert msa["active"] is True and msa["accountCount"] == 1 and msa["actionCount"] == 0
    assert c.call("threshold") == 2
    assert c.call("activeGovernorCount") == 3
    assert c.call("proposalLifetime") == LIFETIME
    assert c.call("departmentOf", consortium.signers["CS-AUD"].address) == dept("CS-AUD")
    assert c.call("version") == "1.0.0"


def test_role_bits_match_the_python_enum(consortium: Consortium):
    c = consortium.contract
    assert c.call("ROLE_GOVERNOR") == Role.GOVERNOR
    assert c.call("ROLE_CERTIFICATE_ISSUER") == Role.CERTIFICATE_ISSUER
    assert c.call("ROLE_RECORD_KEEPER") == Role.RECORD_KEEPER
    assert c.call("ROLE_DATA_OWNER") == Role.DATA_OWNER
    assert c.call("ROLE_AUDITOR") == Role.AUDITOR


@pytest.mark.parametrize(
    ("threshold", "roles", "error"),
    [
        (0, [Role.GOVERNOR], "ConsortiumInvalidThreshold"),
        (2, [Role.GOVERNOR, Role.AUDITOR], "ConsortiumInvalidThreshold"),
        (1, [Role(0)], "ConsortiumInvalidRoles"),
        (1, [Role.GOVERNOR | Role(64)], "ConsortiumInvalidRoles"),
    ],
)
def test_constructor_refuses_inconsistent_bootstrap(chain: Web3Chain, threshold, roles, error):
    deployer = new_signer(chain)
    from govledger.chain.artifacts import load_artifact

    artifact = load_artifact("Consortium")
    accounts = [new_signer(chain).address for _ in roles]
    args = [
        [dept(f"D{i}") for i in range(len(roles))],
        ["部门"] * len(roles),
        [int(r) for r in roles],
        accounts,
        threshold,
        3600,
        [],  # no initial modules: registerModules stays open
    ]
    data = artifact.bytecode + artifact.interface.encode_constructor(args)
    with reverts_with(error):
        send_and_confirm(chain, deployer, artifact.interface, to=None, data=data)


def test_constructor_refuses_duplicate_departments_and_accounts(chain: Web3Chain):
    deployer = new_signer(chain)
    a, b = new_signer(chain), new_signer(chain)
    with reverts_with("ConsortiumDepartmentExists"):
        deploy_system(
            chain,
            deployer,
            [
                DepartmentSpec("CS-A", "甲", Role.GOVERNOR, a.address),
                DepartmentSpec("CS-A", "乙", Role.GOVERNOR, b.address),
            ],
            threshold=1,
            network="t",
        )
    with reverts_with("ConsortiumAccountTaken"):
        deploy_system(
            chain,
            deployer,
            [
                DepartmentSpec("CS-A", "甲", Role.GOVERNOR, a.address),
                DepartmentSpec("CS-B", "乙", Role.GOVERNOR, a.address),
            ],
            threshold=1,
            network="t",
        )


def test_register_modules_is_the_deployers_one_time_privilege(consortium: Consortium):
    with reverts_with("ConsortiumBootstrapClosed"):
        consortium.send(consortium.deployer, "registerModules", [])
    with reverts_with("ConsortiumNotBootstrapper"):
        consortium.act("CS-DRB", "registerModules", [])


# ------------------------------------------------------------------ who may govern


def test_propose_requires_a_governor_department(consortium: Consortium, chain: Web3Chain):
    newcomer = new_signer(chain)
    with reverts_with("ConsortiumMissingRole") as info:
        consortium.act("CS-PSB", "propose", ADD_DEPARTMENT, add_department_payload("CS-X", newcomer.address))
    assert info.value.error_args["deptId"] == "0x" + dept("CS-PSB").hex()
    with reverts_with("ConsortiumNotMember"):
        consortium.send(newcomer, "propose", ADD_DEPARTMENT, add_department_payload("CS-X", newcomer.address))


def test_adding_a_department_needs_the_threshold_then_takes_effect(consortium: Consortium, chain: Web3Chain):
    newcomer = new_signer(chain)
    pid = consortium.propose("CS-DRB", ADD_DEPARTMENT, add_department_payload("CS-EDU", newcomer.address))
    assert pid == 1
    assert consortium.contract.call("hasApproved", pid, dept("CS-DRB"))
    with reverts_with("ConsortiumThresholdNotMet") as info:
        consortium.act("CS-DRB", "execute", pid)
    assert info.value.error_args == {"proposalId": 1, "approvals": 1, "threshold": 2}
    with reverts_with("ConsortiumAlreadyApproved"):
        consortium.act("CS-DRB", "approve", pid)
    with reverts_with("ConsortiumMissingRole"):
        consortium.act("CS-AUD", "approve", pid)

    consortium.act("CS-MSA", "approve", pid)
    receipt = consortium.act("CS-HRSS", "execute", pid)
    names = [name for name, _ in consortium.events(receipt)]
    assert names == ["ProposalExecuted", "DepartmentAdded", "AccountAdded"]
    edu = consortium.contract.call("getDepartment", dept("CS-EDU"))
    assert edu["name"] == "新部门" and edu["roles"] == Role.RECORD_KEEPER and edu["active"]
    assert consortium.contract.call("departmentOf", newcomer.address) == dept("CS-EDU")
    proposal = consortium.contract.call("getProposal", pid)
    assert proposal["status"] == 2  # Executed
    with reverts_with("ConsortiumProposalAlreadyExecuted"):
        consortium.act("CS-DRB", "execute", pid)
    with reverts_with("ConsortiumProposalAlreadyExecuted"):
        consortium.act("CS-HRSS", "approve", pid)


def test_unknown_proposal_is_refused(consortium: Consortium):
    with reverts_with("ConsortiumUnknownProposal"):
        consortium.act("CS-DRB", "approve", 42)
    with reverts_with("ConsortiumUnknownProposal"):
        consortium.contract.call("getProposal", 42)


def test_proposals_expire(consortium: Consortium, chain: Web3Chain):
    pid = consortium.propose("CS-DRB", SET_THRESHOLD, payload(["uint8"], [3]))
    created = consortium.contract.call("getProposal", pid)
    chain.time_travel(created["expiresAt"] + 1)
    assert consortium.contract.call("getProposal", pid)["status"] == 3  # Expired
    with reverts_with("ConsortiumProposalExpired"):
        consortium.act("CS-MSA", "approve", pid)
    with reverts_with("ConsortiumProposalExpired"):
        consortium.act("CS-DRB", "execute", pid)
    assert consortium.contract.call("threshold") == 2


def test_a_proposal_is_revalidated_when_executed(consortium: Consortium, chain: Web3Chain):
    newcomer = new_signer(chain)
    first = consortium.propose("CS-DRB", ADD_DEPARTMENT, add_department_payload("CS-EDU", newcomer.address))
    second = consortium.propose("CS-MSA", ADD_DEPARTMENT, add_department_payload("CS-EDU", newcomer.address, name="x"))
    consortium.act("CS-HRSS", "approve", first)
    consortium.act("CS-HRSS", "approve", second)
    consortium.act("CS-DRB", "execute", first)
    with reverts_with("ConsortiumDepartmentExists"):
        consortium.act("CS-DRB", "execute", second)


@pytest.mark.parametrize(
    ("kind", "body", "error"),
    [
        (ADD_DEPARTMENT, b"\x01" * 40, "ConsortiumInvalidPayload"),
        (SUSPEND, b"", "ConsortiumInvalidPayload"),
        (SET_ROLES, b"\x00" * 32, "ConsortiumInvalidPayload"),
        (SET_THRESHOLD, b"\x00" * 64, "ConsortiumInvalidPayload"),
        (SET_MODULE, b"\x00" * 31, "ConsortiumInvalidPayload"),
        (SUSPEND, payload(["bytes32"], [dept("CS-NONE")]), "ConsortiumUnknownDepartment"),
        (SET_THRESHOLD, payload(["uint8"], [0]), "ConsortiumInvalidThreshold"),
        (SET_THRESHOLD, payload(["uint8"], [4]), "ConsortiumInvalidThreshold"),
        (SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-PSB"), 0]), "ConsortiumInvalidRoles"),
        (SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-PSB"), 32]), "ConsortiumInvalidRoles"),
        (REINSTATE, payload(["bytes32"], [dept("CS-PSB")]), "ConsortiumDepartmentActive"),
        (SET_MODULE, payload(["address", "bool"], ["0x" + "11" * 20, True]), "ConsortiumInvalidModule"),
    ],
)
def test_invalid_proposals_are_refused_at_once(consortium: Consortium, kind, body, error):
    with reverts_with(error):
        consortium.act("CS-DRB", "propose", kind, body)


def test_add_department_payload_is_checked(consortium: Consortium, chain: Web3Chain):
    taken = consortium.signers["CS-AUD"].address
    fresh = new_signer(chain).address
    cases = [
        (add_department_payload("CS-AUD", fresh), "ConsortiumDepartmentExists"),
        (add_department_payload("CS-NEW", taken), "ConsortiumAccountTaken"),
        (add_department_payload("CS-NEW", "0x" + "00" * 20), "ConsortiumInvalidAccount"),
        (add_department_payload("CS-NEW", fresh, name=""), "ConsortiumInvalidName"),
        (add_department_payload("CS-NEW", fresh, name="长" * 43), "ConsortiumInvalidName"),
        (
            payload(["bytes32", "string", "uint8", "address"], [b"\0" * 32, "x", 4, fresh]),
            "ConsortiumInvalidDepartmentId",
        ),
    ]
    for body, error in cases:
        with reverts_with(error):
            consortium.act("CS-DRB", "propose", ADD_DEPARTMENT, body)


# ------------------------------------------------------------------ suspension, roles, accounts, threshold


def test_a_suspended_department_cannot_act_until_reinstated(consortium: Consortium):
    receipt = consortium.pass_proposal(SUSPEND, payload(["bytes32"], [dept("CS-HRSS")]))
    assert ("DepartmentSuspended", {"deptId": dept("CS-HRSS")}) in consortium.events(receipt)
    assert consortium.contract.call("activeGovernorCount") == 2
    with reverts_with("ConsortiumDepartmentInactive"):
        consortium.act("CS-HRSS", "propose", SET_THRESHOLD, payload(["uint8"], [1]))
    with reverts_with("ConsortiumDepartmentInactive"):
        consortium.contract.call("requireMember", consortium.signers["CS-HRSS"].address, 0)
    consortium.pass_proposal(REINSTATE, payload(["bytes32"], [dept("CS-HRSS")]))
    assert consortium.contract.call("activeGovernorCount") == 3
    consortium.act("CS-HRSS", "propose", SET_THRESHOLD, payload(["uint8"], [1]))


def test_governors_cannot_fall_below_the_threshold(consortium: Consortium):
    consortium.pass_proposal(SET_THRESHOLD, payload(["uint8"], [3]))
    assert consortium.contract.call("threshold") == 3
    with reverts_with("ConsortiumInvalidThreshold"):
        consortium.act("CS-DRB", "propose", SUSPEND, payload(["bytes32"], [dept("CS-MSA")]))
    with reverts_with("ConsortiumInvalidThreshold"):
        consortium.act("CS-DRB", "propose", SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-MSA"), 2]))


def test_approvals_of_a_department_suspended_later_do_not_count(consortium: Consortium):
    pid = consortium.propose("CS-HRSS", SET_THRESHOLD, payload(["uint8"], [1]))
    consortium.act("CS-MSA", "approve", pid)
    consortium.pass_proposal(SUSPEND, payload(["bytes32"], [dept("CS-HRSS")]))
    assert consortium.contract.call("getProposal", pid)["approvals"] == 1
    with reverts_with("ConsortiumThresholdNotMet"):
        consortium.act("CS-MSA", "execute", pid)
    consortium.act("CS-DRB", "approve", pid)
    consortium.act("CS-MSA", "execute", pid)
    assert consortium.contract.call("threshold") == 1


def test_changing_roles_grants_and_removes_powers(consortium: Consortium):
    new_roles = int(Role.GOVERNOR | Role.DATA_OWNER)
    receipt = consortium.pass_proposal(SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-PSB"), new_roles]))
    assert (
        "DepartmentRolesChanged",
        {"deptId": dept("CS-PSB"), "previousRoles": int(Role.DATA_OWNER | Role.RECORD_KEEPER), "roles": new_roles},
    ) in consortium.events(receipt)
    assert consortium.contract.call("activeGovernorCount") == 4
    consortium.act("CS-PSB", "propose", SET_THRESHOLD, payload(["uint8"], [3]))
    consortium.pass_proposal(SET_ROLES, payload(["bytes32", "uint8"], [dept("CS-PSB"), int(Role.DATA_OWNER)]))
    assert consortium.contract.call("activeGovernorCount") == 3
    with reverts_with("ConsortiumMissingRole"):
        consortium.act("CS-PSB", "propose", SET_THRESHOLD, payload(["uint8"], [3]))


def test_accounts_rotate_without_locking_a_department_out(consortium: Consortium, chain: Web3Chain):
    old = consortium.signers["CS-MSA"]
    new = new_signer(chain)
    with reverts_with("ConsortiumLastAccount"):
        consortium.act(
            "CS-DRB", "propose", REMOVE_ACCOUNT, payload(["bytes32", "address"], [dept("CS-MSA"), old.address])
        )
    consortium.pass_proposal(ADD_ACCOUNT, payload(["bytes32", "address"], [dept("CS-MSA"), new.address]))
    assert consortium.contract.call("getDepartment", dept("CS-MSA"))["accountCount"] == 2
    with reverts_with("ConsortiumAccountTaken"):
        consortium.act("CS-DRB", "propose", ADD_ACCOUNT, payload(["bytes32", "address"], [dept("CS-DRB"), new.address]))
    with reverts_with("ConsortiumAccountNotInDepartment"):
        consortium.act(
            "CS-DRB", "propose", REMOVE_ACCOUNT, payload(["bytes32", "address"], [dept("CS-DRB"), new.address])
        )
    receipt = consortium.pass_proposal(REMOVE_ACCOUNT, payload(["bytes32", "address"], [dept("CS-MSA"), old.address]))
    assert ("AccountRemoved", {"deptId": dept("CS-MSA"), "account": old.address}) in consortium.events(receipt)
    with reverts_with("ConsortiumNotMember"):
        consortium.send(old, "approve", 1)
    consortium.send(new, "propose", SET_THRESHOLD, payload(["uint8"], [1]))


def test_threshold_changes_by_proposal(consortium: Consortium):
    receipt = consortium.pass_proposal(SET_THRESHOLD, payload(["uint8"], [3]))
    assert ("ThresholdChanged", {"previousThreshold": 2, "threshold": 3}) in consortium.events(receipt)


def test_modules_are_enabled_only_by_governance_and_only_contracts(consortium: Consortium):
    module = consortium.contract.address  # any address with code
    receipt = consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [module, True]))
    assert ("ModuleChanged", {"module": module, "enabled": True}) in consortium.events(receipt)
    assert consortium.contract.call("isModule", module)
    consortium.pass_proposal(SET_MODULE, payload(["address", "bool"], [module, False]))
    assert not consortium.contract.call("isModule", module)


def test_record_action_is_refused_to_anyone_but_a_module(consortium: Consortium):
    with reverts_with("ConsortiumNotModule"):
        consortium.act("CS-MSA", "recordAction", consortium.signers["CS-MSA"].address, 0)


# ------------------------------------------------------------------ action sequence numbers


def test_every_governance_action_bumps_its_departments_sequence_without_gaps(consortium: Consortium, chain):
    receipts = []
    for _ in range(3):
        pid = consortium.propose("CS-DRB", SET_THRESHOLD, payload(["uint8"], [2]))
        receipts.append(consortium.act("CS-MSA", "approve", pid))
        receipts.append(consortium.act("CS-HRSS", "execute", pid))
    seen: dict[str, list[int]] = defaultdict(list)
    for log in consortium.chain.get_logs([consortium.contract.address], 0, consortium.chain.block_number()):
        event = consortium.contract.decode_log(log)
        if event and "actionSeq" in event.args:
            dept_id = event.args.get("proposerDept") or event.args.get("deptId") or event.args["executorDept"]
            seen[decode_department_code(dept_id)].append(event.args["actionSeq"])
    for code in ("CS-DRB", "CS-MSA", "CS-HRSS"):
        count = consortium.contract.call("actionCount", dept(code))
        assert count == 3
        assert seen[code] == list(range(1, count + 1))

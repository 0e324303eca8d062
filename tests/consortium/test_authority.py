"""DepartmentAuthority against a real Consortium on the embedded chain: codes, and how long answers are kept."""

from __future__ import annotations

import time

import pytest

from govledger.chain.client import Web3Chain
from govledger.consortium.authority import DepartmentAuthority
from govledger.consortium.departments import Role
from govledger.db.models import Operation
from govledger.errors import PermissionDeniedError
from tests.support.consortium import REINSTATE, SET_ROLES, SUSPEND, Consortium, deploy_consortium, dept, payload

# CS-PSB keeps records and owns data; it is not a governor, so suspending it never touches the threshold.
SUBJECT = "CS-PSB"


@pytest.fixture(scope="module")
def consortium() -> Consortium:
    """One deployment per module; each test leaves SUBJECT active with its founding roles."""
    return deploy_consortium(Web3Chain("embedded"), threshold=2)


def suspend(consortium: Consortium, code: str = SUBJECT) -> None:
    consortium.pass_proposal(SUSPEND, payload(["bytes32"], [dept(code)]))


def reinstate(consortium: Consortium, code: str = SUBJECT) -> None:
    consortium.pass_proposal(REINSTATE, payload(["bytes32"], [dept(code)]))


def refusal(authority: DepartmentAuthority, department: str, role: Role | None = None) -> str | None:
    """The 403 code ``require`` answers with, or None if the department is allowed."""
    try:
        authority.require(department, role)
    except PermissionDeniedError as exc:
        assert exc.status == 403
        return exc.code
    return None


def settled(contract: str) -> list[Operation]:
    operation = Operation(
        department="CS-DRB",
        kind="consortium.execute",
        request_hash="0" * 64,
        contract=contract,
        function="execute",
        args_json="[1]",
        sender="0x" + "11" * 20,
        chain_id=1337,
        status="confirmed",
    )
    return [operation]


def test_members_with_the_role_pass_and_others_get_stable_codes(consortium: Consortium):
    authority = DepartmentAuthority(consortium.contract, ttl_seconds=0)
    assert refusal(authority, SUBJECT) is None
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER | Role.DATA_OWNER) is None
    assert refusal(authority, "CS-MSA", Role.CERTIFICATE_ISSUER) is None
    assert refusal(authority, "CS-NONE") == "not_a_member"
    assert refusal(authority, "CS-NONE", Role.AUDITOR) == "not_a_member"
    assert refusal(authority, SUBJECT, Role.CERTIFICATE_ISSUER) == "missing_role"
    # Every bit of a combined role is needed, not just one of them.
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER | Role.GOVERNOR) == "missing_role"
    assert refusal(authority, "CS-AUD", Role.GOVERNOR) == "missing_role"


def test_with_ttl_zero_a_suspension_shows_at_once(consortium: Consortium):
    authority = DepartmentAuthority(consortium.contract, ttl_seconds=0)
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
    suspend(consortium)
    try:
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) == "department_suspended"
        # Suspension is reported before any role check, whatever role is asked for.
        assert refusal(authority, SUBJECT) == "department_suspended"
        assert refusal(authority, SUBJECT, Role.GOVERNOR) == "department_suspended"
    finally:
        reinstate(consortium)
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None


class ManualClock:
    """A clock the test moves by hand, so that what the ttl keeps does not depend on the machine's speed."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_with_a_ttl_the_old_answer_is_kept_until_the_ttl_passes(consortium: Consortium):
    ttl = 1.0
    clock = ManualClock()
    authority = DepartmentAuthority(consortium.contract, ttl_seconds=ttl, clock=clock)
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
    suspend(consortium)
    try:
        assert refusal(DepartmentAuthority(consortium.contract), SUBJECT) == "department_suspended"  # mined
        clock.now += ttl * 0.9
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None  # the remembered answer
        clock.now += ttl * 0.2
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) == "department_suspended"
    finally:
        reinstate(consortium)
    # The suspended answer is itself remembered for the ttl; then the reinstatement shows.
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) == "department_suspended"
    clock.now += ttl + 0.01
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None


def test_a_small_ttl_expires_on_its_own(consortium: Consortium):
    ttl = 0.3
    authority = DepartmentAuthority(consortium.contract, ttl_seconds=ttl)
    suspend(consortium)
    try:
        assert refusal(authority, SUBJECT) == "department_suspended"
    finally:
        reinstate(consortium)
    time.sleep(ttl + 0.05)
    assert refusal(authority, SUBJECT) is None


def test_a_settled_consortium_operation_makes_it_ask_again_at_once(consortium: Consortium):
    authority = DepartmentAuthority(consortium.contract, ttl_seconds=60)
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
    suspend(consortium)
    try:
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None  # remembered: 60 s ttl
        authority.forget_after(settled("RecordRegistry"))  # not a governance change: still remembered
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
        authority.forget_after([])
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
        authority.forget_after(settled("RecordRegistry") + settled("Consortium"))
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) == "department_suspended"
    finally:
        reinstate(consortium)
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) == "department_suspended"  # remembered again
    authority.forget()
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None


def test_a_role_change_shows_once_forgotten(consortium: Consortium):
    authority = DepartmentAuthority(consortium.contract, ttl_seconds=60)
    founding = int(Role.DATA_OWNER | Role.RECORD_KEEPER)
    assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
    consortium.pass_proposal(SET_ROLES, payload(["bytes32", "uint8"], [dept(SUBJECT), int(Role.DATA_OWNER)]))
    try:
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) is None
        authority.forget_after(settled("Consortium"))
        assert refusal(authority, SUBJECT, Role.RECORD_KEEPER) == "missing_role"
        assert refusal(authority, SUBJECT, Role.DATA_OWNER) is None
    finally:
        consortium.pass_proposal(SET_ROLES, payload(["bytes32", "uint8"], [dept(SUBJECT), founding]))

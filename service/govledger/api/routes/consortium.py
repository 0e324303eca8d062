"""Consortium governance: member departments, and proposals that governor departments make, approve, execute."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from govledger.api.deps import DepartmentAdminDep, IdempotencyKeyDep, PrincipalDep, ServiceRuntimeDep, WaitDep
from govledger.api.routes.operations import operation_response
from govledger.consortium.proposals import ProposalRequest
from govledger.consortium.service import ConsortiumOverview, ConsortiumService, DepartmentPublic, ProposalPublic
from govledger.operations import OperationPublic

router = APIRouter(prefix="/api/v1/consortium", tags=["consortium"])

ProposalId = Annotated[int, Path(ge=1, le=2**63, description="Proposal id, counting from 1.")]
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": OperationPublic, "description": "Accepted: the operation is queued or in flight."}
}


def _service(runtime: ServiceRuntimeDep) -> ConsortiumService:
    return ConsortiumService(runtime.tx_manager)


@router.get("", response_model=ConsortiumOverview)
def get_overview(_: PrincipalDep, runtime: ServiceRuntimeDep):
    """The consortium's contract address, approval threshold and proposal counts."""
    return _service(runtime).overview()


@router.get("/departments", response_model=list[DepartmentPublic])
def list_departments(_: PrincipalDep, runtime: ServiceRuntimeDep):
    """Every member department with its roles, status and action count, as recorded on chain."""
    return _service(runtime).departments()


@router.get("/departments/{code}", response_model=DepartmentPublic)
def get_department(code: str, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """One member department."""
    return _service(runtime).department(code)


@router.get("/proposals/{proposal_id}", response_model=ProposalPublic)
def get_proposal(proposal_id: ProposalId, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """One governance proposal with its approvals and status."""
    return _service(runtime).proposal(proposal_id)


@router.post("/proposals", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def propose(
    principal: DepartmentAdminDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    proposal: Annotated[ProposalRequest, Body()],
    wait: WaitDep = False,
):
    """Propose a governance change for the caller's (governor) department; it counts as its approval."""
    operation = _service(runtime).propose(principal.department, proposal, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.post(
    "/proposals/{proposal_id}/approve", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES
)
def approve(
    proposal_id: ProposalId,
    principal: DepartmentAdminDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    wait: WaitDep = False,
):
    """Approve a pending proposal for the caller's (governor) department."""
    operation = _service(runtime).approve(principal.department, proposal_id, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.post(
    "/proposals/{proposal_id}/execute", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES
)
def execute(
    proposal_id: ProposalId,
    principal: DepartmentAdminDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    wait: WaitDep = False,
):
    """Execute a proposal that has reached the approval threshold."""
    operation = _service(runtime).execute(principal.department, proposal_id, idempotency_key)
    return operation_response(runtime, operation, wait)

"""Data sharing: datasets, grants (issue, revoke), logged uses, and the live authorisation check."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query

from govledger.api.deps import DepartmentWriterDep, IdempotencyKeyDep, PrincipalDep, ServiceRuntimeDep, WaitDep
from govledger.api.routes.operations import operation_response
from govledger.operations import OperationPublic
from govledger.sharing.models import (
    AuthorisationPublic,
    DatasetIn,
    DatasetPublic,
    GrantIn,
    GrantPublic,
    RevokeIn,
    UseIn,
    UsePublic,
)
from govledger.shortids import SHORT_ID_PATTERN

router = APIRouter(prefix="/api/v1", tags=["sharing"])

ShortIdPath = Annotated[str, Path(pattern=SHORT_ID_PATTERN.pattern)]
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": OperationPublic, "description": "Accepted: the operation is queued or in flight."}
}


@router.post("/datasets", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def register_dataset(
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    dataset: Annotated[DatasetIn, Body()],
    wait: WaitDep = False,
):
    """Register a dataset the caller's department owns (catalogue id and metadata hash)."""
    operation = runtime.sharing.register_dataset(principal.department, dataset, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.get("/datasets", response_model=list[DatasetPublic])
def list_datasets(_: PrincipalDep, runtime: ServiceRuntimeDep, owner: Annotated[str | None, Query()] = None):
    """Registered datasets, optionally of one owner department."""
    return runtime.sharing.datasets(owner)


@router.get("/datasets/{dataset_id}", response_model=DatasetPublic)
def get_dataset(dataset_id: ShortIdPath, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """One dataset as the chain records it."""
    return runtime.sharing.dataset(dataset_id)


@router.post(
    "/datasets/{dataset_id}/grants", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES
)
def issue_grant(
    dataset_id: ShortIdPath,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    grant: Annotated[GrantIn, Body()],
    wait: WaitDep = False,
):
    """Authorise another department to use a dataset for a purpose, within a scope and a validity window."""
    operation = runtime.sharing.grant(principal.department, dataset_id, grant, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.get("/datasets/{dataset_id}/grants", response_model=list[GrantPublic])
def list_dataset_grants(dataset_id: ShortIdPath, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """Every grant of a dataset, with its current status."""
    runtime.sharing.dataset(dataset_id)
    return runtime.sharing.grants(dataset_id=dataset_id)


@router.get("/grants", response_model=list[GrantPublic])
def list_grants(
    _: PrincipalDep,
    runtime: ServiceRuntimeDep,
    dataset_id: Annotated[str | None, Query()] = None,
    consumer: Annotated[str | None, Query()] = None,
    owner: Annotated[str | None, Query()] = None,
):
    """Grants filtered by dataset, consumer department or owner department."""
    return runtime.sharing.grants(dataset_id=dataset_id, consumer=consumer, owner=owner)


@router.get("/grants/{grant_id}", response_model=GrantPublic)
def get_grant(grant_id: ShortIdPath, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """One grant and whether it is live now."""
    return runtime.sharing.grant_of(grant_id)


@router.post("/grants/{grant_id}/revoke", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def revoke_grant(
    grant_id: ShortIdPath,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    revoke: Annotated[RevokeIn, Body()],
    wait: WaitDep = False,
):
    """Revoke a grant for good (its issuing department only)."""
    operation = runtime.sharing.revoke(principal.department, grant_id, revoke, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.post("/grants/{grant_id}/uses", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def log_use(
    grant_id: ShortIdPath,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    use: Annotated[UseIn, Body()],
    wait: WaitDep = False,
):
    """Log one use of shared data under a grant (the consumer department only; the grant must be live)."""
    operation = runtime.sharing.log_use(principal.department, grant_id, use, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.get("/grants/{grant_id}/uses", response_model=list[UsePublic])
def list_uses(grant_id: ShortIdPath, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """Every logged use of a grant, as indexed from the chain."""
    return runtime.sharing.uses(grant_id)


@router.get("/authorisations/check", response_model=AuthorisationPublic)
def check_authorisation(
    _: PrincipalDep,
    runtime: ServiceRuntimeDep,
    dataset_id: Annotated[str, Query(pattern=SHORT_ID_PATTERN.pattern)],
    consumer: Annotated[str, Query()],
    purpose: Annotated[str, Query(pattern=SHORT_ID_PATTERN.pattern)],
):
    """Is this department authorised for this dataset and purpose right now (answered by the contract)?"""
    return runtime.sharing.authorisation(dataset_id, consumer, purpose)

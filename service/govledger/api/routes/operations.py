"""Operations: the state of a write, and the one way every write route answers (202, or 200 when waited for)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body
from fastapi.responses import JSONResponse

from govledger.api.deps import PrincipalDep, ServiceRuntimeDep, WaitDep
from govledger.apikeys import ApiKeyRole
from govledger.errors import NotFoundError
from govledger.operations import OperationPublic
from govledger.operations.models import OperationLookupIn, OperationLookupPublic
from govledger.runtime import Runtime

router = APIRouter(prefix="/api/v1/operations", tags=["operations"])


def operation_response(runtime: Runtime, operation: OperationPublic, wait: bool) -> JSONResponse:
    """202 with the operation as accepted; with ?wait=true, 200 once it is confirmed or failed in time."""
    if wait and not operation.finished:
        operation = runtime.tx_manager.wait(operation.id, runtime.settings.wait_timeout_seconds)
    status = 200 if operation.finished else 202
    return JSONResponse(
        operation.model_dump(mode="json"),
        status_code=status,
        headers={"Location": f"/api/v1/operations/{operation.id}"},
    )


@router.post("/lookup", response_model=OperationLookupPublic)
def lookup_operations(
    principal: PrincipalDep, runtime: ServiceRuntimeDep, lookup: Annotated[OperationLookupIn, Body()]
):
    """The state of up to 1,000 operations at once: one query for a system tracking many writes."""
    wanted = list(dict.fromkeys(lookup.ids))
    visible = {
        operation.id: operation
        for operation in runtime.tx_manager.store.get_many(wanted)
        if principal.role == ApiKeyRole.AUDITOR or operation.department == principal.department
    }
    return OperationLookupPublic(
        operations=[visible[i] for i in wanted if i in visible], not_found=[i for i in wanted if i not in visible]
    )


@router.get("/{operation_id}", response_model=OperationPublic)
def get_operation(operation_id: str, principal: PrincipalDep, runtime: ServiceRuntimeDep, wait: WaitDep = False):
    """The state of one operation of the caller's department (auditors see every department's)."""
    operation = runtime.tx_manager.get(operation_id)
    if principal.role != ApiKeyRole.AUDITOR and operation.department != principal.department:
        # Another department's operation is reported as absent, so ids reveal nothing.
        raise NotFoundError(f"no operation {operation_id}", code="operation_not_found")
    if wait and not operation.finished:
        operation = runtime.tx_manager.wait(operation.id, runtime.settings.wait_timeout_seconds)
    return operation

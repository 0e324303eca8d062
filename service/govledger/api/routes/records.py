"""Shared records: anchor one or many, maintain jointly (versions, endorsements), read history and proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import JSONResponse

from govledger.api.deps import DepartmentWriterDep, IdempotencyKeyDep, PrincipalDep, ServiceRuntimeDep, WaitDep
from govledger.api.routes.operations import operation_response
from govledger.operations import OperationPublic
from govledger.records.models import (
    BatchPublic,
    JointRecordIn,
    MaintainerIn,
    RecordBatchIn,
    RecordIn,
    RecordLookupIn,
    RecordLookupPublic,
    RecordPublic,
    VersionIn,
)
from govledger.shortids import SHORT_ID_PATTERN

router = APIRouter(prefix="/api/v1/records", tags=["records"])

RecordId = Annotated[str, Path(pattern=SHORT_ID_PATTERN.pattern, description="The record's id.")]
Version = Annotated[int, Path(ge=1, le=2**32 - 1)]
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": OperationPublic, "description": "Accepted: the operation is queued or in flight."}
}


@router.post("", response_model=RecordPublic, status_code=202)
def anchor_record(principal: DepartmentWriterDep, runtime: ServiceRuntimeDep, record: Annotated[RecordIn, Body()]):
    """Anchor one record's hash; it joins the next Merkle batch and gets its proof when that is confirmed."""
    anchored = runtime.records.anchor(principal.department, record)
    return JSONResponse(
        anchored.model_dump(mode="json"), status_code=202, headers={"Location": f"/api/v1/records/{anchored.record_id}"}
    )


@router.post("/batch", response_model=BatchPublic, status_code=202)
def anchor_records(
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    batch: Annotated[RecordBatchIn, Body()],
    wait: WaitDep = False,
):
    """Anchor up to 10,000 records in one Merkle batch and one transaction."""
    result = runtime.records.anchor_many(principal.department, batch.records, idempotency_key)
    status = 202
    if wait:
        operation = runtime.tx_manager.wait(result.operation["id"], runtime.settings.wait_timeout_seconds)
        result.operation = operation.model_dump(mode="json")
        status = 200 if operation.finished else 202
    return JSONResponse(result.model_dump(mode="json"), status_code=status)


@router.post("/lookup", response_model=RecordLookupPublic)
def lookup_records(_: PrincipalDep, runtime: ServiceRuntimeDep, lookup: Annotated[RecordLookupIn, Body()]):
    """The anchoring state of up to 1,000 records at once (no history): which are anchored, which wait."""
    records, not_found = runtime.records.lookup(lookup.ids)
    return RecordLookupPublic(records=records, not_found=not_found)


@router.post("/joint", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def anchor_joint_record(
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    record: Annotated[JointRecordIn, Body()],
    wait: WaitDep = False,
):
    """Anchor a record on its own, naming co-maintainers and the endorsements each version needs."""
    operation = runtime.records.anchor_joint(principal.department, record, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.post("/{record_id}/versions", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def append_version(
    record_id: RecordId,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    version: Annotated[VersionIn, Body()],
    wait: WaitDep = False,
):
    """Add a new version of a jointly maintained record (owner or co-maintainer only)."""
    operation = runtime.records.append_version(principal.department, record_id, version, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.post(
    "/{record_id}/versions/{version}/endorse",
    response_model=OperationPublic,
    status_code=202,
    responses=WRITE_RESPONSES,
)
def endorse_version(
    record_id: RecordId,
    version: Version,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    wait: WaitDep = False,
):
    """Endorse (co-sign) a version of a record the caller's department is named on."""
    operation = runtime.records.endorse(principal.department, record_id, version, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.post("/{record_id}/maintainers", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def set_maintainer(
    record_id: RecordId,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    change: Annotated[MaintainerIn, Body()],
    wait: WaitDep = False,
):
    """Name or un-name a co-maintainer department (the record's owner only)."""
    operation = runtime.records.set_maintainer(principal.department, record_id, change, idempotency_key)
    return operation_response(runtime, operation, wait)


@router.get("/{record_id}", response_model=RecordPublic)
def get_record(record_id: RecordId, _: PrincipalDep, runtime: ServiceRuntimeDep):
    """A record, the state of its anchoring and its full on-chain history (versions, endorsements)."""
    return runtime.records.get(record_id)


@router.get("/{record_id}/proof")
def get_proof_bundle(record_id: RecordId, _: PrincipalDep, runtime: ServiceRuntimeDep) -> dict[str, Any]:
    """The record's proof bundle: checkable against any node without trusting this service."""
    return runtime.records.proof_bundle(record_id)

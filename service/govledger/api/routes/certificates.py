"""E-certificates for issuing departments: issue (hash or upload), batch issue, status changes, QR codes, proof."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, File, Form, Path, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError as PydanticValidationError

from govledger.api.deps import DepartmentWriterDep, IdempotencyKeyDep, PrincipalDep, ServiceRuntimeDep, WaitDep
from govledger.api.routes.operations import operation_response
from govledger.certificates.models import CertificateBatchIn, CertificateIn, IssuedPublic, ReasonIn, SupersedeIn
from govledger.certificates.qr import qr_png, qr_svg
from govledger.hashing import digest_stream, hash_hex
from govledger.operations import OperationPublic
from govledger.runtime import Runtime
from govledger.shortids import SHORT_ID_PATTERN, short_id_hex

router = APIRouter(prefix="/api/v1/certificates", tags=["certificates"])

CertificateId = Annotated[str, Path(pattern=SHORT_ID_PATTERN.pattern, description="证照编号")]
WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    202: {"model": OperationPublic, "description": "Accepted: the operation is queued or in flight."}
}


def _issued_response(runtime: Runtime, issued: IssuedPublic, wait: bool) -> JSONResponse:
    status = 202
    if wait:
        operation = runtime.tx_manager.wait(issued.operation["id"], runtime.settings.wait_timeout_seconds)
        issued.operation = operation.model_dump(mode="json")
        status = 200 if operation.finished else 202
    return JSONResponse(
        issued.model_dump(mode="json"),
        status_code=status,
        headers={"Location": f"/api/v1/certificates/{issued.certificate_id}"},
    )


@router.post("", response_model=IssuedPublic, status_code=202)
def issue_certificate(
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    certificate: Annotated[CertificateIn, Body()],
    wait: WaitDep = False,
):
    """Issue a certificate from its document hash; returns its verification URL, QR codes and proof link."""
    issued = runtime.certificates.issue(principal.department, certificate, idempotency_key)
    return _issued_response(runtime, issued, wait)


@router.post("/upload", response_model=IssuedPublic, status_code=202)
def issue_certificate_from_document(
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    document: Annotated[UploadFile, File(description="The certificate document; hashed, then discarded.")],
    metadata: Annotated[str, Form(description="The CertificateIn fields as JSON, without document_hash.")],
    wait: WaitDep = False,
):
    """Issue a certificate by uploading its document: the service hashes it and keeps only the hash."""
    try:
        fields = json.loads(metadata)
        algorithm = fields.get("hash_algorithm", "sha256") if isinstance(fields, dict) else "sha256"
        fields["document_hash"] = hash_hex(digest_stream(algorithm, document.file))
        certificate = CertificateIn.model_validate(fields)
    except (json.JSONDecodeError, TypeError, AttributeError):
        raise RequestValidationError(
            [{"loc": ("body", "metadata"), "msg": "metadata must be a JSON object", "type": "value_error"}]
        ) from None
    except PydanticValidationError as exc:
        raise RequestValidationError(exc.errors(include_input=False)) from None
    issued = runtime.certificates.issue(principal.department, certificate, idempotency_key)
    return _issued_response(runtime, issued, wait)


@router.post("/batch", status_code=202)
def issue_certificates(
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    batch: Annotated[CertificateBatchIn, Body()],
    wait: WaitDep = False,
) -> JSONResponse:
    """Issue up to 10,000 certificates under one Merkle root, in one transaction."""
    result = runtime.certificates.issue_batch(principal.department, batch.certificates, idempotency_key)
    status = 202
    if wait:
        operation = runtime.tx_manager.wait(result["operation"]["id"], runtime.settings.wait_timeout_seconds)
        result["operation"] = operation.model_dump(mode="json")
        status = 200 if operation.finished else 202
    return JSONResponse(result, status_code=status)


def _status_change(
    runtime: Runtime, department: str, cert_id: str, function: str, args: list[Any], key: str | None, wait: bool
) -> JSONResponse:
    operation = runtime.certificates.change_status(department, cert_id, function, args, key)
    return operation_response(runtime, operation, wait)


@router.post("/{cert_id}/revoke", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def revoke_certificate(
    cert_id: CertificateId,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    reason: Annotated[ReasonIn, Body()],
    wait: WaitDep = False,
):
    """Revoke a certificate for good (its issuing department only)."""
    return _status_change(
        runtime, principal.department, cert_id, "revoke", [short_id_hex(reason.reason_code)], idempotency_key, wait
    )


@router.post("/{cert_id}/suspend", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def suspend_certificate(
    cert_id: CertificateId,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    reason: Annotated[ReasonIn, Body()],
    wait: WaitDep = False,
):
    """Suspend a certificate until it is reinstated."""
    return _status_change(
        runtime, principal.department, cert_id, "suspend", [short_id_hex(reason.reason_code)], idempotency_key, wait
    )


@router.post("/{cert_id}/reinstate", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def reinstate_certificate(
    cert_id: CertificateId,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    wait: WaitDep = False,
):
    """Reinstate a suspended certificate."""
    return _status_change(runtime, principal.department, cert_id, "reinstate", [], idempotency_key, wait)


@router.post("/{cert_id}/supersede", response_model=OperationPublic, status_code=202, responses=WRITE_RESPONSES)
def supersede_certificate(
    cert_id: CertificateId,
    principal: DepartmentWriterDep,
    runtime: ServiceRuntimeDep,
    idempotency_key: IdempotencyKeyDep,
    change: Annotated[SupersedeIn, Body()],
    wait: WaitDep = False,
):
    """Mark a certificate as replaced by a newer one of the same issuer."""
    return _status_change(
        runtime,
        principal.department,
        cert_id,
        "supersede",
        [short_id_hex(change.new_certificate_id)],
        idempotency_key,
        wait,
    )


@router.get(
    "/{cert_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "QR code of the verification URL."}},
)
def certificate_qr_png(cert_id: CertificateId, _: PrincipalDep, runtime: ServiceRuntimeDep) -> Response:
    """The certificate's QR code (PNG), encoding its public verification URL."""
    return Response(qr_png(runtime.certificates.verification_url(cert_id)), media_type="image/png")


@router.get(
    "/{cert_id}/qr.svg",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}}, "description": "QR code of the verification URL."}},
)
def certificate_qr_svg(cert_id: CertificateId, _: PrincipalDep, runtime: ServiceRuntimeDep) -> Response:
    """The certificate's QR code (SVG), encoding its public verification URL."""
    return Response(qr_svg(runtime.certificates.verification_url(cert_id)), media_type="image/svg+xml")


@router.get("/{cert_id}/bundle")
def certificate_bundle(cert_id: CertificateId, _: PrincipalDep, runtime: ServiceRuntimeDep) -> dict[str, Any]:
    """The certificate's proof of issue, checkable against any node (govledger verify --bundle)."""
    return runtime.certificates.bundle(cert_id)

"""Public certificate verification: no account, rate-limited per client."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import AwareDatetime
from pydantic import ValidationError as PydanticValidationError

from govledger.api.deps import PublicRateLimitDep, ServiceRuntimeDep, VerificationLookupsDep
from govledger.certificates.models import VerificationResult, VerifyIn
from govledger.errors import MalformedRequestError, UnsupportedMediaTypeError, ValidationError
from govledger.hashing import digest_stream, hash_hex
from govledger.shortids import SHORT_ID_PATTERN

router = APIRouter(prefix="/api/v1/verify", tags=["verification"])

CertificateId = Annotated[str, Path(pattern=SHORT_ID_PATTERN.pattern, description="证照编号")]


@router.get("/certificates/{cert_id}", response_model=VerificationResult)
async def verify_certificate(
    cert_id: CertificateId,
    _: PublicRateLimitDep,
    runtime: ServiceRuntimeDep,
    lookups: VerificationLookupsDep,
    at: Annotated[AwareDatetime | None, Query(description="Ask about a past moment instead of now.")] = None,
):
    """Is this certificate number genuine and valid now (or at a given time)? valid, revoked, expired, …"""
    if at is not None:
        return await run_in_threadpool(runtime.certificates.status_at, cert_id, at)
    # Read together with the other verifications asked meanwhile, on one thread (api.coalesce); the answer
    # itself is worked out here, on the event loop, without a database or node round-trip.
    evidence = await lookups.get(cert_id)
    return runtime.certificates.verdict(evidence, cert_id=cert_id)


@router.post(
    "",
    response_model=VerificationResult,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": VerifyIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "document": {"type": "string", "format": "binary"},
                            "cert_id": {"type": "string"},
                            "hash_algorithm": {"type": "string", "enum": ["sha256", "sm3", "keccak256"]},
                        },
                        "required": ["document"],
                    }
                },
            },
            "required": True,
        }
    },
)
async def verify_document(request: Request, _: PublicRateLimitDep, runtime: ServiceRuntimeDep):
    """Verify a document: upload it (hashed here, then discarded) or send its hash, optionally with its number."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("document")
        if upload is None or isinstance(upload, str):
            raise ValidationError("attach the document as the form field 'document'", code="missing_document")
        algorithm = str(form.get("hash_algorithm") or "sha256")
        document_hash = hash_hex(digest_stream(algorithm, upload.file))
        fields: dict[str, Any] = {"document_hash": document_hash, "hash_algorithm": algorithm}
        if form.get("cert_id"):
            fields["cert_id"] = str(form.get("cert_id"))
    elif content_type.startswith("application/json"):
        try:
            fields = json.loads(await request.body())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise MalformedRequestError("the request body is not valid JSON") from None
        if not isinstance(fields, dict):
            raise ValidationError("the request body must be a JSON object", code="invalid_request")
    else:
        raise UnsupportedMediaTypeError("send JSON, or a multipart form with the document")
    try:
        query = VerifyIn.model_validate(fields)
    except PydanticValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_input=False)]
        ) from None
    return runtime.certificates.verify(
        cert_id=query.cert_id,
        document_hash=query.document_hash,
        hash_algorithm=query.hash_algorithm,
        holder=query.holder,
    )


@router.post("/bundle", response_model=VerificationResult)
def verify_bundle(bundle: dict[str, Any], _: PublicRateLimitDep, runtime: ServiceRuntimeDep):
    """Verify a certificate's proof bundle: its fields against the registry and its status now."""
    return runtime.certificates.verify_bundle(bundle)

"""A test-only stand-in for the public verification API, answering in its documented JSON shape.

It lets the page's rendering be tested on its own: a few certificates in fixed states, each registered with
the hash of a small document, and the rules the real API follows (a document hash that differs from the
registered one is "tampered"; an unknown number is 404, an unknown hash "not_found"). It records every
request so tests can check what the page sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from govledger.hashing import digest, hash_hex

HOLDER_ID_NUMBER = "430102199001011234"
HOLDER_SALT = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
TX_HASH = "0x" + "ab" * 32
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@dataclass(frozen=True)
class CannedCertificate:
    certificate_id: str
    status: str
    document: bytes
    hash_algorithm: str = "sha256"
    reason: str | None = None
    superseded_by: str | None = None
    status_changed_at: str | None = None

    @property
    def document_hash(self) -> str:
        return hash_hex(digest(self.hash_algorithm, self.document))


CERTIFICATES = {
    cert.certificate_id: cert
    for cert in (
        CannedCertificate("MSA-2025-0001", "valid", "营业执照 长沙某某科技有限公司".encode()),
        CannedCertificate(
            "MSA-2025-0002",
            "revoked",
            b"business licence of a revoked company",
            reason="LICENCE-CANCELLED",
            status_changed_at="2025-06-01T09:30:00+08:00",
        ),
        CannedCertificate(
            "MSA-2025-0003",
            "superseded",
            b"old licence",
            superseded_by="MSA-2025-0004",
            status_changed_at="2025-05-01T10:00:00+08:00",
        ),
        CannedCertificate("HRSS-2025-0007", "suspended", b"qualification certificate", hash_algorithm="sm3"),
        CannedCertificate("HRSS-2025-0008", "expired", b"an expired social-security certificate"),
    )
}


@dataclass
class CannedApi:
    requests: list[dict[str, Any]] = field(default_factory=list)
    router: APIRouter = field(default_factory=APIRouter)
    #: When set, every request is refused with this status (e.g. 429) and an error body.
    refuse_with: int | None = None

    def __post_init__(self) -> None:
        self.router.add_api_route("/api/v1/verify", self.verify, methods=["POST"])
        self.router.add_api_route("/api/v1/verify/certificates/{cert_id:path}", self.certificate, methods=["GET"])

    async def verify(self, request: Request) -> JSONResponse:
        body = await request.json()
        self.requests.append({"method": "POST", "body": body})
        if self.refuse_with is not None:
            return _error(self.refuse_with, "rate_limited", "too many requests")
        cert_id = body.get("cert_id")
        document_hash = body.get("document_hash")
        algorithm = body.get("hash_algorithm", "sha256")
        cert = CERTIFICATES.get(cert_id) if cert_id else _by_hash(document_hash, algorithm)
        if cert is None:  # as the real API answers: 200 "not_found" (GET answers 404, so both are covered)
            return JSONResponse(_not_found(cert_id))
        # Like the real API: the document part names the registered algorithm and hash.
        matches = None if document_hash is None else document_hash == cert.document_hash
        holder = body.get("holder")
        holder_check = {"checked": holder is not None, "matches": None}
        if holder is not None:
            holder_check["matches"] = holder == {"id_number": HOLDER_ID_NUMBER, "salt": HOLDER_SALT}
        status = "tampered" if matches is False else cert.status
        return JSONResponse(_body(cert, status, matches, holder_check, with_document=document_hash is not None))

    async def certificate(self, cert_id: str) -> JSONResponse:
        self.requests.append({"method": "GET", "cert_id": cert_id})
        if self.refuse_with is not None:
            return _error(self.refuse_with, "rate_limited", "too many requests")
        cert = CERTIFICATES.get(cert_id)
        if cert is None:
            return _error(404, "certificate_not_found", f"no certificate {cert_id}")
        check = {"checked": False, "matches": None}
        return JSONResponse(_body(cert, cert.status, None, check, with_document=False))


def _by_hash(document_hash: str | None, algorithm: str) -> CannedCertificate | None:
    for cert in CERTIFICATES.values():
        if cert.hash_algorithm == algorithm and cert.document_hash == document_hash:
            return cert
    return None


def _body(
    cert: CannedCertificate, status: str, matches: bool | None, holder: dict[str, Any], *, with_document: bool
) -> dict[str, Any]:
    document = {"hash_algorithm": cert.hash_algorithm, "document_hash": cert.document_hash, "matches": matches}
    issuer = {"code": "CS-MSA", "name": "长沙市市场监督管理局"}
    if cert.certificate_id.startswith("HRSS"):
        issuer = {"code": "CS-HRSS", "name": "长沙市人力资源和社会保障局"}
    return {
        "status": status,
        "certificate_id": cert.certificate_id,
        "certificate_type": "business-licence",
        "issuer": issuer,
        "valid_from": "2025-01-01T00:00:00+08:00",
        "valid_until": "2030-01-01T00:00:00+08:00",
        "issued_at": "2025-01-02T10:15:00+08:00",
        "status_changed_at": cert.status_changed_at,
        "reason": cert.reason,
        "superseded_by": cert.superseded_by,
        "document": document if with_document else None,
        "holder": holder,
        "anchor": {"chain_id": 131277322940537, "contract": CONTRACT, "tx_hash": TX_HASH, "block_number": 42},
        "checked_at": "2025-07-01T12:00:00+08:00",
    }


def _not_found(cert_id: str | None) -> dict[str, Any]:
    return {
        "status": "not_found",
        "certificate_id": cert_id,
        "holder": {"checked": False, "matches": None},
        "checked_at": "2025-07-01T12:00:00+08:00",
    }


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

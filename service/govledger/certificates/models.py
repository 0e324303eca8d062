"""What an issuing department sends, and what issuers and the public get back."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from govledger.records.models import AlgorithmName, HashHex
from govledger.shortids import ShortId

VerificationStatus = Literal[
    "valid", "revoked", "suspended", "expired", "not_yet_valid", "superseded", "not_found", "tampered"
]
MAX_BATCH_CERTIFICATES = 10_000


class HolderIn(BaseModel):
    """The holder's identity number, used once to compute the commitment and then forgotten."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=4, max_length=64, description="Never stored, never logged.")
    salt: str | None = Field(
        default=None, min_length=16, max_length=128, description="Generated and returned once when omitted."
    )

    def __repr__(self) -> str:  # the identity number must not reach a log through a repr
        return "HolderIn(id_number=***)"

    __str__ = __repr__


class CertificateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificate_id: ShortId | None = Field(default=None, description="证照编号; generated when omitted.")
    certificate_type: ShortId = Field(description="e.g. business-licence, qualification, social-security.")
    hash_algorithm: AlgorithmName = "sha256"
    document_hash: HashHex | None = Field(default=None, description="Hash of the certificate document.")
    holder: HolderIn | None = None
    holder_commitment: HashHex | None = None
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _consistent(self) -> CertificateIn:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if (self.holder is None) == (self.holder_commitment is None):
            raise ValueError("send exactly one of holder (identity number) and holder_commitment")
        return self


class CertificateBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    certificates: list[CertificateIn] = Field(min_length=1, max_length=MAX_BATCH_CERTIFICATES)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: ShortId = Field(description="Why, from the issuer's catalogue, e.g. LICENCE-CANCELLED.")


class SupersedeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    new_certificate_id: ShortId


class IssuedPublic(BaseModel):
    """The answer to an issuing request: where to verify it, its QR codes and proof, and the operation."""

    certificate_id: str
    verification_url: str
    qr_png_url: str
    qr_svg_url: str
    bundle_url: str
    holder_salt: str | None = Field(default=None, description="Returned once: hand it to the holder.")
    holder_commitment: str
    document_hash: str
    operation: Any


class HolderCheckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=4, max_length=64)
    salt: str = Field(min_length=16, max_length=128)

    def __repr__(self) -> str:
        return "HolderCheckIn(id_number=***)"

    __str__ = __repr__


class VerifyIn(BaseModel):
    """A verification request: a certificate number and/or a document hash, optionally a holder check."""

    model_config = ConfigDict(extra="forbid")

    cert_id: ShortId | None = None
    document_hash: HashHex | None = None
    hash_algorithm: AlgorithmName = "sha256"
    holder: HolderCheckIn | None = None

    @model_validator(mode="after")
    def _something_to_check(self) -> VerifyIn:
        if self.cert_id is None and self.document_hash is None:
            raise ValueError("send cert_id, document_hash or both")
        return self


class Issuer(BaseModel):
    code: str
    name: str | None


class DocumentCheck(BaseModel):
    hash_algorithm: str
    document_hash: str
    matches: bool | None


class HolderCheck(BaseModel):
    checked: bool
    matches: bool | None


class Anchor(BaseModel):
    chain_id: int
    contract: str
    tx_hash: str | None
    block_number: int | None


class VerificationResult(BaseModel):
    status: VerificationStatus
    certificate_id: str | None = None
    certificate_type: str | None = None
    issuer: Issuer | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    issued_at: datetime | None = None
    status_changed_at: datetime | None = None
    reason: str | None = None
    superseded_by: str | None = None
    document: DocumentCheck | None = None
    holder: HolderCheck = HolderCheck(checked=False, matches=None)
    anchor: Anchor | None = None
    checked_at: datetime

"""Request and response shapes for datasets, grants and logged uses."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from govledger.records.models import DepartmentCode, HashHex
from govledger.shortids import ShortId


class DatasetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset_id: ShortId = Field(description="The dataset's catalogue id, e.g. POP-BASE-2026.")
    metadata_hash: HashHex = Field(description="Hash of the catalogue entry (fields, description, owner contact).")


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grant_id: ShortId | None = Field(default=None, description="Your id for the grant; generated if omitted.")
    consumer: DepartmentCode = Field(description="The department allowed to use the data.")
    purpose: ShortId = Field(description="Purpose code from the city's catalogue, e.g. SOCIAL-SECURITY-CHECK.")
    scope_hash: HashHex = Field(description="Hash of the field list or query the grant covers.")
    valid_from: AwareDatetime
    valid_until: AwareDatetime

    @model_validator(mode="after")
    def _window(self) -> GrantIn:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: ShortId = Field(description="Why the grant is revoked, e.g. PURPOSE-ENDED.")


class UseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    request_hash: HashHex = Field(description="Hash of the data request made under the grant.")


class DatasetPublic(BaseModel):
    dataset_id: str
    owner: str
    metadata_hash: str
    registered_at: datetime | None


class GrantPublic(BaseModel):
    grant_id: str
    dataset_id: str
    owner: str
    consumer: str
    purpose: str
    scope_hash: str
    valid_from: datetime | None
    valid_until: datetime | None
    revoked_at: datetime | None
    use_count: int
    status: str = Field(description="not_yet_valid, live, expired or revoked.")


class UsePublic(BaseModel):
    grant_id: str
    consumer: str
    request_hash: str
    use_number: int
    action_seq: int | None
    tx_hash: str
    block_number: int
    logged_at: datetime | None


class AuthorisationPublic(BaseModel):
    dataset_id: str
    consumer: str
    purpose: str
    authorised: bool
    grant_id: str | None

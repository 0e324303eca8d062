"""What a department sends to anchor a record, and what the API shows back.

Record and schema ids are short readable ids (see ``govledger.shortids``). The content itself is never
stored: a caller sends its hash, or sends the content only to be hashed.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from govledger.consortium.departments import validate_department_code
from govledger.errors import GovLedgerError
from govledger.hashing import HashAlgorithm, digest, hash_hex, parse_hash_hex
from govledger.shortids import ShortId, pack_short_id

MAX_CONTENT_BYTES = 4 * 1024 * 1024
MAX_BATCH_RECORDS = 10_000
MAX_CO_MAINTAINERS = 16


def _hash_hex(value: str) -> str:
    try:
        return hash_hex(parse_hash_hex(value))
    except GovLedgerError as exc:
        raise ValueError(exc.message) from None


def _algorithm(value: str) -> str:
    try:
        return HashAlgorithm.from_name(value).label
    except GovLedgerError as exc:
        raise ValueError(exc.message) from None


def _department(value: str) -> str:
    try:
        return validate_department_code(value)
    except GovLedgerError as exc:
        raise ValueError(exc.message) from None


HashHex = Annotated[str, AfterValidator(_hash_hex), Field(description="32-byte digest as 64 hex characters.")]
AlgorithmName = Annotated[str, AfterValidator(_algorithm), Field(description="sha256, keccak256 or sm3.")]
DepartmentCode = Annotated[str, AfterValidator(_department)]


_ALGORITHM_CODES = {algorithm.label: int(algorithm) for algorithm in HashAlgorithm}


def record_leaf_values(record_id: str, content_hash: str, hash_algorithm: str, schema_id: str) -> list[Any]:
    """A record's Merkle leaf values, in RECORD_LEAF_ENCODING order: the one place that order is written.

    The values were validated and normalised on the way in (RecordIn, or a row stored from one), so they
    are packed as they are: checking them again cost 5 % of a 1,000-record batch request. Anything else
    still fails loudly, in the hex parsing or in the tree's ABI encoding of a wrong-sized value.
    """
    return [
        pack_short_id(record_id),
        bytes.fromhex(content_hash.removeprefix("0x")),
        _ALGORITHM_CODES.get(hash_algorithm) or int(HashAlgorithm.from_name(hash_algorithm)),
        pack_short_id(schema_id),
    ]


class RecordIn(BaseModel):
    """One record to anchor: its id, its content hash (or the content, only to be hashed) and its schema."""

    model_config = ConfigDict(extra="forbid")

    record_id: ShortId
    schema_id: ShortId = Field(description="Schema or category of the record, e.g. business-licence.")
    hash_algorithm: AlgorithmName = "sha256"
    content_hash: HashHex | None = None
    content_base64: str | None = Field(
        default=None,
        description="The content, base64-encoded, hashed by the service and then discarded (never stored).",
    )

    @model_validator(mode="after")
    def _hash_the_content_if_sent(self) -> RecordIn:
        if (self.content_hash is None) == (self.content_base64 is None):
            raise ValueError("send exactly one of content_hash and content_base64")
        if self.content_base64 is not None:
            try:
                content = base64.b64decode(self.content_base64, validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("content_base64 is not valid base64") from None
            if len(content) > MAX_CONTENT_BYTES:
                raise ValueError(f"content is larger than {MAX_CONTENT_BYTES} bytes; send its hash instead")
            self.content_hash = hash_hex(digest(self.hash_algorithm, content))
            self.content_base64 = None
        return self

    def leaf_values(self) -> list[Any]:
        """The Merkle leaf values, in RECORD_LEAF_ENCODING order."""
        assert self.content_hash is not None
        return record_leaf_values(self.record_id, self.content_hash, self.hash_algorithm, self.schema_id)

    def fingerprint(self) -> dict[str, Any]:
        return {
            "record_id": self.record_id,
            "schema_id": self.schema_id,
            "hash_algorithm": self.hash_algorithm,
            "content_hash": self.content_hash,
        }


class JointRecordIn(RecordIn):
    """A record anchored on its own, maintained jointly: co-maintainers may add versions, others endorse."""

    co_maintainers: list[DepartmentCode] = Field(default_factory=list, max_length=MAX_CO_MAINTAINERS)
    required_endorsements: int = Field(default=0, ge=0, le=16)


class RecordBatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[RecordIn] = Field(min_length=1, max_length=MAX_BATCH_RECORDS)


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hash_algorithm: AlgorithmName = "sha256"
    content_hash: HashHex


class MaintainerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    department: DepartmentCode
    named: bool = True


class RecordPublic(BaseModel):
    record_id: str
    department: str
    schema_id: str
    hash_algorithm: str
    content_hash: str
    mode: str
    status: str = Field(description="pending, submitted, anchored or failed.")
    batch_id: str | None
    batch_root: str | None = None
    leaf_hash: str | None
    operation_id: str | None
    tx_hash: str | None = None
    block_number: int | None = None
    created_at: datetime
    history: list[dict[str, Any]] = Field(default_factory=list)


#: Ids one lookup request may ask about: a full default batch's worth.
MAX_LOOKUP_IDS = 1_000


class RecordLookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[ShortId] = Field(min_length=1, max_length=MAX_LOOKUP_IDS, description="Record ids (repeats ignored).")


class RecordLookupPublic(BaseModel):
    records: list[RecordPublic] = Field(description="The records found, in the order asked; without history.")
    not_found: list[str] = Field(description="Ids this service has no record of.")


class BatchPublic(BaseModel):
    batch_id: str
    department: str
    root: str
    leaf_count: int
    operation: Any

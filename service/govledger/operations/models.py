"""The shapes of an operation: what a caller asks for, and what the API shows back."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Row

from govledger.db.models import Operation


@dataclass(frozen=True)
class WriteRequest:
    """One contract call a department wants on chain.

    ``args`` are JSON-friendly (bytes as "0x.." hex): they are stored as they are shown to people, and the
    contract ABI turns them back into exact values when the transaction is built.
    """

    department: str
    kind: str
    contract: str
    function: str
    args: list[Any]
    idempotency_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def request_hash(self) -> str:
        """Fingerprint of what is asked, to tell a genuine retry from a reused Idempotency-Key."""
        canonical = json.dumps(
            {"kind": self.kind, "contract": self.contract, "function": self.function, "args": self.args},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


class OperationError(BaseModel):
    code: str
    name: str | None = None
    message: str | None = None
    args: dict[str, Any] | None = None


class OperationPublic(BaseModel):
    """An operation as the API returns it; never includes the signed transaction bytes."""

    id: str
    department: str
    kind: str
    status: str
    contract: str
    function: str
    args: list[Any]
    sender: str
    chain_id: int
    nonce: int | None
    tx_hash: str | None
    block_number: int | None
    block_hash: str | None
    error: OperationError | None
    result: Any | None
    created_at: datetime
    submitted_at: datetime | None
    confirmed_at: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in ("confirmed", "failed")

    @classmethod
    def from_row(cls, row: Operation | Row[Any]) -> OperationPublic:
        error = None
        if row.error_code:
            error = OperationError(
                code=row.error_code,
                name=row.error_name,
                message=row.error_message,
                args=json.loads(row.error_args_json) if row.error_args_json else None,
            )
        return cls(
            id=row.id,
            department=row.department,
            kind=row.kind,
            status=row.status,
            contract=row.contract,
            function=row.function,
            args=json.loads(row.args_json),
            sender=row.sender,
            chain_id=row.chain_id,
            nonce=row.nonce,
            tx_hash=row.tx_hash,
            block_number=row.block_number,
            block_hash=row.block_hash,
            error=error,
            result=json.loads(row.result_json) if row.result_json else None,
            created_at=row.created_at,
            submitted_at=row.submitted_at,
            confirmed_at=row.confirmed_at,
        )


#: Operations one lookup request may ask about.
MAX_OPERATION_LOOKUP = 1_000
OperationId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="An operation id (32 hex characters).")]


class OperationLookupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[OperationId] = Field(min_length=1, max_length=MAX_OPERATION_LOOKUP, description="Repeats ignored.")


class OperationLookupPublic(BaseModel):
    operations: list[OperationPublic] = Field(description="The operations found, in the order asked.")
    not_found: list[str] = Field(description="Ids unknown here, or another department's (reported the same way).")

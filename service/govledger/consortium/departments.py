"""Department codes and roles, in the form the contracts store them.

A department is identified by a short code such as ``CS-MSA``. On chain the code is packed left-aligned
into a ``bytes32`` so that it stays readable in any block explorer without a lookup table. Roles are the bit
mask of ``Consortium.sol``; the two must agree, which a test checks against the compiled contract.
"""

from __future__ import annotations

import re
from enum import IntFlag

from govledger.errors import ValidationError

DEPARTMENT_CODE_PATTERN = re.compile(r"^[A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*$")
MAX_CODE_LENGTH = 32


class Role(IntFlag):
    """What a department may do; the same bits as the ROLE_* constants of Consortium.sol."""

    GOVERNOR = 1 << 0
    CERTIFICATE_ISSUER = 1 << 1
    RECORD_KEEPER = 1 << 2
    DATA_OWNER = 1 << 3
    AUDITOR = 1 << 4

    @classmethod
    def parse(cls, names: str | list[str]) -> Role:
        """Roles from names such as ``"governor,data_owner"``; unknown names are refused."""
        items = names.split(",") if isinstance(names, str) else names
        roles = cls(0)
        for raw in items:
            name = raw.strip().upper().replace("-", "_")
            if not name:
                continue
            if name not in cls.__members__:
                known = ", ".join(m.lower() for m in cls.__members__)
                raise ValidationError(f"unknown role {raw.strip()!r}; roles are: {known}", code="invalid_role")
            roles |= cls[name]
        return roles

    def names(self) -> list[str]:
        return [member.name.lower() for member in Role if member in self and member.name]


ALL_ROLES = Role(sum(Role))


def validate_department_code(code: str) -> str:
    """The code itself if it is well formed: upper-case letters, digits and single hyphens, ≤ 32 bytes."""
    if not isinstance(code, str) or not code or len(code) > MAX_CODE_LENGTH or not DEPARTMENT_CODE_PATTERN.match(code):
        raise ValidationError(
            f"invalid department code {code!r}: use 1-32 upper-case letters, digits and hyphens, like CS-MSA",
            code="invalid_department_code",
        )
    return code


def encode_department_code(code: str) -> bytes:
    """The bytes32 form of a department code, as stored on chain."""
    return validate_department_code(code).encode("ascii").ljust(32, b"\0")


def decode_department_code(value: bytes) -> str:
    """The department code stored in a bytes32."""
    return bytes(value).rstrip(b"\0").decode("ascii", errors="replace")

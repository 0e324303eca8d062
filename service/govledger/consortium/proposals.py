"""Governance proposals: what a governor department may ask the consortium to change, and how it is encoded.

Each kind is a small pydantic model (the API's request bodies) that knows its ``IConsortium.ProposalKind``
and ABI-encodes its payload exactly as ``Consortium.sol`` decodes it, so a malformed change is refused
with a clear 422 before any transaction exists.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any, Literal

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import is_address, to_checksum_address
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from govledger.consortium.departments import (
    Role,
    decode_department_code,
    encode_department_code,
    validate_department_code,
)
from govledger.errors import GovLedgerError


class ProposalKind(IntEnum):
    """The same order as ``IConsortium.ProposalKind``."""

    ADD_DEPARTMENT = 0
    SUSPEND_DEPARTMENT = 1
    REINSTATE_DEPARTMENT = 2
    SET_ROLES = 3
    ADD_ACCOUNT = 4
    REMOVE_ACCOUNT = 5
    SET_THRESHOLD = 6
    SET_MODULE = 7


PROPOSAL_STATUSES = ("none", "pending", "executed", "expired")

_PAYLOAD_TYPES: dict[ProposalKind, list[str]] = {
    ProposalKind.ADD_DEPARTMENT: ["bytes32", "string", "uint8", "address"],
    ProposalKind.SUSPEND_DEPARTMENT: ["bytes32"],
    ProposalKind.REINSTATE_DEPARTMENT: ["bytes32"],
    ProposalKind.SET_ROLES: ["bytes32", "uint8"],
    ProposalKind.ADD_ACCOUNT: ["bytes32", "address"],
    ProposalKind.REMOVE_ACCOUNT: ["bytes32", "address"],
    ProposalKind.SET_THRESHOLD: ["uint8"],
    ProposalKind.SET_MODULE: ["address", "bool"],
}


def _address(value: str) -> str:
    if not is_address(value):
        raise ValueError("must be a 0x-prefixed 20-byte hex address")
    return to_checksum_address(value)


def _roles(values: list[str]) -> list[str]:
    try:
        roles = Role.parse(values)
    except GovLedgerError as exc:
        raise ValueError(exc.message) from None
    if not roles:
        raise ValueError("at least one role is required")
    return roles.names()


def _name(value: str) -> str:
    if not value.strip() or len(value.encode("utf-8")) > 128:
        raise ValueError("must be 1-128 bytes of UTF-8")
    return value


def _code(value: str) -> str:
    try:
        return validate_department_code(value)
    except GovLedgerError as exc:
        raise ValueError(exc.message) from None


DepartmentCode = Annotated[str, AfterValidator(_code), Field(description="Department code, e.g. CS-MSA.")]
Address = Annotated[str, AfterValidator(_address), Field(description="0x-prefixed account or contract address.")]
Roles = Annotated[
    list[str],
    AfterValidator(_roles),
    Field(min_length=1, description="Any of governor, certificate_issuer, record_keeper, data_owner, auditor."),
]


class _Proposal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def kind_value(self) -> ProposalKind:
        raise NotImplementedError

    def values(self) -> list[Any]:
        raise NotImplementedError

    def encode(self) -> tuple[int, str]:
        """The (kind, payload hex) arguments of ``Consortium.propose``."""
        kind = self.kind_value()
        return int(kind), "0x" + abi_encode(_PAYLOAD_TYPES[kind], self.values()).hex()


class AddDepartment(_Proposal):
    kind: Literal["add_department"]
    code: DepartmentCode
    name: Annotated[str, AfterValidator(_name), Field(description="Official name, 1-128 bytes of UTF-8.")]
    roles: Roles
    account: Address

    def kind_value(self) -> ProposalKind:
        return ProposalKind.ADD_DEPARTMENT

    def values(self) -> list[Any]:
        return [encode_department_code(self.code), self.name, int(Role.parse(self.roles)), self.account]


class _DepartmentOnly(_Proposal):
    code: DepartmentCode

    def values(self) -> list[Any]:
        return [encode_department_code(self.code)]


class SuspendDepartment(_DepartmentOnly):
    kind: Literal["suspend_department"]

    def kind_value(self) -> ProposalKind:
        return ProposalKind.SUSPEND_DEPARTMENT


class ReinstateDepartment(_DepartmentOnly):
    kind: Literal["reinstate_department"]

    def kind_value(self) -> ProposalKind:
        return ProposalKind.REINSTATE_DEPARTMENT


class SetRoles(_Proposal):
    kind: Literal["set_roles"]
    code: DepartmentCode
    roles: Roles

    def kind_value(self) -> ProposalKind:
        return ProposalKind.SET_ROLES

    def values(self) -> list[Any]:
        return [encode_department_code(self.code), int(Role.parse(self.roles))]


class _DepartmentAccount(_Proposal):
    code: DepartmentCode
    account: Address

    def values(self) -> list[Any]:
        return [encode_department_code(self.code), self.account]


class AddAccount(_DepartmentAccount):
    kind: Literal["add_account"]

    def kind_value(self) -> ProposalKind:
        return ProposalKind.ADD_ACCOUNT


class RemoveAccount(_DepartmentAccount):
    kind: Literal["remove_account"]

    def kind_value(self) -> ProposalKind:
        return ProposalKind.REMOVE_ACCOUNT


class SetThreshold(_Proposal):
    kind: Literal["set_threshold"]
    threshold: Annotated[int, Field(ge=1, le=64)]

    def kind_value(self) -> ProposalKind:
        return ProposalKind.SET_THRESHOLD

    def values(self) -> list[Any]:
        return [self.threshold]


class SetModule(_Proposal):
    kind: Literal["set_module"]
    module: Address
    enabled: bool

    def kind_value(self) -> ProposalKind:
        return ProposalKind.SET_MODULE

    def values(self) -> list[Any]:
        return [self.module, self.enabled]


ProposalRequest = Annotated[
    AddDepartment
    | SuspendDepartment
    | ReinstateDepartment
    | SetRoles
    | AddAccount
    | RemoveAccount
    | SetThreshold
    | SetModule,
    Field(discriminator="kind"),
]


def describe_payload(kind: int, payload: bytes) -> dict[str, Any]:
    """A proposal's payload in readable form, for the API and the audit trail."""
    proposal_kind = ProposalKind(kind)
    values = abi_decode(_PAYLOAD_TYPES[proposal_kind], payload)
    described: dict[str, Any] = {"kind": proposal_kind.name.lower()}
    if proposal_kind is ProposalKind.ADD_DEPARTMENT:
        code, name, roles, account = values
        described |= {
            "code": decode_department_code(code),
            "name": name,
            "roles": Role(roles).names(),
            "account": to_checksum_address(account),
        }
    elif proposal_kind in (ProposalKind.SUSPEND_DEPARTMENT, ProposalKind.REINSTATE_DEPARTMENT):
        described["code"] = decode_department_code(values[0])
    elif proposal_kind is ProposalKind.SET_ROLES:
        described |= {"code": decode_department_code(values[0]), "roles": Role(values[1]).names()}
    elif proposal_kind in (ProposalKind.ADD_ACCOUNT, ProposalKind.REMOVE_ACCOUNT):
        described |= {"code": decode_department_code(values[0]), "account": to_checksum_address(values[1])}
    elif proposal_kind is ProposalKind.SET_THRESHOLD:
        described["threshold"] = values[0]
    else:
        described |= {"module": to_checksum_address(values[0]), "enabled": values[1]}
    return described

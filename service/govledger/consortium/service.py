"""The consortium use cases: read departments and proposals from the chain, and submit governance writes.

Reads go straight to the Consortium contract (the source of truth, and cheap). Writes become operations
through the transaction manager, so they are persisted first and idempotent; the contract itself enforces
who may govern, and its custom error comes back on the operation if it refuses.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from govledger.chain.contracts import BoundContract
from govledger.chain.txmanager import TxManager
from govledger.consortium.departments import Role, decode_department_code, encode_department_code
from govledger.consortium.proposals import PROPOSAL_STATUSES, ProposalRequest, describe_payload
from govledger.errors import ContractRevertError, NotFoundError
from govledger.operations import OperationPublic
from govledger.operations.writer import ContractWriter


class DepartmentPublic(BaseModel):
    code: str
    name: str
    roles: list[str]
    active: bool
    action_count: int
    account_count: int


class ProposalPublic(BaseModel):
    id: int
    kind: str
    status: str
    proposer: str
    created_at: int
    expires_at: int
    approvals: int
    threshold: int
    approvers: list[str]
    change: dict[str, Any]


class ConsortiumOverview(BaseModel):
    contract: str
    threshold: int
    active_governors: int
    proposal_lifetime_seconds: int
    proposal_count: int


class ConsortiumService:
    def __init__(self, tx_manager: TxManager):
        self.tx_manager = tx_manager
        self.contract: BoundContract = tx_manager.contract("Consortium")
        self.writes = ContractWriter(tx_manager, "Consortium")

    # ------------------------------------------------------------ reads

    def overview(self) -> ConsortiumOverview:
        return ConsortiumOverview(
            contract=self.contract.address,
            threshold=self.contract.call("threshold"),
            active_governors=self.contract.call("activeGovernorCount"),
            proposal_lifetime_seconds=self.contract.call("proposalLifetime"),
            proposal_count=self.contract.call("proposalCount"),
        )

    def departments(self) -> list[DepartmentPublic]:
        return [self._department(raw) for raw in self.contract.call("departmentIds")]

    def department(self, code: str) -> DepartmentPublic:
        return self._department(encode_department_code(code))

    def _department(self, raw: bytes) -> DepartmentPublic:
        try:
            dept = self.contract.call("getDepartment", raw)
        except ContractRevertError as exc:
            if exc.error_name == "ConsortiumUnknownDepartment":
                raise NotFoundError(
                    f"no department {decode_department_code(raw)}", code="department_not_found"
                ) from None
            raise
        return DepartmentPublic(
            code=decode_department_code(raw),
            name=dept["name"],
            roles=Role(dept["roles"]).names(),
            active=dept["active"],
            action_count=dept["actionCount"],
            account_count=dept["accountCount"],
        )

    def proposal(self, proposal_id: int) -> ProposalPublic:
        try:
            view = self.contract.call("getProposal", proposal_id)
        except ContractRevertError as exc:
            if exc.error_name == "ConsortiumUnknownProposal":
                raise NotFoundError(f"no proposal {proposal_id}", code="proposal_not_found") from None
            raise
        change = describe_payload(view["kind"], view["payload"])
        return ProposalPublic(
            id=view["id"],
            kind=change["kind"],
            status=PROPOSAL_STATUSES[view["status"]],
            proposer=decode_department_code(view["proposerDept"]),
            created_at=view["createdAt"],
            expires_at=view["expiresAt"],
            approvals=view["approvals"],
            threshold=self.contract.call("threshold"),
            approvers=[decode_department_code(a) for a in view["approvers"]],
            change=change,
        )

    # ------------------------------------------------------------ writes

    def propose(self, department: str, request: ProposalRequest, idempotency_key: str | None) -> OperationPublic:
        kind, payload = request.encode()
        return self.writes.submit(department, "consortium.propose", "propose", [kind, payload], idempotency_key)

    def approve(self, department: str, proposal_id: int, idempotency_key: str | None) -> OperationPublic:
        return self.writes.submit(department, "consortium.approve", "approve", [proposal_id], idempotency_key)

    def execute(self, department: str, proposal_id: int, idempotency_key: str | None) -> OperationPublic:
        return self.writes.submit(department, "consortium.execute", "execute", [proposal_id], idempotency_key)

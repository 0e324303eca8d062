"""May this department do this now? Asked of the Consortium contract before a write is accepted.

The contracts are the authority and refuse anyway; asking first turns a refusal that would otherwise surface
later on a failed operation into an immediate 403 with a stable code, which is what a person at the API
needs. The answer is read from the chain on every write, so a suspension takes effect at once.
"""

from __future__ import annotations

from govledger.chain.txmanager import TxManager
from govledger.consortium.departments import Role, encode_department_code
from govledger.errors import ContractRevertError, PermissionDeniedError


def require_department_role(tx_manager: TxManager, department: str, role: Role | None = None) -> None:
    """403 ``department_suspended`` or ``missing_role`` unless ``department`` is active and holds ``role``."""
    consortium = tx_manager.contract("Consortium")
    try:
        view = consortium.call("getDepartment", encode_department_code(department))
    except ContractRevertError as exc:
        if exc.error_name == "ConsortiumUnknownDepartment":
            raise PermissionDeniedError(
                f"{department} is not a member of the consortium", code="not_a_member"
            ) from None
        raise
    if not view["active"]:
        raise PermissionDeniedError(f"{department} is suspended from the consortium", code="department_suspended")
    if role is not None and Role(view["roles"]) & role != role:
        raise PermissionDeniedError(
            f"{department} lacks the {', '.join(role.names())} role this action needs", code="missing_role"
        )

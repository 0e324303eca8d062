"""May this department do this now? Asked of the Consortium contract before a write is accepted.

The contracts are the authority and refuse anyway; asking first turns a refusal that would otherwise surface
later on a failed operation into an immediate 403 with a stable code, which is what a person at the API
needs. Asking the node on every write, though, costs a JSON-RPC round-trip per request and was the largest
single cost of a write (docs/PERFORMANCE.md), so answers are kept for ``ttl_seconds``: a suspension or a role
change then shows as a 403 at most that long after it is mined, and until then the contract's own refusal
still fails the operation. ``ttl_seconds=0`` asks every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from govledger.chain.contracts import BoundContract
from govledger.consortium.departments import Role, encode_department_code
from govledger.errors import ContractRevertError, PermissionDeniedError
from govledger.ttlcache import TtlCache


@dataclass(frozen=True)
class _Standing:
    """What the Consortium said about a department: a member or not, active or not, and its roles."""

    member: bool
    active: bool
    roles: Role


class DepartmentAuthority:
    """Checks a department's membership, status and roles against the chain, with a short-lived memory."""

    def __init__(
        self, consortium: BoundContract, *, ttl_seconds: float = 0.0, clock: Callable[[], float] = time.monotonic
    ):
        self.consortium = consortium
        self._known: TtlCache[str, _Standing] = TtlCache(ttl_seconds, max_entries=10_000, clock=clock)

    def require(self, department: str, role: Role | None = None) -> None:
        """403 ``not_a_member``, ``department_suspended`` or ``missing_role`` unless allowed."""
        standing = self._known.get_or_load(department, lambda: self._ask_chain(department))
        if not standing.member:
            raise PermissionDeniedError(f"{department} is not a member of the consortium", code="not_a_member")
        if not standing.active:
            raise PermissionDeniedError(f"{department} is suspended from the consortium", code="department_suspended")
        if role is not None and standing.roles & role != role:
            raise PermissionDeniedError(
                f"{department} lacks the {', '.join(role.names())} role this action needs", code="missing_role"
            )

    def forget(self) -> None:
        """Drop every remembered answer (after a governance change this process made or saw)."""
        self._known.clear()

    def forget_after(self, operations: list[Any]) -> None:
        """Listener for settled operations: any Consortium change may have changed someone's standing."""
        if any(operation.contract == "Consortium" for operation in operations):
            self._known.clear()

    def _ask_chain(self, department: str) -> _Standing:
        try:
            view = self.consortium.call("getDepartment", encode_department_code(department))
        except ContractRevertError as exc:
            if exc.error_name == "ConsortiumUnknownDepartment":
                return _Standing(member=False, active=False, roles=Role(0))
            raise
        return _Standing(member=True, active=bool(view["active"]), roles=Role(view["roles"]))

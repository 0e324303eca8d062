"""The one way domain services turn a use case into a contract write: a WriteRequest to the tx manager."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from govledger.operations.models import OperationPublic, WriteRequest

if TYPE_CHECKING:
    from govledger.chain.txmanager import TxManager
    from govledger.operations.store import Alongside


class ContractWriter:
    """Submits writes to one contract on behalf of departments, idempotently when given a key."""

    def __init__(self, tx_manager: TxManager, contract: str):
        self.tx_manager = tx_manager
        self.contract = contract

    def submit(
        self,
        department: str,
        kind: str,
        function: str,
        args: list[Any],
        idempotency_key: str | None,
        alongside: Alongside | None = None,
    ) -> OperationPublic:
        return self.tx_manager.submit(
            WriteRequest(
                department=department,
                kind=kind,
                contract=self.contract,
                function=function,
                args=args,
                idempotency_key=idempotency_key,
            ),
            alongside,
        )

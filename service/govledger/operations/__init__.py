"""Operations: every write a department asks for, persisted before anything is sent to the chain."""

from govledger.operations.models import OperationPublic, WriteRequest
from govledger.operations.store import OperationStore

__all__ = ["OperationPublic", "OperationStore", "WriteRequest"]

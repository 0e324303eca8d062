"""A deployed system contract bound to a chain: read it, encode writes for it, decode its logs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from govledger.chain.abi import ContractInterface, DecodedEvent
from govledger.chain.artifacts import load_artifact
from govledger.chain.client import CallReverted, Chain, LogEntry
from govledger.chain.transactions import revert_error
from govledger.errors import ContractRevertError


@dataclass(frozen=True)
class BoundContract:
    """Contract ``name`` (a committed artifact) at ``address`` on ``chain``."""

    name: str
    address: str
    chain: Chain

    @property
    def interface(self) -> ContractInterface:
        return load_artifact(self.name).interface

    def encode(self, function: str, *args: Any) -> bytes:
        """Calldata for a write, to be signed and sent by the transaction manager."""
        return self.interface.encode_call(function, args)

    def call(self, function: str, *args: Any, sender: str | None = None, block: int | str = "latest") -> Any:
        """Run a view function; a revert becomes ContractRevertError with the decoded custom error."""
        data = self.interface.encode_call(function, args)
        try:
            raw = self.chain.call(self.address, data, sender=sender, block=block)
        except CallReverted as exc:
            raise revert_error(self.interface, exc.data) from None
        return self.interface.decode_output(function, raw)

    def call_many(self, function: str, calls: Sequence[Sequence[Any]]) -> list[Any | ContractRevertError]:
        """Run view ``function`` once per argument list, all in one request to the node: each output, or
        the revert of that call (ContractRevertError), in order."""
        interface = self.interface
        raws = self.chain.call_many([(self.address, interface.encode_call(function, args)) for args in calls])
        return [
            revert_error(interface, raw.data)
            if isinstance(raw, CallReverted)
            else interface.decode_output(function, raw)
            for raw in raws
        ]

    def decode_log(self, log: LogEntry) -> DecodedEvent | None:
        """The event of one log, if this contract emitted it."""
        if log.address.lower() != self.address.lower():
            return None
        return self.interface.decode_log(log.topics, log.data)

"""How one contract log becomes one ``chain_events`` row: decoding, department, subject, sequence, JSON args.

Every system contract names its arguments consistently (the acting department is a ``bytes32`` ending in
``Dept`` or called ``deptId``, the audited counter is ``actionSeq``, the thing acted on is an id argument), so
the mapping is a pair of ordered tables rather than code per event. A new contract whose events follow the
same naming needs no change here; a new kind of subject needs one line in ``SUBJECT_ARGS``.

Decoding is prepared once per event (``LogDecoder``) because a new replica catching up reads every event the
chain ever had: ``ContractInterface.decode_log`` is general (any ABI type, through eth_abi) and works out each
parameter's type again for every log, which was most of the indexer's own time per event.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_utils import keccak, to_checksum_address

from govledger.chain.abi import ContractInterface, DecodedEvent, canonical_type, json_friendly
from govledger.chain.client import LogEntry
from govledger.consortium.departments import decode_department_code

#: Arguments naming the department an event is attributed to, most specific first.
DEPARTMENT_ARGS: tuple[str, ...] = ("deptId", "proposerDept", "executorDept", "issuerDept", "ownerDept")

ACTION_SEQ_ARG = "actionSeq"


def _as_text(value: Any) -> str:
    return str(value)


def _as_department(value: Any) -> str:
    return decode_department_code(value) if isinstance(value, bytes) else str(value)


def _as_hex(value: Any) -> str:
    return "0x" + value.hex() if isinstance(value, bytes) else str(value)


#: (argument, subject kind, formatter) in priority order: the first argument an event has names its subject.
#: Ids of things (proposals, records, certificates, grants) come before the accounts and departments that
#: act on them, so ``ProposalApproved(proposalId, deptId)`` is about the proposal, not the approver.
SUBJECT_ARGS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("proposalId", "proposal", _as_text),
    ("recordId", "record", _as_hex),
    ("certId", "certificate", _as_hex),
    ("grantId", "grant", _as_hex),
    ("datasetId", "dataset", _as_hex),
    ("root", "batch", _as_hex),
    ("requestId", "request", _as_hex),
    ("account", "account", _as_text),
    ("module", "module", _as_text),
    ("deptId", "department", _as_department),
)


def is_department_arg(name: str) -> bool:
    """True for arguments that hold a bytes32 department id (``deptId``, ``proposerDept``, ``ownerDeptId``...)."""
    return name in DEPARTMENT_ARGS or name.endswith(("Dept", "DeptId"))


def department_of(args: Mapping[str, Any]) -> str | None:
    """The code of the department an event is attributed to, if it names one."""
    for name in DEPARTMENT_ARGS:
        if isinstance(args.get(name), bytes):
            return decode_department_code(args[name])
    for name, value in args.items():
        if is_department_arg(name) and isinstance(value, bytes):
            return decode_department_code(value)
    return None


def subject_of(contract_name: str, args: Mapping[str, Any]) -> str:
    """A stable id of what the event is about, e.g. ``proposal:12`` or ``department:CS-MSA``.

    Events about the contract as a whole (a threshold change) get ``contract:<name>``.
    """
    for name, kind, formatter in SUBJECT_ARGS:
        if name in args:
            return f"{kind}:{formatter(args[name])}"
    return f"contract:{contract_name}"


def _readable(name: str, value: Any) -> Any:
    if isinstance(value, bytes):
        return decode_department_code(value) if is_department_arg(name) else "0x" + value.hex()
    if isinstance(value, list | tuple | dict):
        return json_friendly(value)
    return value


def args_json(args: Mapping[str, Any]) -> str:
    """The event arguments as JSON, with department ids shown as their codes."""
    return json.dumps(
        {name: _readable(name, value) for name, value in args.items()}, sort_keys=True, ensure_ascii=False
    )


def event_row(
    *, chain_id: int, contract_name: str, log: LogEntry, event: DecodedEvent, block_timestamp: int
) -> dict[str, Any]:
    """The ``chain_events`` column values for one decoded log."""
    action_seq = event.args.get(ACTION_SEQ_ARG)
    return {
        "chain_id": chain_id,
        "contract_address": log.address,
        "contract_name": contract_name,
        "event_name": event.name,
        "block_number": log.block_number,
        "block_hash": log.block_hash,
        "tx_hash": log.tx_hash,
        "log_index": log.log_index,
        "department": department_of(event.args),
        "subject_id": subject_of(contract_name, event.args),
        "action_seq": int(action_seq) if action_seq is not None else None,
        "args_json": args_json(event.args),
        "block_timestamp": block_timestamp,
    }


# ---------------------------------------------------------------- decoding logs

_Word = Callable[[bytes], Any]


class _NotAWord(Exception):
    """A 32-byte word that is not a well-formed value of its type: left to eth_abi, which says why."""


def _uint(bits: int) -> _Word:
    def read(word: bytes) -> int:
        value = int.from_bytes(word, "big")
        if value >> bits:
            raise _NotAWord
        return value

    return read


def _int(bits: int) -> _Word:
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1

    def read(word: bytes) -> int:
        value = int.from_bytes(word, "big", signed=True)
        if not low <= value <= high:
            raise _NotAWord
        return value

    return read


def _fixed_bytes(size: int) -> _Word:
    def read(word: bytes) -> bytes:
        if any(word[size:]):
            raise _NotAWord
        return word[:size]

    return read


@lru_cache(maxsize=4096)
def _checksum(raw: bytes) -> str:
    # Few distinct accounts act on a permissioned chain; the checksum's keccak is paid once per account.
    return str(to_checksum_address(raw))


def _address(word: bytes) -> str:
    if any(word[:12]):
        raise _NotAWord
    return _checksum(word[12:])


def _bool(word: bytes) -> bool:
    value = int.from_bytes(word, "big")
    if value > 1:
        raise _NotAWord
    return value == 1


def _word_reader(abi_type: str) -> _Word | None:
    """How to read a value of ``abi_type`` from its one 32-byte word; None for types that are not one word."""
    if abi_type.startswith("uint") and abi_type[4:].isdigit():
        return _uint(int(abi_type[4:]))
    if abi_type.startswith("int") and abi_type[3:].isdigit():
        return _int(int(abi_type[3:]))
    if abi_type.startswith("bytes") and abi_type[5:].isdigit():
        return _fixed_bytes(int(abi_type[5:]))
    if abi_type == "address":
        return _address
    if abi_type == "bool":
        return _bool
    return None


def _hashed_topic(topic: bytes) -> str:
    # Indexed strings, bytes, arrays and structs are stored as their hash only.
    return "0x" + topic.hex()


@dataclass(frozen=True)
class _PreparedEvent:
    """One event of one contract, its argument readers worked out once; ``None`` readers mean "use eth_abi"."""

    contract_name: str
    interface: ContractInterface
    name: str
    indexed: tuple[tuple[str, _Word], ...]
    data: tuple[tuple[str, _Word], ...] | None

    def _fits(self, topics: Sequence[bytes], data: bytes) -> bool:
        """Whether the log has exactly the words this event's fast path reads."""
        return (
            self.data is not None
            and len(topics) == len(self.indexed) + 1
            and len(data) == 32 * len(self.data)
            and all(len(topic) == 32 for topic in topics)
        )

    def decode(self, topics: Sequence[bytes], data: bytes) -> DecodedEvent:
        if self.data is not None and self._fits(topics, data):
            try:
                args = {name: read(topic) for (name, read), topic in zip(self.indexed, topics[1:], strict=True)}
                for position, (name, read) in enumerate(self.data):
                    args[name] = read(data[32 * position : 32 * position + 32])
                return DecodedEvent(self.name, args)
            except _NotAWord:
                pass
        decoded = self.interface.decode_log(topics, data)
        assert decoded is not None  # the topic is one of this contract's events
        return decoded


def _prepare(
    contract_name: str, interface: ContractInterface, entry: Mapping[str, Any]
) -> tuple[bytes, _PreparedEvent]:
    inputs = entry.get("inputs", ())
    types = [canonical_type(param) for param in inputs]
    topic = keccak(text=f"{entry['name']}({','.join(types)})")
    indexed: list[tuple[str, _Word]] = []
    data: list[tuple[str, _Word]] | None = []
    for param, abi_type in zip(inputs, types, strict=True):
        reader = _word_reader(abi_type)
        if param.get("indexed"):
            hashed = abi_type in ("string", "bytes") or abi_type.endswith("]") or abi_type.startswith("(")
            if reader is None and not hashed:
                data = None  # a static type that is not one word (fixed-point): eth_abi reads it
            indexed.append((param["name"], reader or _hashed_topic))
        elif reader is None or data is None:
            data = None  # a dynamic or multi-word value in the data: the whole event goes through eth_abi
        else:
            data.append((param["name"], reader))
    prepared = _PreparedEvent(
        contract_name, interface, entry["name"], tuple(indexed), tuple(data) if data is not None else None
    )
    return topic, prepared


class LogDecoder:
    """Decodes the logs of a set of contracts, each event's layout prepared once (see the module docstring).

    Events whose arguments are all one 32-byte word each (bytes32, uintN, intN, address, bool: every
    high-volume event of the system contracts) are read straight from their words. Any other event, or any
    word that is not a well-formed value of its type, goes through ``ContractInterface.decode_log``, so the
    result, or the error, is always the same as that of the contract's own interface.
    """

    def __init__(self, contracts: Mapping[str, tuple[str, ContractInterface]]):
        """``contracts`` maps each contract address to its name and interface."""
        self._events: dict[tuple[str, bytes], _PreparedEvent] = {}
        for address, (contract_name, interface) in contracts.items():
            for entry in interface.abi:
                if entry.get("type") == "event":
                    topic, prepared = _prepare(contract_name, interface, entry)
                    self._events[(address.lower(), topic)] = prepared

    def decode(self, log: LogEntry) -> tuple[str, DecodedEvent] | None:
        """(contract name, event) of one log; None for a log of another contract or an unknown event."""
        if not log.topics:
            return None
        prepared = self._events.get((log.address.lower(), bytes(log.topics[0])))
        if prepared is None:
            return None
        return prepared.contract_name, prepared.decode(log.topics, log.data)

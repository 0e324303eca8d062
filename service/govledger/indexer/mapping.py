"""How one decoded contract event becomes one ``chain_events`` row: department, subject, sequence, JSON args.

Every system contract names its arguments consistently (the acting department is a ``bytes32`` ending in
``Dept`` or called ``deptId``, the audited counter is ``actionSeq``, the thing acted on is an id argument), so
the mapping is a pair of ordered tables rather than code per event. A new contract whose events follow the
same naming needs no change here; a new kind of subject needs one line in ``SUBJECT_ARGS``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from govledger.chain.abi import DecodedEvent, json_friendly
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


def args_json(args: Mapping[str, Any]) -> str:
    """The event arguments as JSON, with department ids shown as their codes."""
    readable = {
        name: decode_department_code(value) if is_department_arg(name) and isinstance(value, bytes) else value
        for name, value in args.items()
    }
    return json.dumps(json_friendly(readable), sort_keys=True, ensure_ascii=False)


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

"""Does the index say what the chain says? Re-read the events from the node and compare, row by row.

The system contracts' logs are read again with ``eth_getLogs`` over the deployment's addresses, in block
windows that shrink when the node refuses a range (``indexer.window``), and decoded with the published
ABIs exactly as the indexer decodes them (``indexer.mapping``). Within each window the index rows of the
chain are compared with them by (transaction hash, log index):

    missing   on the chain, not in the index
    extra     in the index, not on the chain (also a row whose block number was moved out of its window)
    altered   in both, but a stored field differs: block, block hash or time, contract, event name,
              department, subject, action number or any decoded argument

Memory holds one window of logs and rows at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, RowMapping, select

from govledger.audit.filters import EVENTS
from govledger.chain.client import Chain, LogEntry
from govledger.chain.contracts import BoundContract
from govledger.chain.deploy import Deployment
from govledger.db.engine import session_scope
from govledger.errors import ChainError, ChainUnavailableError, ValidationError
from govledger.indexer.mapping import event_row
from govledger.indexer.window import BlockWindow

DEFAULT_WINDOW_BLOCKS = 2000
#: The most problems of each kind listed in one report; the counts are always exact.
MAX_LISTED = 1000

#: Stored fields compared with the chain, and the name a report gives each.
_COMPARED: dict[str, str] = {
    "contract_address": "contract_address",
    "contract_name": "contract",
    "event_name": "event",
    "block_number": "block_number",
    "block_hash": "block_hash",
    "block_timestamp": "block_timestamp",
    "department": "department",
    "subject_id": "subject",
    "action_seq": "action_seq",
    "args_json": "args",
}


@dataclass
class IntegrityReport:
    from_block: int
    to_block: int
    checked_events: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    extra: list[dict[str, Any]] = field(default_factory=list)
    altered: list[dict[str, Any]] = field(default_factory=list)
    missing_count: int = 0
    extra_count: int = 0
    altered_count: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing_count or self.extra_count or self.altered_count)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def verify_index(
    chain: Chain,
    engine: Engine,
    deployment: Deployment,
    *,
    from_block: int,
    to_block: int,
    window_blocks: int = DEFAULT_WINDOW_BLOCKS,
    progress: Callable[[int], Any] | None = None,
) -> IntegrityReport:
    """Compare the index of chain ``chain`` with its logs in blocks ``from_block``..``to_block``."""
    if from_block > to_block + 1 or from_block < 0:
        raise ValidationError(f"the block range {from_block}..{to_block} is empty or reversed")
    contracts = {c.address.lower(): deployment.bind(chain, name) for name, c in deployment.contracts.items()}
    report = IntegrityReport(from_block=from_block, to_block=to_block)
    window = BlockWindow(window_blocks)
    first = from_block
    while first <= to_block:
        last, logs = _read_logs(chain, list(contracts), first, to_block, window)
        on_chain = _expected_rows(chain, contracts, logs)
        in_index = _stored_rows(engine, chain.chain_id, first, last)
        _compare(report, on_chain, in_index)
        report.checked_events += len(on_chain)
        if progress is not None:
            progress(last - first + 1)
        first = last + 1
    return report


def _read_logs(
    chain: Chain, addresses: list[str], first: int, target: int, window: BlockWindow
) -> tuple[int, list[LogEntry]]:
    while True:
        last = min(target, first + window.size - 1)
        try:
            logs = chain.get_logs(addresses, first, last)
        except ChainUnavailableError:
            raise
        except ChainError:
            if not window.shrink():
                raise
            continue
        window.succeeded(last - first + 1, len(logs))
        return last, logs


_Key = tuple[str, int]


def _expected_rows(chain: Chain, contracts: Mapping[str, BoundContract], logs: list[LogEntry]) -> dict[_Key, dict]:
    timestamps = {number: chain.get_block(number).timestamp for number in {log.block_number for log in logs}}
    rows: dict[_Key, dict] = {}
    for log in logs:
        contract = contracts.get(log.address.lower())
        event = contract.decode_log(log) if contract is not None else None
        if contract is None or event is None:
            continue  # not a system event: the indexer skips it too
        row = event_row(
            chain_id=chain.chain_id,
            contract_name=contract.name,
            log=log,
            event=event,
            block_timestamp=timestamps[log.block_number],
        )
        rows[(log.tx_hash.lower(), log.log_index)] = row
    return rows


def _stored_rows(engine: Engine, chain_id: int, first: int, last: int) -> dict[_Key, RowMapping]:
    with session_scope(engine, read_only=True) as session:
        rows = session.execute(
            select(EVENTS).where(
                EVENTS.c.chain_id == chain_id, EVENTS.c.block_number >= first, EVENTS.c.block_number <= last
            )
        ).mappings()
        return {(str(row["tx_hash"]).lower(), int(row["log_index"])): row for row in rows}


def _compare(report: IntegrityReport, on_chain: dict[_Key, dict], in_index: dict[_Key, RowMapping]) -> None:
    for key in sorted(on_chain.keys() - in_index.keys(), key=lambda k: (on_chain[k]["block_number"], k[1])):
        report.missing_count += 1
        if len(report.missing) < MAX_LISTED:
            report.missing.append(_anchor(on_chain[key]))
    for key in sorted(in_index.keys() - on_chain.keys(), key=lambda k: (in_index[k]["block_number"], k[1])):
        report.extra_count += 1
        if len(report.extra) < MAX_LISTED:
            report.extra.append({**_anchor(in_index[key]), "id": in_index[key]["id"]})
    for key in sorted(on_chain.keys() & in_index.keys(), key=lambda k: (on_chain[k]["block_number"], k[1])):
        differences = _differences(in_index[key], on_chain[key])
        if differences:
            report.altered_count += 1
            if len(report.altered) < MAX_LISTED:
                report.altered.append({**_anchor(on_chain[key]), "id": in_index[key]["id"], "differences": differences})


def _anchor(row: Mapping[str, Any] | RowMapping) -> dict[str, Any]:
    return {
        "block_number": row["block_number"],
        "log_index": row["log_index"],
        "tx_hash": row["tx_hash"],
        "contract": row["contract_name"],
        "event": row["event_name"],
    }


def _differences(stored: RowMapping, expected: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    differences: dict[str, dict[str, Any]] = {}
    for column, name in _COMPARED.items():
        index_value, chain_value = _comparable(column, stored[column]), _comparable(column, expected[column])
        if index_value != chain_value:
            differences[name] = {"index": index_value, "chain": chain_value}
    return differences


def _comparable(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column == "args_json":
        try:
            return json.loads(value)
        except ValueError:
            return value  # not even JSON any more: shown as stored
    if column in ("contract_address", "block_hash"):
        return str(value).lower()
    return value

"""Exports of a filtered range of events as CSV or JSON Lines, produced page by page.

The output is a generator of text chunks, one per keyset page: a million events stream through one
page of memory, to an HTTP response or a file alike. Both formats carry exactly the fields of the
history API; in CSV the decoded arguments are one JSON column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from sqlalchemy import RowMapping

from govledger.audit.queries import event_public
from govledger.errors import ValidationError

FORMATS: dict[str, str] = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}

CSV_COLUMNS = (
    "chain_id",
    "block_number",
    "log_index",
    "block_time",
    "final",
    "contract",
    "contract_address",
    "event",
    "department",
    "action_seq",
    "subject",
    "subject_label",
    "tx_hash",
    "block_hash",
    "args",
)


def check_format(export_format: str) -> str:
    if export_format not in FORMATS:
        raise ValidationError(f"unknown export format {export_format!r}; use csv or jsonl")
    return export_format


def export_chunks(
    pages: Iterable[list[RowMapping]],
    export_format: str,
    *,
    final_block: int,
    progress: Callable[[int], Any] | None = None,
) -> Iterator[str]:
    """The export text, one chunk per page of events (CSV starts with its header line)."""
    render = _csv_chunk if check_format(export_format) == "csv" else _jsonl_chunk
    if export_format == "csv":
        yield _csv_line(CSV_COLUMNS)
    for rows in pages:
        yield render([event_public(row, final_block) for row in rows])
        if progress is not None:
            progress(len(rows))


def _jsonl_chunk(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n" for event in events)


def _csv_chunk(events: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for event in events:
        values = {**event, "args": json.dumps(event["args"], ensure_ascii=False, separators=(",", ":"))}
        writer.writerow("" if values[column] is None else values[column] for column in CSV_COLUMNS)
    return buffer.getvalue()


def _csv_line(values: Iterable[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()

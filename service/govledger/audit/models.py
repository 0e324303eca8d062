"""The audit API's response shapes (notes/AUDIT_API.md): what auditors and the console read."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class EventPublic(BaseModel):
    chain_id: int
    contract: str
    contract_address: str
    event: str
    department: str | None
    subject: str | None
    subject_label: str | None
    action_seq: int | None
    args: dict[str, Any]
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    block_time: str | None
    final: bool


class EventPagePublic(BaseModel):
    events: list[EventPublic]
    next_cursor: str | None
    final_block: int


class TimelinePublic(BaseModel):
    subject: str
    events: list[EventPublic]
    next_cursor: str | None = None


class DepartmentActivityPublic(BaseModel):
    department: str
    name: str
    action_count_on_chain: int
    indexed_actions: int
    last_action_seq: int
    complete: bool
    missing: list[int]


class CompletenessPublic(BaseModel):
    department: str
    action_count_on_chain: int
    indexed_actions: int
    last_action_seq: int
    missing: list[int]
    missing_count: int
    duplicates: list[int]
    complete: bool
    checked_through_block: int


class ActivitySeries(BaseModel):
    department: str
    counts: list[int]


class ActivityPublic(BaseModel):
    days: list[str]
    series: list[ActivitySeries]


class IntegrityPublic(BaseModel):
    from_block: int
    to_block: int
    checked_events: int
    missing: list[dict[str, Any]]
    extra: list[dict[str, Any]]
    altered: list[dict[str, Any]]
    missing_count: int
    extra_count: int
    altered_count: int
    ok: bool

"""A test-only stand-in for the auditor API (/api/v1/audit/..., /work/notes/AUDIT_API.md), in its JSON shapes.

It holds a fixed ledger of 120 events from three departments in blocks 100-159 (blocks up to FINAL_BLOCK are
final), answers the documented filters with keyset pagination, and knows one department with gaps in its
action sequence and an integrity report with one missing and one altered row. Only AUDITOR_KEY is accepted:
DEPARTMENT_KEY is a valid key without the auditor role (403), anything else is 401. Every request is recorded
(path, query, Authorization header) so tests can check what the page sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

AUDITOR_KEY = "glk_auditor_CS-AUD_0123456789abcdef"
DEPARTMENT_KEY = "glk_user_CS-MSA_0123456789abcdef"
CHAIN_ID = 131277322940537
FINAL_BLOCK = 150
FIRST_BLOCK = 100
EVENT_COUNT = 120
START_TIME = datetime(2026, 11, 1, tzinfo=UTC)
ACTIVITY_END = date(2026, 11, 30)
ACTIVITY_DAYS = 30
CONTRACTS = {
    "CS-MSA": ("CertificateRegistry", "0x" + "c1" * 20),
    "CS-HRSS": ("RecordRegistry", "0x" + "a1" * 20),
    "CS-DRB": ("SharingRegistry", "0x" + "b1" * 20),
}
DEPARTMENT_NAMES = {
    "CS-MSA": "长沙市市场监督管理局",
    "CS-HRSS": "长沙市人力资源和社会保障局",
    "CS-DRB": "长沙市数据资源管理局",
    "CS-AUD": "长沙市审计局",
}
#: CS-HRSS's actions 7 and 9 are on chain but not in the index.
HRSS_MISSING = [7, 9]
CSV_COLUMNS = [
    "block_number",
    "log_index",
    "block_time",
    "department",
    "event",
    "subject",
    "subject_label",
    "action_seq",
    "tx_hash",
    "final",
]


def _hex(text: str, size: int = 32) -> str:
    return "0x" + hashlib.sha256(text.encode()).hexdigest()[: size * 2]


def _subject(department: str, number: int) -> tuple[str, str, str]:
    """The (subject, label, first event) a department's number-th subject has."""
    if department == "CS-MSA":
        return (
            f"certificate:{_hex(f'MSA-2026-{number:04d}')}",
            f"certificate MSA-2026-{number:04d}",
            "CertificateIssued",
        )
    if department == "CS-HRSS":
        return f"record:{_hex(f'R-{number:04d}')}", f"record R-{number:04d}", "RecordAnchored"
    return f"grant:{_hex(f'G-{number:04d}')}", f"grant G-{number:04d}", "GrantIssued"


LATER_EVENTS = {
    "CertificateIssued": ["CertificateSuspended", "CertificateReinstated"],
    "RecordAnchored": ["RecordVersionAppended", "VersionEndorsed"],
    "GrantIssued": ["DataUseLogged", "DataUseLogged"],
}


def _build_events() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    sequences = dict.fromkeys(CONTRACTS, 0)
    seen: dict[str, int] = {}
    for index in range(EVENT_COUNT):
        department = list(CONTRACTS)[index % 3]
        sequences[department] += 1
        sequence = sequences[department]
        subject, label, first = _subject(department, 1 + (sequence - 1) % 5)
        occurrence = seen.get(subject, 0)
        seen[subject] = occurrence + 1
        name = first if occurrence == 0 else LATER_EVENTS[first][occurrence % 2]
        block = FIRST_BLOCK + index // 2
        contract, address = CONTRACTS[department]
        events.append(
            {
                "chain_id": CHAIN_ID,
                "contract": contract,
                "contract_address": address,
                "event": name,
                "department": department,
                "subject": subject,
                "subject_label": label,
                "action_seq": sequence,
                "args": {"actionSeq": sequence},
                "block_number": block,
                "block_hash": _hex(f"block {block}"),
                "tx_hash": _hex(f"tx {index}"),
                "log_index": index % 2,
                "block_time": (START_TIME + timedelta(hours=index)).isoformat().replace("+00:00", "Z"),
                "final": block <= FINAL_BLOCK,
            }
        )
    return events


EVENTS = _build_events()


def activity_counts(department_index: int, day_index: int) -> int:
    """The canned actions per day: a fixed pattern with some empty days."""
    return (day_index * 7 + department_index * 3) % 5


ACTIVITY: dict[str, Any] = {
    "days": [(ACTIVITY_END - timedelta(days=ACTIVITY_DAYS - 1 - day)).isoformat() for day in range(ACTIVITY_DAYS)],
    "series": [
        {"department": department, "counts": [activity_counts(position, day) for day in range(ACTIVITY_DAYS)]}
        for position, department in enumerate(CONTRACTS)
    ],
}


def _departments() -> list[dict[str, Any]]:
    rows = []
    for code, name in DEPARTMENT_NAMES.items():
        on_chain = sum(1 for event in EVENTS if event["department"] == code)
        missing = HRSS_MISSING if code == "CS-HRSS" else []
        rows.append(
            {
                "department": code,
                "name": name,
                "action_count_on_chain": on_chain,
                "indexed_actions": on_chain - len(missing),
                "last_action_seq": on_chain,
                "complete": not missing,
                "missing": missing,
            }
        )
    return rows


DEPARTMENTS = _departments()
#: The planted integrity problems: (block, log index) of a row missing from the index and of an altered one.
MISSING_ROW = (120, 1)
ALTERED_ROW = (125, 0)


def _split(values: list[str]) -> set[str]:
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def matching_events(params: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The canned events passing the /events filters, in (block, log index) order."""

    def first(name: str) -> str | None:
        values = params.get(name) or []
        return values[0] if values else None

    names = _split(params.get("event", []))
    departments = _split(params.get("department", []))
    contracts = _split(params.get("contract", []))
    subject = first("subject")
    from_time, to_time = first("from_time"), first("to_time")
    from_block, to_block = first("from_block"), first("to_block")
    found = []
    for event in EVENTS:
        if names and event["event"] not in names:
            continue
        if departments and event["department"] not in departments:
            continue
        if contracts and event["contract"] not in contracts:
            continue
        if subject and event["subject"] != subject:
            continue
        if from_time and _time(event["block_time"]) < _time(from_time):
            continue
        if to_time and _time(event["block_time"]) > _time(to_time):
            continue
        if from_block and event["block_number"] < int(from_block):
            continue
        if to_block and event["block_number"] > int(to_block):
            continue
        found.append(event)
    return found


def csv_export(events: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(["" if event[column] is None else event[column] for column in CSV_COLUMNS])
    return out.getvalue()


def jsonl_export(events: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events)


def _row(event: dict[str, Any]) -> dict[str, Any]:
    keys = ("block_number", "log_index", "tx_hash", "event", "contract")
    return {key: event[key] for key in keys}


@dataclass
class CannedAuditApi:
    requests: list[dict[str, Any]] = field(default_factory=list)
    router: APIRouter = field(default_factory=APIRouter)
    #: When set, even the auditor key is refused (401): a key revoked while the console is open.
    revoked: bool = False

    def __post_init__(self) -> None:
        routes: dict[str, Callable[..., Any]] = {
            "/api/v1/audit/events": self.events,
            "/api/v1/audit/timeline/{kind}/{subject_id}": self.timeline,
            "/api/v1/audit/departments": self.departments,
            "/api/v1/audit/activity": self.activity,
            "/api/v1/audit/export": self.export,
            "/api/v1/audit/integrity": self.integrity,
        }
        for path, endpoint in routes.items():
            self.router.add_api_route(path, endpoint, methods=["GET"])

    def calls(self, path: str) -> list[dict[str, Any]]:
        return [call for call in self.requests if call["path"] == path]

    def _refusal(self, request: Request) -> JSONResponse | None:
        params: dict[str, list[str]] = {}
        for name, value in request.query_params.multi_items():
            params.setdefault(name, []).append(value)
        authorization = request.headers.get("authorization")
        self.requests.append({"path": request.url.path, "query": params, "authorization": authorization})
        if authorization == f"Bearer {AUDITOR_KEY}" and not self.revoked:
            return None
        if authorization == f"Bearer {DEPARTMENT_KEY}":
            return _error(403, "permission_denied", "this API key has no auditor role")
        return _error(401, "authentication_failed", "missing or invalid API key")

    async def events(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused:
            return refused
        params = self.requests[-1]["query"]
        found = matching_events(params)
        limit = int(params.get("limit", ["100"])[0])
        if "cursor" in params:
            block, log_index = (int(part) for part in params["cursor"][0].split(":"))
            found = [event for event in found if (event["block_number"], event["log_index"]) > (block, log_index)]
        page = found[:limit]
        more = len(found) > limit
        cursor = f"{page[-1]['block_number']}:{page[-1]['log_index']}" if more else None
        return JSONResponse({"events": page, "next_cursor": cursor, "final_block": FINAL_BLOCK})

    async def timeline(self, request: Request, kind: str, subject_id: str) -> Response:
        refused = self._refusal(request)
        if refused:
            return refused
        subject = f"{kind}:{subject_id}"
        return JSONResponse({"subject": subject, "events": [event for event in EVENTS if event["subject"] == subject]})

    async def departments(self, request: Request) -> Response:
        return self._refusal(request) or JSONResponse(DEPARTMENTS)

    async def activity(self, request: Request) -> Response:
        return self._refusal(request) or JSONResponse(ACTIVITY)

    async def export(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused:
            return refused
        params = self.requests[-1]["query"]
        found = matching_events(params)
        if params.get("format", ["csv"])[0] == "jsonl":
            return Response(jsonl_export(found), media_type="application/x-ndjson")
        return Response(csv_export(found), media_type="text/csv; charset=utf-8")

    async def integrity(self, request: Request) -> Response:
        refused = self._refusal(request)
        if refused:
            return refused
        params = self.requests[-1]["query"]
        from_block = int(params.get("from_block", [str(FIRST_BLOCK)])[0])
        to_block = int(params.get("to_block", [str(EVENTS[-1]["block_number"])])[0])
        checked = [event for event in EVENTS if from_block <= event["block_number"] <= to_block]
        by_position = {(event["block_number"], event["log_index"]): event for event in checked}
        missing = [_row(by_position[MISSING_ROW])] if MISSING_ROW in by_position else []
        altered = [_row(by_position[ALTERED_ROW])] if ALTERED_ROW in by_position else []
        report = {
            "from_block": from_block,
            "to_block": to_block,
            "checked_events": len(checked),
            "missing": missing,
            "extra": [],
            "altered": altered,
            # The real service adds these: its lists may stop at the first rows of a long report.
            "missing_count": len(missing),
            "extra_count": 0,
            "altered_count": len(altered),
            "ok": not (missing or altered),
        }
        return JSONResponse(report)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)

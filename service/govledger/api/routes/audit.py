"""The auditors' read-only API: event history, timelines, completeness, activity, exports and integrity."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import StreamingResponse

from govledger.api.deps import AuditorDep, ServiceRuntimeDep
from govledger.audit import Auditor, EventFilters
from govledger.audit.activity import MAX_DAYS
from govledger.audit.export import FORMATS
from govledger.audit.models import (
    ActivityPublic,
    CompletenessPublic,
    DepartmentActivityPublic,
    EventPagePublic,
    IntegrityPublic,
    TimelinePublic,
)
from govledger.audit.queries import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from govledger.audit.timeline import TIMELINE_KINDS

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def get_auditor(runtime: ServiceRuntimeDep) -> Auditor:
    return Auditor(runtime.engine, runtime.chain, runtime.deployment, runtime.indexer)


AuditDep = Annotated[Auditor, Depends(get_auditor)]
Cursor = Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page.")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
# Bounded so that a huge number is a 422, not an overflow in the database driver (a 500).
Block = Annotated[int | None, Query(ge=0, le=2**63 - 1)]


def event_filters(
    event: Annotated[list[str] | None, Query(description="Event name(s), repeated or comma-separated.")] = None,
    department: Annotated[list[str] | None, Query(description="Department code(s).")] = None,
    contract: Annotated[list[str] | None, Query(description="Contract name(s) or address(es).")] = None,
    subject: Annotated[str | None, Query(description="kind:id, e.g. record:R-0001 or grant:G-1.")] = None,
    from_time: Annotated[str | None, Query(description="ISO 8601 or Unix seconds, inclusive.")] = None,
    to_time: Annotated[str | None, Query(description="ISO 8601 or Unix seconds, exclusive.")] = None,
    from_block: Block = None,
    to_block: Block = None,
) -> EventFilters:
    return EventFilters.parse(
        events=event,
        departments=department,
        contracts=contract,
        subject=subject,
        from_time=from_time,
        to_time=to_time,
        from_block=from_block,
        to_block=to_block,
    )


FiltersDep = Annotated[EventFilters, Depends(event_filters)]


@router.get("/events", response_model=EventPagePublic)
def list_events(
    _: AuditorDep, auditor: AuditDep, filters: FiltersDep, cursor: Cursor = None, limit: Limit = DEFAULT_PAGE_SIZE
):
    """Indexed events in chain order (block, log index), filtered, one keyset page at a time."""
    page = auditor.events(filters, cursor=cursor, limit=limit)
    return {"events": page.events, "next_cursor": page.next_cursor, "final_block": page.final_block}


@router.get("/timeline/{kind}/{identifier}", response_model=TimelinePublic)
def timeline(
    kind: Annotated[str, Path(pattern=f"^({'|'.join(TIMELINE_KINDS)})$", description="What the timeline is of.")],
    identifier: Annotated[str, Path(max_length=80, description="Its id: R-0001, 0x-root, a proposal number...")],
    _: AuditorDep,
    auditor: AuditDep,
    cursor: Cursor = None,
    limit: Limit = MAX_PAGE_SIZE,
):
    """One subject's whole story: a record's versions and endorsements, a certificate's lifecycle, a grant's uses."""
    subject, page = auditor.timeline(kind, identifier, cursor=cursor, limit=limit)
    return {"subject": subject, "events": page.events, "next_cursor": page.next_cursor}


@router.get("/departments", response_model=list[DepartmentActivityPublic])
def departments(_: AuditorDep, auditor: AuditDep):
    """Each member department's action count on chain and whether the index holds every one of its actions."""
    return auditor.departments()


@router.get("/departments/{code}/completeness", response_model=CompletenessPublic)
def completeness(code: Annotated[str, Path(max_length=32)], _: AuditorDep, auditor: AuditDep):
    """The department's action sequence numbers 1..actionCount: any missing or duplicated in the index."""
    return auditor.completeness(code).to_dict()


@router.get("/activity", response_model=ActivityPublic)
def activity(_: AuditorDep, auditor: AuditDep, days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = 30):
    """Events per day and department over the last ``days`` days (UTC)."""
    return auditor.activity(days)


@router.get("/export", response_class=StreamingResponse)
def export(
    _: AuditorDep,
    auditor: AuditDep,
    filters: FiltersDep,
    format: Annotated[Literal["csv", "jsonl"], Query(description="csv or jsonl (JSON Lines).")] = "jsonl",
) -> StreamingResponse:
    """The filtered events as CSV or JSON Lines, streamed page by page however many there are."""
    chunks = auditor.export(filters, format)
    return StreamingResponse(
        chunks,
        media_type=FORMATS[format],
        headers={"Content-Disposition": f'attachment; filename="govledger-events.{format}"'},
    )


@router.get("/integrity", response_model=IntegrityPublic)
def integrity(_: AuditorDep, auditor: AuditDep, from_block: Block = None, to_block: Block = None):
    """Re-read the events from the node and compare them with the index: missing, extra and altered rows."""
    return auditor.integrity(from_block, to_block).to_dict()

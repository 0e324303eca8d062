"""The auditor's questions, answered from the index and checked against the chain: one object per process.

``Auditor`` ties the read-only audit queries to one chain, deployment and indexer: what is final, the
history pages, timelines, each department's completeness and the integrity check. The API routes and
the CLI only parse input and call it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Engine

from govledger.audit.activity import daily_activity
from govledger.audit.completeness import Completeness, check_sequence
from govledger.audit.cursor import decode_cursor, encode_cursor
from govledger.audit.export import export_chunks
from govledger.audit.filters import EVENTS, EventFilters, filter_conditions
from govledger.audit.integrity import IntegrityReport, verify_index
from govledger.audit.queries import DEFAULT_PAGE_SIZE, event_public, iter_pages, read_page
from govledger.audit.timeline import timeline_conditions
from govledger.chain.client import Chain
from govledger.chain.deploy import Deployment
from govledger.consortium.departments import decode_department_code, encode_department_code
from govledger.errors import NotFoundError, ValidationError
from govledger.indexer import Indexer, indexed_final_block


@dataclass(frozen=True)
class EventPage:
    events: list[dict[str, Any]]
    next_cursor: str | None
    final_block: int


class Auditor:
    """Read-only audit of the index of ``indexer`` (its chain, deployment and database)."""

    def __init__(self, engine: Engine, chain: Chain, deployment: Deployment, indexer: Indexer):
        self.engine = engine
        self.chain = chain
        self.deployment = deployment
        self.indexer = indexer

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    def final_block(self) -> int:
        """The highest block that is both indexed and final (below the deployment: nothing is yet)."""
        indexer = self.indexer
        final = indexed_final_block(
            self.engine, name=indexer.name, head=self.chain.block_number(), confirmations=indexer.confirmations
        )
        return final if final is not None else self.deployment.start_block - 1

    # ------------------------------------------------------------ history

    def events(self, filters: EventFilters, *, cursor: str | None, limit: int = DEFAULT_PAGE_SIZE) -> EventPage:
        return self._page(filter_conditions(self.engine, self.chain_id, filters), cursor, limit)

    def timeline(self, kind: str, identifier: str, *, cursor: str | None, limit: int) -> tuple[str, EventPage]:
        subject, condition = timeline_conditions(self.engine, self.chain_id, kind, identifier)
        return subject, self._page([self._on_this_chain(), condition], cursor, limit)

    def export(
        self, filters: EventFilters, export_format: str, *, progress: Callable[[int], Any] | None = None
    ) -> Iterator[str]:
        conditions = filter_conditions(self.engine, self.chain_id, filters)
        return export_chunks(
            iter_pages(self.engine, conditions), export_format, final_block=self.final_block(), progress=progress
        )

    def activity(self, days: int) -> dict[str, Any]:
        return daily_activity(self.engine, self.chain_id, days)

    def _page(self, conditions: list[ColumnElement[bool]], cursor: str | None, limit: int) -> EventPage:
        final_block = self.final_block()
        page = read_page(self.engine, conditions, start_after=decode_cursor(cursor) if cursor else None, limit=limit)
        return EventPage(
            events=[event_public(row, final_block) for row in page.rows],
            next_cursor=encode_cursor(page.next_position) if page.next_position else None,
            final_block=final_block,
        )

    def _on_this_chain(self) -> ColumnElement[bool]:
        condition: ColumnElement[bool] = EVENTS.c.chain_id == self.chain_id
        return condition

    # ------------------------------------------------------------ completeness

    def departments(self) -> list[dict[str, Any]]:
        """Every member department with its completeness, as the Consortium contract lists them."""
        consortium = self.deployment.bind(self.chain, "Consortium")
        checked_through = self.final_block()
        result = []
        for raw in consortium.call("departmentIds", block=checked_through):
            code = decode_department_code(raw)
            name = consortium.call("getDepartment", raw, block=checked_through)["name"]
            report = self._completeness(code, checked_through)
            result.append(
                {
                    "department": code,
                    "name": name,
                    "action_count_on_chain": report.action_count_on_chain,
                    "indexed_actions": report.indexed_actions,
                    "last_action_seq": report.last_action_seq,
                    "complete": report.complete,
                    "missing": report.missing,
                }
            )
        return result

    def completeness(self, department: str) -> Completeness:
        checked_through = self.final_block()
        consortium = self.deployment.bind(self.chain, "Consortium")
        try:
            raw = encode_department_code(department)
        except (ValidationError, ValueError):
            raise NotFoundError(f"no department {department!r}", code="department_not_found") from None
        if raw not in consortium.call("departmentIds", block=checked_through):
            raise NotFoundError(f"no department {department!r} in the consortium", code="department_not_found")
        return self._completeness(department, checked_through)

    def _completeness(self, department: str, checked_through: int) -> Completeness:
        consortium = self.deployment.bind(self.chain, "Consortium")
        if checked_through < self.deployment.start_block:
            count = 0
        else:
            count = int(consortium.call("actionCount", encode_department_code(department), block=checked_through))
        return check_sequence(self.engine, self.chain_id, department, count, checked_through_block=checked_through)

    # ------------------------------------------------------------ integrity

    def integrity(
        self,
        from_block: int | None = None,
        to_block: int | None = None,
        *,
        progress: Callable[[int], Any] | None = None,
    ) -> IntegrityReport:
        """Compare the index with the chain's logs; the range defaults to the deployment..the final block."""
        final_block = self.final_block()
        first = self.deployment.start_block if from_block is None else max(from_block, 0)
        # Above the final indexed block the index is legitimately behind or may still be re-organised.
        last = final_block if to_block is None else min(to_block, final_block)
        if first > last:
            return IntegrityReport(from_block=first, to_block=last)
        return verify_index(
            self.chain, self.engine, self.deployment, from_block=first, to_block=last, progress=progress
        )

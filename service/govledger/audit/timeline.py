"""A subject's timeline: which indexed events belong to the story of one record, certificate, grant...

Most events name their subject directly (``subject_id``). A few stories also take in events about a
related subject, found through an argument of the event or through this service's own tables:

    record        its events (anchored, versions, endorsements, maintainers) and, for a record anchored
                  in a Merkle batch by this service, the batch's BatchAnchored event
    certificate   its lifecycle (issued or batch-registered, suspended, reinstated, revoked, superseded),
                  the CertificateSuperseded event that named it as the successor, and its batch's event
    grant         issued, revoked, and every logged use (DataUseLogged)
    dataset       registered, metadata updates, and the whole timeline of every grant on it
    proposal      created, approvals, executed
    batch         the batch's event, and every certificate registered under its root
    department    every event the department performed or that concerns it (accounts, roles, status)
"""

from __future__ import annotations

import json

from sqlalchemy import ColumnElement, Engine, or_, select

from govledger.audit.filters import EVENTS
from govledger.audit.subjects import stored_subject
from govledger.db.engine import session_scope
from govledger.db.models import AnchoredRecord, RecordBatch
from govledger.errors import ValidationError
from govledger.shortids import decode_short_id

TIMELINE_KINDS = ("record", "certificate", "dataset", "grant", "proposal", "batch", "department")


def timeline_conditions(engine: Engine, chain_id: int, kind: str, identifier: str) -> tuple[str, ColumnElement[bool]]:
    """The stored subject of ``kind``/``identifier`` and the condition selecting its timeline's events."""
    if kind not in TIMELINE_KINDS:
        raise ValidationError(f"unknown timeline kind {kind!r}; known: {', '.join(TIMELINE_KINDS)}")
    subject = stored_subject(kind, identifier)
    value = subject.partition(":")[2]
    parts: list[ColumnElement[bool]] = [EVENTS.c.subject_id == subject]
    if kind == "record":
        parts += [EVENTS.c.subject_id == f"batch:{root}" for root in _record_batch_roots(engine, chain_id, value)]
    elif kind == "certificate":
        parts.append(_argument_is("CertificateSuperseded", "newCertId", value))
        parts += [
            EVENTS.c.subject_id == f"batch:{root}"
            for root in _argument_values(engine, chain_id, subject, "BatchCertificateRegistered", "root")
        ]
    elif kind == "dataset":
        grants = _subjects_with_argument(engine, chain_id, "GrantIssued", "datasetId", value)
        parts += [EVENTS.c.subject_id == grant for grant in grants]
    elif kind == "batch":
        parts.append(_argument_is("BatchCertificateRegistered", "root", value))
    elif kind == "department":
        parts.append(EVENTS.c.department == value)
    return subject, or_(*parts)


def _argument_is(event: str, argument: str, value: str) -> ColumnElement[bool]:
    """Events named ``event`` whose stored JSON arguments hold ``argument`` = ``value`` (a 0x-hex string).

    ``args_json`` is written with sorted keys and json's default separators (indexer.mapping), so the pair
    appears exactly as ``"argument": "value"``; hex values hold no LIKE wildcards.
    """
    return (EVENTS.c.event_name == event) & EVENTS.c.args_json.like(f'%"{argument}": "{value}"%')


def _subjects_with_argument(engine: Engine, chain_id: int, event: str, argument: str, value: str) -> list[str]:
    with session_scope(engine, read_only=True) as session:
        found = session.execute(
            select(EVENTS.c.subject_id).where(EVENTS.c.chain_id == chain_id, _argument_is(event, argument, value))
        ).scalars()
        return sorted({str(subject) for subject in found if subject is not None})


def _argument_values(engine: Engine, chain_id: int, subject: str, event: str, argument: str) -> list[str]:
    with session_scope(engine, read_only=True) as session:
        stored = session.execute(
            select(EVENTS.c.args_json).where(
                EVENTS.c.chain_id == chain_id, EVENTS.c.subject_id == subject, EVENTS.c.event_name == event
            )
        ).scalars()
        return sorted({str(json.loads(args)[argument]).lower() for args in stored})


def _record_batch_roots(engine: Engine, chain_id: int, record_hex: str) -> list[str]:
    """The Merkle root this service anchored a batch record under (records of other services: none known)."""
    record_id = decode_short_id(record_hex)
    with session_scope(engine, read_only=True) as session:
        roots = session.execute(
            select(RecordBatch.root)  # type: ignore[call-overload]
            .join(AnchoredRecord, AnchoredRecord.batch_id == RecordBatch.id)
            .where(AnchoredRecord.chain_id == chain_id, AnchoredRecord.record_id == record_id)
        ).scalars()
        return sorted({str(root).lower() for root in roots})

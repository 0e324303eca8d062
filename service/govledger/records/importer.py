"""Bulk import: hash files locally (or read a CSV of hashes) and anchor them in Merkle batches.

Nothing but hashes leaves the machine. An import can be stopped at any point and run again: records whose
ids are already known are skipped, a batch persisted before the stop is submitted again under its own
idempotency key, and every chunk's Idempotency-Key is derived from its content, so nothing is anchored twice.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from govledger.errors import GovLedgerError, ValidationError
from govledger.hashing import digest_stream, hash_hex
from govledger.records.models import RecordIn
from govledger.records.service import RecordService
from govledger.shortids import SHORT_ID_PATTERN


@dataclass
class ImportSummary:
    anchored: int = 0
    skipped: int = 0
    batches: int = 0
    failed: int = 0


def _record_id_for(relative: str) -> str:
    """The file's relative path when it is a valid record id, else a stable id derived from it."""
    if SHORT_ID_PATTERN.match(relative):
        return relative
    return "f-" + hashlib.sha256(relative.encode()).hexdigest()[:30]


def scan(path: Path, *, schema_id: str, hash_algorithm: str) -> list[RecordIn]:
    """The records to import: every file under a folder (hashed here), or the rows of a CSV file."""
    if path.is_dir():
        return list(_files(path, schema_id, hash_algorithm))
    if path.suffix.lower() == ".csv":
        return list(_csv_rows(path, schema_id, hash_algorithm))
    raise ValidationError(f"{path} is neither a folder nor a .csv file", code="invalid_import_source")


def _files(folder: Path, schema_id: str, hash_algorithm: str) -> Iterator[RecordIn]:
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        with file.open("rb") as stream:
            content_hash = hash_hex(digest_stream(hash_algorithm, stream))
        relative = file.relative_to(folder).as_posix()
        yield RecordIn(
            record_id=_record_id_for(relative),
            schema_id=schema_id,
            hash_algorithm=hash_algorithm,
            content_hash=content_hash,
        )


def _csv_rows(path: Path, schema_id: str, hash_algorithm: str) -> Iterator[RecordIn]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"record_id", "content_hash"} - set(reader.fieldnames or [])
        if missing:
            raise ValidationError(f"{path}: missing columns {sorted(missing)}", code="invalid_import_source")
        for line, row in enumerate(reader, start=2):
            try:
                yield RecordIn(
                    record_id=row["record_id"].strip(),
                    schema_id=(row.get("schema_id") or schema_id).strip(),
                    hash_algorithm=(row.get("hash_algorithm") or hash_algorithm).strip(),
                    content_hash=row["content_hash"].strip(),
                )
            except ValueError as exc:
                raise ValidationError(f"{path}, line {line}: {exc}", code="invalid_import_source") from None


def import_records(
    service: RecordService,
    records: list[RecordIn],
    *,
    department: str,
    batch_size: int,
    wait_timeout: float,
    progress: Callable[[int], object] | None = None,
) -> ImportSummary:
    """Anchor ``records`` in batches of ``batch_size``, waiting for each batch to be confirmed."""
    summary = ImportSummary()
    service.writer.resubmit_orphans()
    for start in range(0, len(records), batch_size):
        chunk = records[start : start + batch_size]
        known = service.known_ids([r.record_id for r in chunk])
        fresh = [r for r in chunk if r.record_id not in known]
        summary.skipped += len(chunk) - len(fresh)
        if fresh:
            key = (
                "import:"
                + hashlib.sha256("\n".join(f"{r.record_id} {r.content_hash}" for r in fresh).encode()).hexdigest()[:40]
            )
            try:
                batch = service.anchor_many(department, fresh, key)
                operation = service.tx_manager.wait(batch.operation["id"], wait_timeout)
            except GovLedgerError:
                summary.failed += len(fresh)
                raise
            if operation.status == "confirmed":
                summary.anchored += len(fresh)
                summary.batches += 1
            else:
                summary.failed += len(fresh)
        if progress is not None:
            progress(len(chunk))
    return summary

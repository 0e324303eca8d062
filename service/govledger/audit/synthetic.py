"""Synthetic ``chain_events`` rows in bulk, shaped like a busy consortium's index: for benchmarks and tests.

The audit queries must stay fast with a million indexed events, and exports must stream them in bounded
memory; producing that many real events on a chain would take hours. These rows have the shape of real
ones (departments acting in turn with their own action sequence numbers, subjects with short ids,
several events per block, realistic argument sizes) and are written with the fastest bulk path of each
database: ``executemany`` in one transaction on SQLite, ``COPY`` on PostgreSQL.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import Engine

from govledger.db.engine import is_postgres
from govledger.shortids import short_id_hex

DEPARTMENTS = ("CS-DRB", "CS-MSA", "CS-HRSS", "CS-PSB", "CS-HOUS", "CS-EDU", "CS-HEALTH", "CS-TRANS")
#: (contract, event, subject kind, share of all events)
EVENT_MIX: tuple[tuple[str, str, str, float], ...] = (
    ("RecordRegistry", "BatchAnchored", "batch", 0.10),
    ("RecordRegistry", "RecordAnchored", "record", 0.15),
    ("RecordRegistry", "RecordVersionAppended", "record", 0.10),
    ("RecordRegistry", "VersionEndorsed", "record", 0.05),
    ("CertificateRegistry", "CertificateIssued", "certificate", 0.20),
    ("CertificateRegistry", "CertificateRevoked", "certificate", 0.02),
    ("SharingRegistry", "GrantIssued", "grant", 0.05),
    ("SharingRegistry", "DataUseLogged", "grant", 0.30),
    ("Consortium", "ProposalApproved", "proposal", 0.03),
)
COLUMNS = (
    "chain_id",
    "contract_address",
    "contract_name",
    "event_name",
    "block_number",
    "block_hash",
    "tx_hash",
    "log_index",
    "department",
    "subject_id",
    "action_seq",
    "args_json",
    "block_timestamp",
)
EVENTS_PER_BLOCK = 4
SECONDS_PER_BLOCK = 5
FIRST_TIMESTAMP = 1_780_000_000  # mid 2026
_INSERT_CHUNK = 20_000


def synthetic_rows(count: int, *, chain_id: int = 31337, seed: int = 6, first_block: int = 1) -> Iterator[tuple]:
    """``count`` rows in chain order, as tuples in ``COLUMNS`` order; the same seed gives the same rows."""
    rng = random.Random(seed)  # noqa: S311 - reproducible benchmark data, not a secret
    addresses = {name: "0x" + rng.randbytes(20).hex() for name, *_ in EVENT_MIX}
    weights = [share for *_, share in EVENT_MIX]
    sequences = dict.fromkeys(DEPARTMENTS, 0)
    for n in range(count):
        block = first_block + n // EVENTS_PER_BLOCK
        contract, event, kind, _ = rng.choices(EVENT_MIX, weights)[0]
        department = DEPARTMENTS[rng.randrange(len(DEPARTMENTS))]
        sequences[department] += 1
        subject_value = _subject_value(rng, kind, n)
        args = {
            "actionSeq": sequences[department],
            "contentHash": "0x" + rng.randbytes(32).hex(),
            "ownerDept": department,
            _id_argument(kind): subject_value,
        }
        yield (
            chain_id,
            addresses[contract],
            contract,
            event,
            block,
            f"0x{block:064x}",
            "0x" + rng.randbytes(32).hex(),
            n % EVENTS_PER_BLOCK,
            department,
            f"{kind}:{subject_value}",
            sequences[department],
            json.dumps(args, sort_keys=True),
            FIRST_TIMESTAMP + (block - first_block) * SECONDS_PER_BLOCK,
        )


def insert_rows(engine: Engine, rows: Iterator[tuple], *, progress: Callable[[int], Any] | None = None) -> int:
    """Write ``rows`` (``COLUMNS`` order) straight into chain_events; return how many."""
    connection = engine.raw_connection()
    written = 0
    try:
        cursor = connection.cursor()
        if is_postgres(engine):
            with cursor.copy(f"COPY chain_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
                    written += 1
                    if progress is not None and written % _INSERT_CHUNK == 0:
                        progress(_INSERT_CHUNK)
        else:
            statement = f"INSERT INTO chain_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"  # noqa: S608
            cursor.execute("BEGIN")
            while chunk := [row for _, row in zip(range(_INSERT_CHUNK), rows, strict=False)]:
                cursor.executemany(statement, chunk)
                written += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        connection.commit()
    finally:
        connection.close()
    return written


def _subject_value(rng: random.Random, kind: str, n: int) -> str:
    if kind == "proposal":
        return str(n // 50)
    if kind == "batch":
        return "0x" + rng.randbytes(32).hex()
    # A few thousand distinct ids per kind, so a subject has a handful to a few hundred events.
    return short_id_hex(f"{kind[:3].upper()}-{rng.randrange(5000):05d}")


def _id_argument(kind: str) -> str:
    return {"batch": "root", "certificate": "certId", "proposal": "proposalId"}.get(kind, f"{kind}Id")

"""The writes a fault test sends, what each got back, and what the chain says happened to them.

A ``Write`` is one HTTP request: a single record, a batch of records (with an Idempotency-Key) or one
certificate (with its own id and an Idempotency-Key), so that sending it again is safe and must never add
anything twice. Its ``outcome`` is what the client saw:

    accepted   a 2xx answer: the service promised the write; it must be on chain exactly once
    refused    a 4xx/5xx answer: it must not be on chain
    broken     the connection failed before an answer: ambiguous, so it is sent again until answered
    hung       no answer within the client's timeout (a failure wherever the test forbids hangs)

``ChainTally`` reads the RecordRegistry and CertificateRegistry events straight from the node and
``check_exactly_once`` compares them with the accepted writes: every accepted batch's root (computed here
from the records sent) is anchored with its leaf count, every accepted single record has a Merkle proof
from the leaf hashed here to an anchored root, and the leaves anchored add up to exactly the accepted
records, so no record is on chain twice and no refused record is on chain at all. Certificates are
counted per id in the CertificateIssued events, with the document hash each carries.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlmodel import col, select

from govledger.db.engine import create_db_engine, session_scope
from govledger.db.models import AnchoredRecord, RecordBatch
from govledger.hashing import parse_hash_hex
from govledger.merkle import RECORD_LEAF_ENCODING, StandardMerkleTree, leaf_hash, verify
from govledger.records.models import record_leaf_values
from govledger.shortids import encode_short_id
from tests.reliability.harness import ReliabilityStack

ACCEPTED, REFUSED, BROKEN, HUNG, UNSENT = "accepted", "refused", "broken", "hung", "unsent"
SCHEMA_ID = "FAULT-SCHEMA"
CERTIFICATE_TYPE = "FAULT-CERT"
SHA256 = 1  # HashAlgorithm code on chain
CONTRACT_CHECKED_PROOFS = 25


@dataclass
class Write:
    """One request and what became of it."""

    kind: str  # "record", "batch" or "certificate"
    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = UNSENT
    status: int | None = None
    error_code: str | None = None
    retry_after: str | None = None
    attempts: int = 0
    first_outcome: str = UNSENT

    @property
    def records(self) -> list[dict[str, Any]]:
        if self.kind == "record":
            return [self.body]
        if self.kind == "batch":
            return list(self.body["records"])
        return []

    @property
    def certificate_id(self) -> str | None:
        return str(self.body["certificate_id"]) if self.kind == "certificate" else None


def _record(record_id: str) -> dict[str, Any]:
    return {"record_id": record_id, "schema_id": SCHEMA_ID, "content_hash": os.urandom(32).hex()}


def record_writes(tag: str, *, singles: int, batches: int, batch_size: int) -> list[Write]:
    """``singles`` POST /records requests and ``batches`` POST /records/batch requests of ``batch_size``."""
    writes = [Write("record", "/api/v1/records", _record(f"{tag}-S{i}")) for i in range(singles)]
    writes += [
        Write(
            "batch",
            "/api/v1/records/batch",
            {"records": [_record(f"{tag}-B{i}-{j}") for j in range(batch_size)]},
            {"Idempotency-Key": f"{tag}-batch-{i}"},
        )
        for i in range(batches)
    ]
    return writes


def certificate_writes(tag: str, count: int) -> list[Write]:
    """``count`` POST /certificates requests, each with its own certificate id and Idempotency-Key.

    The holder is sent as a commitment: an identity number without a salt would get a fresh salt on every
    attempt, so a retried request would (rightly) be a different request.
    """
    return [
        Write(
            "certificate",
            "/api/v1/certificates",
            {
                "certificate_id": f"{tag}-C{i}",
                "certificate_type": CERTIFICATE_TYPE,
                "document_hash": os.urandom(32).hex(),
                "holder_commitment": os.urandom(32).hex(),
                "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": "2036-01-01T00:00:00Z",
            },
            {"Idempotency-Key": f"{tag}-cert-{i}"},
        )
        for i in range(count)
    ]


def send(client: httpx.Client, write: Write, *, timeout: float) -> None:
    """Send one write and classify the answer (see the module docstring); never raises for HTTP failures."""
    write.attempts += 1
    try:
        response = client.post(write.path, json=write.body, headers=write.headers, timeout=timeout)
    except httpx.TimeoutException:
        write.outcome = HUNG
    except httpx.TransportError:
        write.outcome = BROKEN
    else:
        write.status = response.status_code
        write.retry_after = response.headers.get("retry-after")
        if 200 <= response.status_code < 300:
            write.outcome = ACCEPTED
            write.error_code = None
        else:
            write.outcome = REFUSED
            try:
                write.error_code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                write.error_code = None
    if write.first_outcome == UNSENT:
        write.first_outcome = write.outcome


def send_all(
    client: httpx.Client,
    writes: Sequence[Write],
    *,
    workers: int,
    timeout: float,
    before_each: Callable[[], None] | None = None,
    after_each: Callable[[Write], None] | None = None,
) -> None:
    """Send every write from ``workers`` threads; ``before_each`` may block (e.g. while the service is down)."""
    queue = iter(writes)
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                write = next(queue, None)
            if write is None:
                return
            if before_each is not None:
                before_each()
            send(client, write, timeout=timeout)
            if after_each is not None:
                after_each(write)

    with ThreadPoolExecutor(workers) as pool:
        for future in [pool.submit(worker) for _ in range(workers)]:
            future.result()


def tally(writes: Iterable[Write], attribute: str = "outcome") -> Counter[str]:
    return Counter(getattr(write, attribute) for write in writes)


# ------------------------------------------------------------------ what the chain says


@dataclass
class ChainTally:
    """Anchored record batches (root -> leaf count) and issued certificates (id -> times), from the node."""

    batch_leaves: dict[bytes, int]
    certificates: Counter[bytes]
    document_hashes: dict[bytes, bytes]

    @classmethod
    def read(cls, stack: ReliabilityStack) -> ChainTally:
        chain = stack.chain
        batches: dict[bytes, int] = {}
        for event in chain.logs("RecordRegistry", "BatchAnchored"):
            root = bytes(event["args"]["root"])
            # The contract refuses a root twice; a second event would be a bug worth seeing, so add up.
            batches[root] = batches.get(root, 0) + int(event["args"]["leafCount"])
        certificates: Counter[bytes] = Counter()
        documents: dict[bytes, bytes] = {}
        for event in chain.logs("CertificateRegistry", "CertificateIssued"):
            cert_id = bytes(event["args"]["certId"])
            certificates[cert_id] += 1
            documents[cert_id] = bytes(event["args"]["documentHash"])
        return cls(batches, certificates, documents)

    @property
    def record_leaves(self) -> int:
        return sum(self.batch_leaves.values())

    @property
    def certificate_events(self) -> int:
        return sum(self.certificates.values())


def wait_until_on_chain(
    stack: ReliabilityStack, *, records: int, certificates: int, timeout: float, settle_seconds: float = 3.0
) -> ChainTally:
    """Poll the node until at least this many record leaves and certificates are on it (or ``timeout``).

    Then wait ``settle_seconds`` more and read again, so that a late duplicate would still be counted.
    """
    deadline = time.monotonic() + timeout
    while True:
        chain_tally = ChainTally.read(stack)
        done = chain_tally.record_leaves >= records and chain_tally.certificate_events >= certificates
        if done or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    time.sleep(settle_seconds)
    return ChainTally.read(stack)


def operations_in_flight(client: httpx.Client) -> int:
    """Operations the service still has queued or submitted, from its /metrics."""
    text = client.get("/metrics").text
    found = re.findall(r'^govledger_operations\{status="(queued|submitted)"\} ([0-9.e+]+)$', text, re.MULTILINE)
    return int(sum(float(value) for _status, value in found))


@dataclass
class ExactlyOnce:
    """The verdict: accepted writes on chain once each, nothing else on chain."""

    accepted_records: int
    accepted_certificates: int
    records_on_chain: int
    certificates_on_chain: int
    missing_records: list[str]
    missing_certificates: list[str]
    duplicate_records: int
    duplicate_certificates: int
    unexpected_certificates: int
    refused_on_chain: list[str]

    @property
    def lost(self) -> int:
        return len(self.missing_records) + len(self.missing_certificates)

    @property
    def duplicates(self) -> int:
        return self.duplicate_records + self.duplicate_certificates + self.unexpected_certificates


def _leaf_values(record: dict[str, Any]) -> list[Any]:
    return record_leaf_values(record["record_id"], record["content_hash"], "sha256", record["schema_id"])


def _claimed_proofs(stack: ReliabilityStack, record_ids: Sequence[str]) -> dict[str, tuple[str, list[str]]]:
    """record id -> (batch root, Merkle proof) as the service stored them: claims, checked against the chain."""
    engine = create_db_engine(stack.database_url)
    claims: dict[str, tuple[str, list[str]]] = {}
    try:
        with session_scope(engine, read_only=True) as session:
            for start in range(0, len(record_ids), 500):
                rows = session.exec(
                    select(AnchoredRecord.record_id, RecordBatch.root, AnchoredRecord.proof_json)
                    .join(RecordBatch, col(RecordBatch.id) == col(AnchoredRecord.batch_id))
                    .where(col(AnchoredRecord.record_id).in_(record_ids[start : start + 500]))
                ).all()
                claims.update({record_id: (root, json.loads(proof or "[]")) for record_id, root, proof in rows})
    finally:
        engine.dispose()
    return claims


def _contract_accepts_bundle(stack: ReliabilityStack, client: httpx.Client, record: dict[str, Any]) -> bool:
    """The record's proof bundle from the API, put to the RecordRegistry's own verifyRecordInBatch."""
    response = client.get(f"/api/v1/records/{record['record_id']}/proof")
    if response.status_code != 200:
        return False
    bundle = response.json()
    return bool(
        stack.chain.contract("RecordRegistry")
        .functions.verifyRecordInBatch(
            parse_hash_hex(bundle["root"]),
            encode_short_id(record["record_id"]),
            parse_hash_hex(record["content_hash"]),
            SHA256,
            encode_short_id(record["schema_id"]),
            [parse_hash_hex(node) for node in bundle["proof"]],
        )
        .call()
    )


def _single_records_proven(
    stack: ReliabilityStack, client: httpx.Client, chain_tally: ChainTally, records: Sequence[dict[str, Any]]
) -> list[bool]:
    """For each record: a Merkle proof leads from the leaf hashed here to a root the chain anchored.

    The proofs are read from the service's database in one query (asking the API for thousands of bundles
    would take longer than the rest of the check); they are only claims, since the leaf is hashed here from
    what the client sent and the root must be one the chain anchored. A sample of bundles also goes through
    the API to the contract's own verifyRecordInBatch, so the hashing here is known to agree with the chain's.
    """
    claims = _claimed_proofs(stack, [record["record_id"] for record in records])
    proven = []
    for record in records:
        claim = claims.get(record["record_id"])
        ok = claim is not None and parse_hash_hex(claim[0]) in chain_tally.batch_leaves
        if ok:
            assert claim is not None
            ok = verify(claim[0], leaf_hash(RECORD_LEAF_ENCODING, _leaf_values(record)), claim[1])
        proven.append(ok)
    sample = [record for record, ok in zip(records, proven, strict=True) if ok][:CONTRACT_CHECKED_PROOFS]
    for record in sample:
        assert _contract_accepts_bundle(stack, client, record), f"the contract refuses the proof of {record}"
    return proven


def check_exactly_once(stack: ReliabilityStack, client: httpx.Client, writes: Sequence[Write]) -> ExactlyOnce:
    """Compare the accepted writes with the chain (see the module docstring for the argument)."""
    chain_tally = ChainTally.read(stack)
    accepted = [w for w in writes if w.outcome == ACCEPTED]
    refused = [w for w in writes if w.outcome != ACCEPTED]

    missing_records: list[str] = []
    for write in (w for w in accepted if w.kind == "batch"):
        leaves = [_leaf_values(record) for record in write.records]
        root = parse_hash_hex(StandardMerkleTree.of(leaves, RECORD_LEAF_ENCODING).root)
        if chain_tally.batch_leaves.get(root) != len(leaves):
            missing_records += [record["record_id"] for record in write.records]
    singles = [w.body for w in accepted if w.kind == "record"]
    proven = _single_records_proven(stack, client, chain_tally, singles)
    missing_records += [record["record_id"] for record, ok in zip(singles, proven, strict=True) if not ok]

    accepted_records = sum(len(w.records) for w in accepted)
    # Every accepted record is in some anchored batch (checked above); if the anchored leaves add up to no
    # more than the accepted records, none is in two batches and no refused record is in any. A surplus is
    # counted as duplicates: from the roots alone it cannot be told apart from a refused record on chain.
    duplicate_records = max(0, chain_tally.record_leaves - (accepted_records - len(missing_records)))

    missing_certificates: list[str] = []
    duplicate_certificates = 0
    accepted_ids = set()
    for write in (w for w in accepted if w.kind == "certificate"):
        cert_id = encode_short_id(str(write.certificate_id))
        accepted_ids.add(cert_id)
        times = chain_tally.certificates.get(cert_id, 0)
        document = chain_tally.document_hashes.get(cert_id)
        if times == 0 or document != parse_hash_hex(write.body["document_hash"]):
            missing_certificates.append(str(write.certificate_id))
        duplicate_certificates += max(0, times - 1)
    refused_on_chain = [
        str(w.certificate_id)
        for w in refused
        if w.kind == "certificate" and chain_tally.certificates.get(encode_short_id(str(w.certificate_id)), 0)
    ]
    unexpected_certificates = sum(
        times for cert_id, times in chain_tally.certificates.items() if cert_id not in accepted_ids
    )
    return ExactlyOnce(
        accepted_records=accepted_records,
        accepted_certificates=len(accepted_ids),
        records_on_chain=chain_tally.record_leaves,
        certificates_on_chain=chain_tally.certificate_events,
        missing_records=missing_records,
        missing_certificates=missing_certificates,
        duplicate_records=duplicate_records,
        duplicate_certificates=duplicate_certificates,
        unexpected_certificates=unexpected_certificates,
        refused_on_chain=refused_on_chain,
    )

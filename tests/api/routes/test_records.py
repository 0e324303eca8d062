"""Records endpoints end to end on the demo service: batching, bulk anchoring, joint maintenance, proofs."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from typing import Any

from sqlmodel import select

from govledger.db.engine import session_scope
from govledger.db.models import AnchoredRecord
from govledger.records.bundle import check_offline, check_on_chain
from tests.api.routes.conftest import Service

DRB = ("CS-DRB", "department_user")
MSA = ("CS-MSA", "department_user")
HRSS = ("CS-HRSS", "department_user")


def eventually(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def record(record_id: str, content: bytes = b"", **extra: Any) -> dict[str, Any]:
    return {"record_id": record_id, "schema_id": "business-licence",
            "content_hash": hashlib.sha256(content or record_id.encode()).hexdigest(), **extra}


def test_single_records_are_batched_and_get_a_proof_that_the_chain_confirms(service: Service):
    client = service.client
    batcher = service.demo.runtime.batcher
    batcher.stop()  # so that all five wait for the same batch however slowly the machine serves them
    for i in range(5):
        response = client.post("/api/v1/records", headers=service.key(*DRB), json=record(f"LIC-{i}"))
        assert response.status_code == 202
        assert response.json()["status"] == "pending"
    batcher.start()
    anchored = eventually(lambda: client.get("/api/v1/records/LIC-3", headers=service.key(*DRB)).json(),
                          lambda r: r["status"] == "anchored")
    assert anchored["status"] == "anchored", anchored
    assert anchored["batch_root"] and anchored["tx_hash"]
    bundle = client.get("/api/v1/records/LIC-3/proof", headers=service.key(*MSA)).json()
    assert bundle["format"] == "govledger-proof-bundle-1"
    assert check_offline(bundle) == []
    assert check_on_chain(bundle, service.demo.runtime.chain) == []
    # The five records share one batch: one transaction, five proofs.
    roots = {client.get(f"/api/v1/records/LIC-{i}", headers=service.key(*DRB)).json()["batch_root"]
             for i in range(5)}
    assert len(roots) == 1


def test_a_tampered_bundle_is_caught(service: Service):
    service.client.post("/api/v1/records", headers=service.key(*DRB), json=record("LIC-T"))
    eventually(lambda: service.client.get("/api/v1/records/LIC-T", headers=service.key(*DRB)).json(),
               lambda r: r["status"] == "anchored")
    bundle = service.client.get("/api/v1/records/LIC-T/proof", headers=service.key(*DRB)).json()
    bundle["record"]["contentHash"] = "0x" + "ab" * 32
    assert check_offline(bundle) != []


def test_sending_the_same_record_again_is_harmless_but_other_content_is_a_conflict(service: Service):
    first = service.client.post("/api/v1/records", headers=service.key(*DRB), json=record("LIC-X"))
    again = service.client.post("/api/v1/records", headers=service.key(*DRB), json=record("LIC-X"))
    assert again.status_code == 202 and again.json()["created_at"] == first.json()["created_at"]
    other = service.client.post("/api/v1/records", headers=service.key(*DRB), json=record("LIC-X", b"changed"))
    assert other.status_code == 409 and other.json()["error"]["code"] == "record_exists"
    stolen = service.client.post("/api/v1/records", headers=service.key(*MSA), json=record("LIC-X"))
    assert stolen.status_code == 409


def test_content_sent_for_hashing_is_hashed_and_never_stored(service: Service):
    content = "营业执照 统一社会信用代码 91430100MA4L0001".encode()
    body = {"record_id": "LIC-C", "schema_id": "business-licence", "hash_algorithm": "sm3",
            "content_base64": base64.b64encode(content).decode()}
    response = service.client.post("/api/v1/records", headers=service.key(*DRB), json=body)
    assert response.status_code == 202
    from govledger.hashing import digest

    assert response.json()["content_hash"] == "0x" + digest("sm3", content).hex()
    with session_scope(service.demo.runtime.engine) as session:
        row = session.exec(select(AnchoredRecord).where(AnchoredRecord.record_id == "LIC-C")).one()
    assert content.hex() not in str(row.model_dump()) and "营业执照" not in str(row.model_dump())
    both = service.client.post("/api/v1/records", headers=service.key(*DRB),
                               json={**body, "record_id": "LIC-D", "content_hash": "00" * 32})
    assert both.status_code == 422


def test_ten_thousand_records_in_one_request_make_one_batch(service: Service):
    records = [record(f"BULK-{i:05d}") for i in range(10_000)]
    started = time.monotonic()
    response = service.client.post("/api/v1/records/batch?wait=true", headers=service.key(*DRB),
                                   json={"records": records})
    elapsed = time.monotonic() - started
    assert response.status_code == 200, response.json()
    batch = response.json()
    print(f"\n10,000 records anchored in one batch in {elapsed:.2f} s")
    assert batch["leaf_count"] == 10_000 and batch["operation"]["status"] == "confirmed"
    bundle = service.client.get("/api/v1/records/BULK-04321/proof", headers=service.key(*DRB)).json()
    assert check_on_chain(bundle, service.demo.runtime.chain) == []
    too_many = service.client.post("/api/v1/records/batch", headers=service.key(*DRB),
                                   json={"records": [record(f"X-{i}") for i in range(10_001)]})
    assert too_many.status_code == 422


def test_bulk_requests_are_idempotent_and_refuse_duplicates(service: Service):
    headers = {**service.key(*DRB), "Idempotency-Key": "import-2026-11-24"}
    body = {"records": [record(f"IDEM-{i}") for i in range(20)]}
    first = service.client.post("/api/v1/records/batch", headers=headers, json=body)
    again = service.client.post("/api/v1/records/batch", headers=headers, json=body)
    assert first.json()["batch_id"] == again.json()["batch_id"]
    changed = service.client.post("/api/v1/records/batch", headers=headers,
                                  json={"records": [record(f"IDEM-{i}") for i in range(21)]})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_key_reused"
    duplicate = service.client.post("/api/v1/records/batch", headers=service.key(*DRB),
                                    json={"records": [record("DUP-1"), record("DUP-1")]})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "duplicate_record_id"
    overlapping = service.client.post("/api/v1/records/batch", headers=service.key(*DRB),
                                      json={"records": [record("IDEM-3"), record("NEW-1")]})
    assert overlapping.status_code == 409 and overlapping.json()["error"]["code"] == "record_exists"
    assert overlapping.json()["error"]["details"] == {"record_id": "IDEM-3"}
    # Refused as a whole: the batch's new record was not stored either.
    assert service.client.get("/api/v1/records/NEW-1", headers=service.key(*DRB)).status_code == 404


def test_joint_maintenance_versions_endorsements_and_history(service: Service):
    client = service.client
    anchored = client.post("/api/v1/records/joint?wait=true", headers=service.key(*DRB),
                           json={**record("POP-2026-01"), "co_maintainers": ["CS-HRSS"], "required_endorsements": 1})
    assert anchored.json()["status"] == "confirmed", anchored.json()
    version = client.post("/api/v1/records/POP-2026-01/versions?wait=true", headers=service.key(*HRSS),
                          json={"content_hash": "22" * 32})
    assert version.json()["status"] == "confirmed", version.json()
    own = client.post("/api/v1/records/POP-2026-01/versions/2/endorse?wait=true", headers=service.key(*HRSS))
    assert own.json()["status"] == "failed"
    endorsed = client.post("/api/v1/records/POP-2026-01/versions/2/endorse?wait=true", headers=service.key(*DRB))
    assert endorsed.json()["status"] == "confirmed", endorsed.json()
    outsider = client.post("/api/v1/records/POP-2026-01/versions?wait=true", headers=service.key(*MSA),
                           json={"content_hash": "33" * 32})
    assert outsider.status_code == 403 and outsider.json()["error"]["code"] == "not_named_on_record"
    not_owner = client.post("/api/v1/records/POP-2026-01/maintainers", headers=service.key(*HRSS),
                            json={"department": "CS-MSA"})
    assert not_owner.status_code == 403 and not_owner.json()["error"]["code"] == "not_record_owner"
    named = client.post("/api/v1/records/POP-2026-01/maintainers?wait=true", headers=service.key(*DRB),
                        json={"department": "CS-MSA"})
    assert named.json()["status"] == "confirmed"
    now_allowed = client.post("/api/v1/records/POP-2026-01/versions?wait=true", headers=service.key(*MSA),
                              json={"content_hash": "33" * 32})
    assert now_allowed.json()["status"] == "confirmed"
    unknown = client.post("/api/v1/records/NOT-JOINT/versions", headers=service.key(*MSA),
                          json={"content_hash": "33" * 32})
    assert unknown.status_code == 404
    history = eventually(
        lambda: client.get("/api/v1/records/POP-2026-01", headers=service.key(*MSA)).json()["history"],
        lambda h: any(e["event"] == "VersionEndorsed" for e in h),
    )
    events = [e["event"] for e in history]
    assert events[0] == "RecordAnchored"
    assert "RecordVersionAppended" in events and "VersionEndorsed" in events


def test_auditors_cannot_anchor_and_unknown_records_are_404(service: Service):
    denied = service.client.post("/api/v1/records", headers=service.key("CS-AUD", "auditor"), json=record("A-1"))
    assert denied.status_code == 403
    missing = service.client.get("/api/v1/records/NOPE", headers=service.key(*DRB))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "record_not_found"
    pending = service.client.post("/api/v1/records", headers=service.key(*DRB), json=record("EARLY-1"))
    assert pending.status_code == 202
    early = service.client.get("/api/v1/records/EARLY-1/proof", headers=service.key(*DRB))
    assert early.status_code in (200, 409)
    if early.status_code == 409:
        assert early.json()["error"]["code"] == "proof_not_ready"
    bad = service.client.post("/api/v1/records", headers=service.key(*DRB),
                              json={"record_id": "has space", "schema_id": "s", "content_hash": "zz"})
    assert bad.status_code == 422


def test_a_bulk_lookup_tells_which_records_are_anchored_and_which_are_unknown(service: Service):
    client = service.client
    batcher = service.demo.runtime.batcher
    batcher.stop()  # LOOK-0..2 wait unbatched until the batcher runs again
    for i in range(3):
        assert client.post("/api/v1/records", headers=service.key(*DRB), json=record(f"LOOK-{i}")).status_code == 202
    asked = ["LOOK-2", "LOOK-UNKNOWN", "LOOK-0", "LOOK-2", "LOOK-1"]
    waiting = client.post("/api/v1/records/lookup", headers=service.key(*MSA), json={"ids": asked})
    assert waiting.status_code == 200, waiting.text
    body = waiting.json()
    assert [r["record_id"] for r in body["records"]] == ["LOOK-2", "LOOK-0", "LOOK-1"]  # order asked, repeats once
    assert body["not_found"] == ["LOOK-UNKNOWN"]
    assert {r["status"] for r in body["records"]} == {"pending"}
    batcher.start()
    anchored = eventually(
        lambda: client.post("/api/v1/records/lookup", headers=service.key(*DRB), json={"ids": asked}).json(),
        lambda b: {r["status"] for r in b["records"]} == {"anchored"},
    )
    assert {r["status"] for r in anchored["records"]} == {"anchored"}, anchored
    single = client.get("/api/v1/records/LOOK-1", headers=service.key(*DRB)).json()
    looked_up = anchored["records"][2]
    for field in ("batch_id", "batch_root", "leaf_hash", "operation_id", "tx_hash", "block_number", "status"):
        assert looked_up[field] == single[field], field
    assert looked_up["history"] == []  # the lookup leaves history to GET /records/{id}


def test_a_bulk_lookup_refuses_bad_input_clearly(service: Service):
    lookup = "/api/v1/records/lookup"
    too_many = service.client.post(lookup, headers=service.key(*DRB), json={"ids": [f"R-{i}" for i in range(1001)]})
    assert too_many.status_code == 422 and too_many.json()["error"]["code"] == "invalid_request"
    assert service.client.post(lookup, headers=service.key(*DRB), json={"ids": []}).status_code == 422
    assert service.client.post(lookup, headers=service.key(*DRB), json={"ids": ["bad id!"]}).status_code == 422
    assert service.client.post(lookup, headers=service.key(*DRB), json={"ids": ["A"], "x": 1}).status_code == 422
    assert service.client.post(lookup, json={"ids": ["A"]}).status_code == 401

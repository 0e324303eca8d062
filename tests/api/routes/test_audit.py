"""The auditors' API on the demo service: history, timelines, completeness, exports, integrity and rebuild."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from sqlalchemy import delete, insert, select, update

from govledger.audit.rebuild import rebuild_index
from govledger.db.engine import session_scope
from govledger.db.models import ChainEvent
from tests.api.routes.conftest import Service
from tests.api.routes.test_certificates import issue
from tests.api.routes.test_records import record
from tests.api.routes.test_sharing import grant, register

AUDITOR = ("CS-AUD", "auditor")
DRB = ("CS-DRB", "department_user")
HRSS = ("CS-HRSS", "department_user")
MSA = ("CS-MSA", "department_user")
EVENTS = ChainEvent.__table__  # type: ignore[attr-defined]


def confirmed(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 202), response.json()
    assert response.json()["status"] == "confirmed", response.json()
    return response.json()


def indexed(service: Service) -> None:
    """Index up to the head now, rather than waiting for the background indexer's next pass."""
    runtime = service.demo.runtime
    runtime.indexer.sync_once()
    assert runtime.indexer.checkpoint().number == runtime.chain.block_number()


def make_activity(service: Service) -> None:
    """A joint record's life, a dataset with a grant used twice, a revoked certificate and a batch of records."""
    client = service.client
    confirmed(client.post("/api/v1/records/joint?wait=true", headers=service.key(*DRB),
                          json={**record("POP-2026-01"), "co_maintainers": ["CS-HRSS"], "required_endorsements": 1}))
    confirmed(client.post("/api/v1/records/POP-2026-01/versions?wait=true", headers=service.key(*HRSS),
                          json={"content_hash": "22" * 32}))
    confirmed(client.post("/api/v1/records/POP-2026-01/versions/2/endorse?wait=true", headers=service.key(*DRB)))
    confirmed(client.post("/api/v1/records/POP-2026-01/maintainers?wait=true", headers=service.key(*DRB),
                          json={"department": "CS-MSA"}))
    register(service)
    assert grant(service, "G-AUD-1")["status"] == "confirmed"
    for i in range(2):
        confirmed(client.post("/api/v1/grants/G-AUD-1/uses?wait=true", headers=service.key(*HRSS),
                              json={"request_hash": f"{i:064x}"}))
    issue(service, "LIC-AUD-1", b"licence one")
    confirmed(client.post("/api/v1/certificates/LIC-AUD-1/revoke?wait=true", headers=service.key(*MSA),
                          json={"reason_code": "LICENCE-CANCELLED"}))
    batch = client.post("/api/v1/records/batch?wait=true", headers=service.key(*DRB),
                        json={"records": [record(f"BATCH-{i}") for i in range(3)]})
    assert batch.status_code == 200, batch.json()
    indexed(service)


def without_id(row: Any) -> dict[str, Any]:
    return {name: value for name, value in row.items() if name != "id"}


def get(service: Service, path: str, **params: Any) -> Any:
    response = service.client.get(f"/api/v1/audit{path}", headers=service.key(*AUDITOR), params=params)
    assert response.status_code == 200, response.json()
    return response.json()


def all_indexed_positions(service: Service) -> list[tuple[int, int]]:
    with session_scope(service.demo.runtime.engine, read_only=True) as session:
        rows = session.execute(select(EVENTS.c.block_number, EVENTS.c.log_index)
                               .order_by(EVENTS.c.block_number, EVENTS.c.log_index)).all()
    return [(int(block), int(log_index)) for block, log_index in rows]


def test_only_auditor_keys_may_read_the_audit_api(service: Service):
    paths = ["/events", "/timeline/record/R-1", "/departments", "/departments/CS-DRB/completeness",
             "/activity", "/export", "/integrity"]
    for path in paths:
        assert service.client.get(f"/api/v1/audit{path}").status_code == 401, path
        for who in (DRB, ("CS-DRB", "department_admin"), MSA):
            response = service.client.get(f"/api/v1/audit{path}", headers=service.key(*who))
            assert response.status_code == 403, (path, who)
            assert response.json()["error"]["code"] == "forbidden"
        assert service.client.get(f"/api/v1/audit{path}", headers=service.key(*AUDITOR)).status_code == 200, path


def test_events_are_decoded_anchored_labelled_and_filtered(service: Service):
    make_activity(service)
    page = get(service, "/events", limit=1000)
    events = page["events"]
    assert [(e["block_number"], e["log_index"]) for e in events] == all_indexed_positions(service)
    assert page["next_cursor"] is None and page["final_block"] == service.demo.runtime.chain.block_number()
    anchored = next(e for e in events if e["event"] == "RecordAnchored")
    assert anchored["subject_label"] == "record POP-2026-01" and anchored["department"] == "CS-DRB"
    assert anchored["contract"] == "RecordRegistry" and anchored["final"] is True
    assert anchored["args"]["ownerDept"] == "CS-DRB" and anchored["action_seq"] == anchored["args"]["actionSeq"]
    assert anchored["tx_hash"].startswith("0x") and anchored["block_hash"].startswith("0x")
    assert anchored["block_time"].endswith("+00:00")

    by_subject = get(service, "/events", subject="record:POP-2026-01")["events"]
    assert [e["event"] for e in by_subject] == [
        "RecordAnchored", "RecordVersionAppended", "VersionEndorsed", "MaintainerAdded"]
    assert get(service, "/events", subject=anchored["subject"])["events"] == by_subject
    uses = get(service, "/events", event="DataUseLogged", department="CS-HRSS")["events"]
    assert [e["args"]["useCount"] for e in uses] == [1, 2]
    both = get(service, "/events", event="GrantIssued,CertificateRevoked")["events"]
    assert [e["event"] for e in both] == ["GrantIssued", "CertificateRevoked"]
    assert get(service, "/events", event=["GrantIssued", "CertificateRevoked"])["events"] == both
    certificates = get(service, "/events", contract="CertificateRegistry")["events"]
    assert {e["event"] for e in certificates} == {"CertificateIssued", "CertificateRevoked"}
    revoked = certificates[-1]
    in_block = get(service, "/events", from_block=revoked["block_number"], to_block=revoked["block_number"])
    assert {e["block_number"] for e in in_block["events"]} == {revoked["block_number"]}
    at_its_time = get(service, "/events", from_time=revoked["block_time"], event="CertificateRevoked")["events"]
    assert at_its_time == [revoked]
    assert get(service, "/events", to_time=revoked["block_time"], event="CertificateRevoked")["events"] == []
    assert get(service, "/events", from_time="2100-01-01")["events"] == []


def test_pages_neither_repeat_nor_skip_events_while_new_ones_are_indexed(service: Service):
    make_activity(service)
    seen: list[tuple[int, int]] = []
    cursor = None
    for round_number in range(100):
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = get(service, "/events", **params)
        seen += [(e["block_number"], e["log_index"]) for e in page["events"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        if round_number < 3:  # new events land behind the pages already read, and inside the ones to come
            confirmed(service.client.post("/api/v1/grants/G-AUD-1/uses?wait=true", headers=service.key(*HRSS),
                                          json={"request_hash": f"{round_number + 10:064x}"}))
            indexed(service)
    assert len(seen) == len(set(seen))
    assert seen == all_indexed_positions(service)


def test_bad_filters_and_cursors_are_refused_clearly(service: Service):
    headers = service.key(*AUDITOR)
    for params in ({"cursor": "not-a-cursor"}, {"subject": "record"}, {"subject": "record:bad/id"},
                   {"from_time": "yesterday"}, {"limit": 0}, {"limit": 1001}):
        response = service.client.get("/api/v1/audit/events", headers=headers, params=params)
        assert response.status_code == 422, params
        assert "error" in response.json()
    assert service.client.get("/api/v1/audit/timeline/planet/X", headers=headers).status_code == 422
    unknown = service.client.get("/api/v1/audit/departments/CS-NONE/completeness", headers=headers)
    assert unknown.status_code == 404


def test_timelines_tell_each_subject_s_whole_story(service: Service):
    make_activity(service)
    record_story = get(service, "/timeline/record/POP-2026-01")
    assert record_story["subject"].startswith("record:0x")
    assert [e["event"] for e in record_story["events"]] == [
        "RecordAnchored", "RecordVersionAppended", "VersionEndorsed", "MaintainerAdded"]
    grant_story = get(service, "/timeline/grant/G-AUD-1")["events"]
    assert [e["event"] for e in grant_story] == ["GrantIssued", "DataUseLogged", "DataUseLogged"]
    dataset_story = get(service, "/timeline/dataset/POP-BASE-2026")["events"]
    assert [e["event"] for e in dataset_story] == ["DatasetRegistered", "GrantIssued", "DataUseLogged",
                                                  "DataUseLogged"]
    certificate_story = get(service, "/timeline/certificate/LIC-AUD-1")["events"]
    assert [e["event"] for e in certificate_story] == ["CertificateIssued", "CertificateRevoked"]
    batch_record = get(service, "/timeline/record/BATCH-1")["events"]
    assert [e["event"] for e in batch_record] == ["BatchAnchored"]
    root = batch_record[0]["args"]["root"]
    assert get(service, f"/timeline/batch/{root}")["events"] == batch_record
    department_story = get(service, "/timeline/department/CS-HRSS")["events"]
    assert {"DepartmentAdded", "AccountAdded", "RecordVersionAppended", "DataUseLogged"} <= {
        e["event"] for e in department_story}
    first = get(service, "/timeline/department/CS-HRSS", limit=2)
    assert first["events"] == department_story[:2] and first["next_cursor"]
    second = get(service, "/timeline/department/CS-HRSS", limit=2, cursor=first["next_cursor"])
    assert second["events"] == department_story[2:4]


def test_timelines_follow_supersession_and_proposals(service: Service):
    for cert_id in ("LIC-S-1", "LIC-S-2"):
        issue(service, cert_id, cert_id.encode())
    confirmed(service.client.post("/api/v1/certificates/LIC-S-1/supersede?wait=true", headers=service.key(*MSA),
                                  json={"new_certificate_id": "LIC-S-2"}))
    confirmed(service.client.post("/api/v1/consortium/proposals?wait=true",
                                  headers=service.key("CS-DRB", "department_admin"),
                                  json={"kind": "set_threshold", "threshold": 3}))
    indexed(service)
    successor = get(service, "/timeline/certificate/LIC-S-2")["events"]
    assert [e["event"] for e in successor] == ["CertificateIssued", "CertificateSuperseded"]
    assert successor[1]["subject_label"] == "certificate LIC-S-1"
    created = get(service, "/events", event="ProposalCreated")["events"][-1]
    confirmed(service.client.post(f"/api/v1/consortium/proposals/{created['args']['proposalId']}/approve?wait=true",
                                  headers=service.key("CS-MSA", "department_admin")))
    indexed(service)
    story = get(service, f"/timeline/proposal/{created['args']['proposalId']}")["events"]
    assert [e["event"] for e in story] == ["ProposalCreated", "ProposalApproved"]
    assert story[0]["subject_label"] == f"proposal {created['args']['proposalId']}"


def test_every_department_is_complete_until_a_row_goes_missing(service: Service):
    make_activity(service)
    departments = {d["department"]: d for d in get(service, "/departments")}
    assert set(departments) == {"CS-DRB", "CS-MSA", "CS-HRSS", "CS-AUD"}
    assert all(d["complete"] and d["missing"] == [] for d in departments.values())
    drb = departments["CS-DRB"]
    assert drb["name"] == "长沙市数据资源管理局"
    assert drb["action_count_on_chain"] == drb["indexed_actions"] == drb["last_action_seq"] >= 5

    engine = service.demo.runtime.engine
    with session_scope(engine) as session:
        session.execute(delete(EVENTS).where(EVENTS.c.department == "CS-DRB", EVENTS.c.action_seq == 2))
        copied = session.execute(select(EVENTS).where(EVENTS.c.department == "CS-DRB",
                                                      EVENTS.c.action_seq == 3)).mappings().one()
        session.execute(insert(EVENTS).values({**without_id(copied), "tx_hash": "0x" + "ee" * 32,
                                               "block_number": copied["block_number"] + 10_000}))
    report = get(service, "/departments/CS-DRB/completeness")
    assert report["missing"] == [2] and report["duplicates"] == [3] and report["complete"] is False
    assert report["action_count_on_chain"] == drb["action_count_on_chain"]
    assert report["indexed_actions"] == drb["action_count_on_chain"] - 1
    assert report["checked_through_block"] == service.demo.runtime.chain.block_number()
    listed = {d["department"]: d for d in get(service, "/departments")}
    assert listed["CS-DRB"]["complete"] is False and listed["CS-DRB"]["missing"] == [2]
    assert listed["CS-HRSS"]["complete"] is True


def test_activity_counts_each_department_s_events_per_day(service: Service):
    make_activity(service)
    activity = get(service, "/activity", days=3)
    assert len(activity["days"]) == 3
    hrss = next(s for s in activity["series"] if s["department"] == "CS-HRSS")
    today_events = [e for e in get(service, "/events", department="CS-HRSS", limit=1000)["events"]
                    if e["block_time"][:10] == activity["days"][-1]]
    assert hrss["counts"][-1] == len(today_events) > 0


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
def test_exports_stream_the_filtered_events(service: Service, export_format: str):
    make_activity(service)
    expected = get(service, "/events", department="CS-DRB", limit=1000)["events"]
    response = service.client.get("/api/v1/audit/export", headers=service.key(*AUDITOR),
                                  params={"format": export_format, "department": "CS-DRB"})
    assert response.status_code == 200
    if export_format == "jsonl":
        assert response.headers["content-type"] == "application/x-ndjson"
        assert [json.loads(line) for line in response.text.splitlines()] == expected
    else:
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert [(int(r["block_number"]), int(r["log_index"])) for r in rows] == [
            (e["block_number"], e["log_index"]) for e in expected]
        assert [json.loads(r["args"]) for r in rows] == [e["args"] for e in expected]
        assert rows[0]["subject_label"] == expected[0]["subject_label"]


def test_integrity_reports_planted_changes_and_a_rebuild_restores_the_index(service: Service):
    make_activity(service)
    clean = get(service, "/integrity")
    assert clean["ok"] is True and clean["checked_events"] == len(all_indexed_positions(service))
    assert clean["missing"] == clean["extra"] == clean["altered"] == []

    runtime = service.demo.runtime
    runtime.stop()  # the background indexer must not race the planted changes
    with session_scope(runtime.engine) as session:
        rows = session.execute(select(EVENTS).where(EVENTS.c.event_name == "DataUseLogged")
                               .order_by(EVENTS.c.id)).mappings().all()
        altered, deleted = rows[0], rows[1]
        args = {**json.loads(altered["args_json"]), "requestHash": "0x" + "66" * 32}
        session.execute(update(EVENTS).where(EVENTS.c.id == altered["id"]).values(args_json=json.dumps(args)))
        session.execute(delete(EVENTS).where(EVENTS.c.id == deleted["id"]))
        session.execute(insert(EVENTS).values({**without_id(deleted), "tx_hash": "0x" + "ab" * 32,
                                               "log_index": 99}))
    report = get(service, "/integrity")
    assert report["ok"] is False
    assert [(m["tx_hash"], m["log_index"]) for m in report["missing"]] == [(deleted["tx_hash"],
                                                                             deleted["log_index"])]
    assert [(x["tx_hash"], x["log_index"]) for x in report["extra"]] == [("0x" + "ab" * 32, 99)]
    assert len(report["altered"]) == 1 and report["altered"][0]["tx_hash"] == altered["tx_hash"]
    differences = report["altered"][0]["differences"]
    assert list(differences) == ["args"]
    assert differences["args"]["index"]["requestHash"] == "0x" + "66" * 32
    assert differences["args"]["chain"]["requestHash"] == json.loads(altered["args_json"])["requestHash"]
    narrow = get(service, "/integrity", from_block=altered["block_number"], to_block=altered["block_number"])
    assert narrow["altered_count"] == 1 and narrow["missing_count"] == 0

    restored = rebuild_index(runtime.chain, runtime.engine, runtime.deployment, confirmations=1)
    assert restored == clean["checked_events"]
    assert get(service, "/integrity")["ok"] is True

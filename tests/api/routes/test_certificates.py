"""Certificates end to end: issue (hash, upload, batch), lifecycle, QR codes, and public verification."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.api.routes.conftest import Service

ISSUER = ("CS-MSA", "department_user")  # 市场监督管理局 issues business licences
OTHER_ISSUER = ("CS-HRSS", "department_user")
NOT_ISSUER = ("CS-DRB", "department_user")
ID_NUMBER = "430102199001011234"


def window(days_before: int = 1, days_after: int = 365) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"valid_from": (now - timedelta(days=days_before)).isoformat(),
            "valid_until": (now + timedelta(days=days_after)).isoformat()}


def issue(service: Service, cert_id: str, document: bytes, *, who=ISSUER, **extra: Any) -> dict[str, Any]:
    body = {"certificate_id": cert_id, "certificate_type": "business-licence",
            "document_hash": hashlib.sha256(document).hexdigest(),
            "holder": {"id_number": ID_NUMBER}, **window(), **extra}
    response = service.client.post("/api/v1/certificates?wait=true", headers=service.key(*who), json=body)
    assert response.status_code in (200, 202), response.json()
    return response.json()


def verify(service: Service, **body: Any) -> dict[str, Any]:
    response = service.client.post("/api/v1/verify", json=body)
    assert response.status_code == 200, response.json()
    return response.json()


def test_an_issued_certificate_verifies_as_valid_by_number_hash_and_file(service: Service):
    document = "营业执照 长沙某某科技有限公司".encode()
    issued = issue(service, "LIC-2026-0001", document)
    assert issued["operation"]["status"] == "confirmed", issued
    assert issued["verification_url"].endswith("/verify/LIC-2026-0001")
    assert issued["holder_salt"] and ID_NUMBER not in json.dumps(issued)

    by_number = service.client.get("/api/v1/verify/certificates/LIC-2026-0001").json()
    assert by_number["status"] == "valid"
    assert by_number["issuer"] == {"code": "CS-MSA", "name": "长沙市市场监督管理局"}
    assert by_number["anchor"]["tx_hash"] == issued["operation"]["tx_hash"]

    by_hash = verify(service, document_hash=hashlib.sha256(document).hexdigest())
    assert by_hash["status"] == "valid" and by_hash["certificate_id"] == "LIC-2026-0001"
    by_file = service.client.post("/api/v1/verify", files={"document": ("licence.pdf", document)},
                                  data={"cert_id": "LIC-2026-0001"}).json()
    assert by_file["status"] == "valid" and by_file["document"]["matches"] is True

    holder_ok = verify(service, cert_id="LIC-2026-0001",
                       holder={"id_number": ID_NUMBER, "salt": issued["holder_salt"]})
    assert holder_ok["holder"] == {"checked": True, "matches": True}
    holder_wrong = verify(service, cert_id="LIC-2026-0001",
                          holder={"id_number": "430102199001019999", "salt": issued["holder_salt"]})
    assert holder_wrong["holder"]["matches"] is False


def test_a_changed_document_is_reported_as_tampered_and_unknown_ones_as_not_found(service: Service):
    issue(service, "LIC-T-1", b"original")
    tampered = verify(service, cert_id="LIC-T-1", document_hash=hashlib.sha256(b"forged").hexdigest())
    assert tampered["status"] == "tampered" and tampered["document"]["matches"] is False
    assert verify(service, cert_id="NO-SUCH-CERT")["status"] == "not_found"
    assert verify(service, document_hash="ab" * 32)["status"] == "not_found"


def test_the_lifecycle_revoke_suspend_reinstate_supersede(service: Service):
    client = service.client
    for cert_id in ("LIC-L-1", "LIC-L-2", "LIC-L-3", "LIC-L-4"):
        issue(service, cert_id, cert_id.encode())
    revoked = client.post("/api/v1/certificates/LIC-L-1/revoke?wait=true", headers=service.key(*ISSUER),
                          json={"reason_code": "LICENCE-CANCELLED"})
    assert revoked.json()["status"] == "confirmed", revoked.json()
    result = client.get("/api/v1/verify/certificates/LIC-L-1").json()
    assert result["status"] == "revoked" and result["reason"] == "LICENCE-CANCELLED"
    assert result["status_changed_at"]

    client.post("/api/v1/certificates/LIC-L-2/suspend?wait=true", headers=service.key(*ISSUER),
                json={"reason_code": "UNDER-REVIEW"})
    assert client.get("/api/v1/verify/certificates/LIC-L-2").json()["status"] == "suspended"
    client.post("/api/v1/certificates/LIC-L-2/reinstate?wait=true", headers=service.key(*ISSUER))
    assert client.get("/api/v1/verify/certificates/LIC-L-2").json()["status"] == "valid"

    superseded = client.post("/api/v1/certificates/LIC-L-3/supersede?wait=true", headers=service.key(*ISSUER),
                             json={"new_certificate_id": "LIC-L-4"})
    assert superseded.json()["status"] == "confirmed", superseded.json()
    result = client.get("/api/v1/verify/certificates/LIC-L-3").json()
    assert result["status"] == "superseded" and result["superseded_by"] == "LIC-L-4"


def test_only_the_issuing_department_changes_a_certificate(service: Service):
    issue(service, "LIC-O-1", b"owned")
    other = service.client.post("/api/v1/certificates/LIC-O-1/revoke", headers=service.key(*OTHER_ISSUER),
                                json={"reason_code": "X"})
    assert other.status_code == 403 and other.json()["error"]["code"] == "not_issuer"
    no_role = service.client.post("/api/v1/certificates", headers=service.key(*NOT_ISSUER),
                                  json={"certificate_type": "x", "document_hash": "11" * 32,
                                        "holder_commitment": "22" * 32, **window()})
    assert no_role.status_code == 403 and no_role.json()["error"]["code"] == "missing_role"
    assert service.client.get("/api/v1/verify/certificates/LIC-O-1").json()["status"] == "valid"


def test_an_issue_is_idempotent_and_a_taken_id_writes_nothing(service: Service):
    body = {"certificate_id": "LIC-ONCE", "certificate_type": "business-licence",
            "document_hash": hashlib.sha256(b"once").hexdigest(), "holder_commitment": "ab" * 32, **window()}
    first = service.client.post("/api/v1/certificates", headers=service.key(*ISSUER), json=body)
    again = service.client.post("/api/v1/certificates", headers=service.key(*ISSUER), json=body)
    assert first.status_code == again.status_code == 202, again.text
    assert again.json()["operation"]["id"] == first.json()["operation"]["id"]  # the retry is the same operation
    changed = service.client.post("/api/v1/certificates", headers=service.key(*ISSUER),
                                  json={**body, "holder_commitment": "cd" * 32})
    assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_key_reused"
    store = service.demo.runtime.tx_manager.store
    operations_before = sum(store.count_by_status().values())
    taken = service.client.post("/api/v1/certificates", headers=service.key(*OTHER_ISSUER), json=body)
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "certificate_exists", taken.text
    assert sum(store.count_by_status().values()) == operations_before  # no operation left behind to fail on chain


def test_expired_and_not_yet_valid_certificates(service: Service):
    now = datetime.now(UTC)
    issue(service, "LIC-E-1", b"old", valid_from=(now - timedelta(days=30)).isoformat(),
          valid_until=(now - timedelta(days=1)).isoformat())
    issue(service, "LIC-F-1", b"future", valid_from=(now + timedelta(days=1)).isoformat(),
          valid_until=(now + timedelta(days=30)).isoformat())
    assert service.client.get("/api/v1/verify/certificates/LIC-E-1").json()["status"] == "expired"
    assert service.client.get("/api/v1/verify/certificates/LIC-F-1").json()["status"] == "not_yet_valid"


def test_upload_issue_keeps_only_the_hash_and_qr_codes_encode_the_verification_url(service: Service):
    document = b"%PDF-1.7 qualification certificate"
    response = service.client.post(
        "/api/v1/certificates/upload?wait=true", headers=service.key(*ISSUER),
        files={"document": ("cert.pdf", document, "application/pdf")},
        data={"metadata": json.dumps({"certificate_id": "QUAL-1", "certificate_type": "qualification",
                                      "hash_algorithm": "sm3", "holder": {"id_number": ID_NUMBER},
                                      **window()})},
    )
    assert response.status_code == 200, response.json()
    from govledger.hashing import digest

    assert response.json()["document_hash"] == "0x" + digest("sm3", document).hex()
    png = service.client.get("/api/v1/certificates/QUAL-1/qr.png", headers=service.key(*ISSUER))
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    svg = service.client.get("/api/v1/certificates/QUAL-1/qr.svg", headers=service.key(*ISSUER))
    assert svg.status_code == 200 and b"<svg" in svg.content
    bundle = service.client.get("/api/v1/certificates/QUAL-1/bundle", headers=service.key(*ISSUER)).json()
    assert bundle["format"] == "govledger-certificate-bundle-1"
    assert service.client.post("/api/v1/verify/bundle", json=bundle).json()["status"] == "valid"
    bundle["certificate"]["documentHash"] = "0x" + "cd" * 32
    assert service.client.post("/api/v1/verify/bundle", json=bundle).json()["status"] == "tampered"


def test_batch_issue_then_revoke_one_of_the_batch(service: Service):
    certificates = [{"certificate_id": f"SS-{i:04d}", "certificate_type": "social-security",
                     "document_hash": hashlib.sha256(f"ss {i}".encode()).hexdigest(),
                     "holder_commitment": "0x" + hashlib.sha256(f"h{i}".encode()).hexdigest(), **window()}
                    for i in range(200)]
    response = service.client.post("/api/v1/certificates/batch?wait=true", headers=service.key(*OTHER_ISSUER),
                                   json={"certificates": certificates})
    assert response.status_code == 200, response.json()
    assert response.json()["operation"]["status"] == "confirmed"
    assert service.client.get("/api/v1/verify/certificates/SS-0042").json()["status"] == "valid"
    revoked = service.client.post("/api/v1/certificates/SS-0042/revoke?wait=true",
                                  headers=service.key(*OTHER_ISSUER), json={"reason_code": "ERROR"})
    assert revoked.json()["status"] == "confirmed", revoked.json()
    assert service.client.get("/api/v1/verify/certificates/SS-0042").json()["status"] == "revoked"
    assert service.client.get("/api/v1/verify/certificates/SS-0043").json()["status"] == "valid"


@pytest.mark.parametrize("body", [{}, {"cert_id": "bad id!"}, {"document_hash": "xyz"}, {"surprise": 1}])
def test_bad_verification_requests_get_422(service: Service, body: dict[str, Any]):
    response = service.client.post("/api/v1/verify", json=body)
    assert response.status_code == 422


def test_verification_is_public_but_rate_limited(service: Service):
    limit = service.demo.runtime.settings.public_rate_limit_per_minute
    statuses = [service.client.get("/api/v1/verify/certificates/NONE").status_code for _ in range(limit + 5)]
    assert statuses[0] == 200
    assert 429 in statuses


def test_no_endpoint_returns_the_holders_identity_number(service: Service):
    issued = issue(service, "LIC-P-1", b"privacy")
    everything = json.dumps(issued)
    everything += service.client.get("/api/v1/verify/certificates/LIC-P-1").text
    everything += service.client.get("/api/v1/certificates/LIC-P-1/bundle", headers=service.key(*ISSUER)).text
    everything += service.client.get(f"/api/v1/operations/{issued['operation']['id']}",
                                     headers=service.key(*ISSUER)).text
    assert ID_NUMBER not in everything


def test_validity_at_a_past_moment_is_replayed_from_the_chain(service: Service):
    from tests.api.routes.test_records import eventually

    issue(service, "LIC-H-1", b"history")
    chain = service.demo.runtime.chain
    before_revoke = datetime.fromtimestamp(chain.get_block("latest").timestamp, UTC)
    chain.mine_blocks(3)  # the revocation's block is seconds later on the chain's clock
    service.client.post("/api/v1/certificates/LIC-H-1/revoke?wait=true", headers=service.key(*ISSUER),
                        json={"reason_code": "FRAUD"})
    after_revoke = datetime.fromtimestamp(chain.get_block("latest").timestamp + 1, UTC)

    def at(moment: datetime) -> dict[str, Any]:
        return service.client.get("/api/v1/verify/certificates/LIC-H-1", params={"at": moment.isoformat()}).json()

    later = eventually(lambda: at(after_revoke), lambda r: r["status"] == "revoked")
    assert later["status"] == "revoked" and later["reason"] == "FRAUD"
    assert at(before_revoke)["status"] == "valid"
    assert at(before_revoke - timedelta(days=400))["status"] == "not_found"  # before it was issued


def test_the_holders_identity_number_never_reaches_a_log_line(service: Service, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    issued = issue(service, "LIC-LOG-1", b"logs")
    verify(service, cert_id="LIC-LOG-1", holder={"id_number": ID_NUMBER, "salt": issued["holder_salt"]})
    bad = service.client.post("/api/v1/certificates", headers=service.key(*ISSUER),
                              json={"certificate_type": "x", "document_hash": "zz", "holder": {"id_number": ID_NUMBER},
                                    **window()})
    assert bad.status_code == 422 and ID_NUMBER not in bad.text
    assert caplog.records, "the service logged nothing at all: the check below would prove nothing"
    assert all(ID_NUMBER not in record.getMessage() for record in caplog.records)

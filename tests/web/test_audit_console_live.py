"""The auditor console end to end: the whole demo service (embedded chain, real indexer) on uvicorn, in Chromium.

长沙市市场监督管理局 (CS-MSA) issues and revokes a certificate through the real API; 长沙市审计局 (CS-AUD) signs
in to /audit with the auditor key the demo created and audits it with the page alone.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from govledger.api.app import create_app
from govledger.demo import prepare_demo
from tests.web.conftest import PHONE_VIEWPORT, LiveServer, OpenPage
from tests.web.test_verify_page_live import VALID_DOCUMENT, _issue

CERT_ID = "LIC-AUD-0001"


@dataclass
class LiveAudit:
    url: str
    auditor_key: str
    department_key: str
    issue_tx_hash: str


def _wait_until_indexed(client: httpx.Client, headers: dict[str, str], event: str) -> None:
    # The indexer follows the chain in the background: the operation is confirmed before its event is indexed.
    for _ in range(100):
        found = client.get("/api/v1/audit/events", headers=headers, params={"event": event}).json()
        if found["events"]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{event} was never indexed")


@pytest.fixture(scope="module")
def live_audit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveAudit]:
    demo = prepare_demo(tmp_path_factory.mktemp("audit-demo") / "demo")
    msa_key = next(key for dept, role, key in demo.api_keys if dept == "CS-MSA" and role == "department_user")
    auditor_key = next(key for dept, role, key in demo.api_keys if dept == "CS-AUD" and role == "auditor")
    msa = {"Authorization": f"Bearer {msa_key}"}
    with LiveServer(create_app(demo.runtime)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        issued = _issue(client, msa, CERT_ID, VALID_DOCUMENT, "sha256")
        revoked = client.post(
            f"/api/v1/certificates/{CERT_ID}/revoke",
            params={"wait": "true"},
            headers=msa,
            json={"reason_code": "LICENCE-CANCELLED"},
        )
        assert revoked.status_code == 200, revoked.text
        _wait_until_indexed(client, {"Authorization": f"Bearer {auditor_key}"}, "CertificateRevoked")
        yield LiveAudit(server.url, auditor_key, msa_key, issued["operation"]["tx_hash"])


def sign_in(page: Page, key: str) -> None:
    page.fill("#api-key", key)
    page.click("#signin-submit")


def test_the_auditor_key_of_the_demo_opens_the_console_on_real_data(
    live_audit: LiveAudit, open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"{live_audit.url}/audit")
    sign_in(page, live_audit.auditor_key)
    page.wait_for_selector("#events-status[data-state=done]")
    page.wait_for_selector("#activity-status[data-state=done]")
    assert page.locator("#events-body tr").count() > 2
    row = page.locator(f"#events-body tr:has([data-copy='{live_audit.issue_tx_hash}'])")
    expect(row).to_have_count(1)
    assert "CertificateIssued" in row.inner_text()
    assert "CS-MSA" in row.inner_text()

    msa = page.locator("#departments-body tr[data-department=CS-MSA]")
    assert msa.locator("[data-field=on_chain]").inner_text() == "2"  # issued, revoked
    assert "✓ 完整" in msa.inner_text()
    today = page.locator("#activity-chart rect[data-department=CS-MSA]").last
    assert int(today.get_attribute("data-count") or 0) >= 2
    page.screenshot(path=str(tmp_path / "live-audit.png"), full_page=True)


def test_a_certificate_timeline_from_the_chain_links_to_its_verification(
    live_audit: LiveAudit, open_page: OpenPage
) -> None:
    page = open_page(f"{live_audit.url}/audit")
    sign_in(page, live_audit.auditor_key)
    page.wait_for_selector("#events-status[data-state=done]")
    page.fill("#f-event", "CertificateIssued,CertificateRevoked")
    page.click("#search")
    expect(page.locator("#events-body tr")).to_have_count(2)
    page.locator("#events-body button[data-subject]").first.click()
    page.wait_for_selector("#timeline-status[data-state=done]")
    assert page.inner_text("#timeline-heading") == f"对象时间线：certificate {CERT_ID}"
    assert page.eval_on_selector_all("#timeline-list li", "items => items.map(i => i.dataset.event)") == [
        "CertificateIssued",
        "CertificateRevoked",
    ]
    assert page.get_attribute("[data-role=verify-link]", "href") == f"/verify/{CERT_ID}"


def test_export_and_integrity_check_run_against_the_real_index(
    live_audit: LiveAudit, open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"{live_audit.url}/audit", viewport=PHONE_VIEWPORT)
    sign_in(page, live_audit.auditor_key)
    page.wait_for_selector("#events-status[data-state=done]")
    page.select_option("#f-department", "CS-MSA")
    page.fill("#f-event", "CertificateIssued,CertificateRevoked")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    saved = tmp_path / "export.csv"
    download_info.value.save_as(saved)
    lines = saved.read_text(encoding="utf-8").splitlines()
    assert "tx_hash" in lines[0].split(",")
    assert len(lines) == 3  # header, issued, revoked
    assert live_audit.issue_tx_hash in lines[1]

    page.click("#run-integrity")
    page.wait_for_selector("#integrity-result[data-state=done]")
    assert page.get_attribute("#integrity-result .banner", "data-ok") == "true"
    for field in ("missing", "extra", "altered"):
        assert page.inner_text(f"#integrity-result [data-field={field}] dd") == "0"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]


def test_a_department_key_is_not_an_auditor_key(live_audit: LiveAudit, open_page: OpenPage) -> None:
    page = open_page(f"{live_audit.url}/audit")
    sign_in(page, live_audit.department_key)
    expect(page.locator("#signin-error")).to_have_attribute("data-reason", "audit.error.forbidden")
    assert page.is_visible("#signin")

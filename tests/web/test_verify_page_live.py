"""The verification page end to end: the whole demo service (embedded chain) on uvicorn, in real Chromium.

Certificates are issued and revoked through the real API by 长沙市市场监督管理局 (CS-MSA); the citizen's
side is only the page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from govledger.api.app import create_app
from govledger.demo import prepare_demo
from govledger.hashing import digest, hash_hex
from tests.web.conftest import PHONE_VIEWPORT, LiveServer, OpenPage

ID_NUMBER = "430102199001011234"
VALID_DOCUMENT = "营业执照 长沙某某科技有限公司 统一社会信用代码 91430100MA4L000000".encode()
REVOKED_DOCUMENT = "营业执照 长沙某某贸易有限公司（已注销）".encode()
SM3_DOCUMENT = "职业资格证书 长沙市人力资源和社会保障局".encode()


@dataclass
class LiveDemo:
    url: str
    holder_salt: str
    valid_tx_hash: str


def _issue(client: httpx.Client, headers: dict[str, str], cert_id: str, document: bytes, algorithm: str) -> Any:
    now = datetime.now(UTC)
    body = {
        "certificate_id": cert_id,
        "certificate_type": "business-licence",
        "hash_algorithm": algorithm,
        "document_hash": hash_hex(digest(algorithm, document)),
        "holder": {"id_number": ID_NUMBER},
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=365)).isoformat(),
    }
    response = client.post("/api/v1/certificates", params={"wait": "true"}, headers=headers, json=body)
    assert response.status_code == 200, response.text
    issued = response.json()
    assert issued["operation"]["status"] == "confirmed", issued
    return issued


@pytest.fixture(scope="module")
def live_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDemo]:
    demo = prepare_demo(tmp_path_factory.mktemp("web-demo") / "demo")
    key = next(key for dept, role, key in demo.api_keys if dept == "CS-MSA" and role == "department_user")
    headers = {"Authorization": f"Bearer {key}"}
    with LiveServer(create_app(demo.runtime)) as server, httpx.Client(base_url=server.url, timeout=60) as client:
        valid = _issue(client, headers, "LIC-WEB-0001", VALID_DOCUMENT, "sha256")
        _issue(client, headers, "LIC-WEB-0002", REVOKED_DOCUMENT, "sha256")
        _issue(client, headers, "LIC-WEB-0003", SM3_DOCUMENT, "sm3")
        revoked = client.post(
            "/api/v1/certificates/LIC-WEB-0002/revoke",
            params={"wait": "true"},
            headers=headers,
            json={"reason_code": "LICENCE-CANCELLED"},
        )
        assert revoked.status_code == 200, revoked.text
        yield LiveDemo(server.url, valid["holder_salt"], valid["operation"]["tx_hash"])


def pick_file(page: Page, content: bytes, *, cert_id: str = "") -> str:
    if cert_id:
        page.fill("#cert-id", cert_id)
    page.set_input_files("#document", {"name": "licence.pdf", "mimeType": "application/pdf", "buffer": content})
    page.wait_for_selector("#result[data-status]")
    return page.get_attribute("#result", "data-status") or ""


def test_a_valid_certificate_file_shows_valid_with_its_chain_record(
    live_demo: LiveDemo, open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"{live_demo.url}/verify")
    assert pick_file(page, VALID_DOCUMENT) == "valid"
    assert page.inner_text("#result-title") == "有效"
    assert "长沙市市场监督管理局" in page.inner_text("#result [data-field=issuer] dd")
    assert page.inner_text("#result [data-field=certificate_id] dd") == "LIC-WEB-0001"
    assert live_demo.valid_tx_hash in page.inner_text("#result [data-field=tx_hash] dd")
    assert int(page.inner_text("#result [data-field=block_number] code")) > 0
    document_hash = "0x" + hashlib.sha256(VALID_DOCUMENT).hexdigest()
    assert page.inner_text("#result [data-field=document_hash] code") == document_hash
    page.screenshot(path=str(tmp_path / "live-valid.png"), full_page=True)


def test_a_revoked_certificate_shows_revoked(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify")
    assert pick_file(page, REVOKED_DOCUMENT) == "revoked"
    assert page.inner_text("#result-title") == "已吊销"
    assert page.get_attribute("#result", "data-tone") == "bad"
    assert page.inner_text("#result [data-field=status_changed_at] dd")


def test_a_revoked_certificate_shows_the_reason_given(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify/LIC-WEB-0002")
    page.wait_for_selector("#result[data-status=revoked]")
    reason = page.locator("#result [data-field=reason] dd")
    assert reason.count() == 1, "the verification API sent no reason for a revoked certificate"
    assert reason.inner_text() == "LICENCE-CANCELLED"


def test_an_altered_file_shows_tampered(live_demo: LiveDemo, open_page: OpenPage, tmp_path: Path) -> None:
    page = open_page(f"{live_demo.url}/verify", viewport=PHONE_VIEWPORT)
    assert pick_file(page, VALID_DOCUMENT + b" ", cert_id="LIC-WEB-0001") == "tampered"
    assert page.inner_text("#result-title") == "文件与登记不一致（疑似篡改）"
    assert page.get_attribute("#result", "data-tone") == "bad"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(tmp_path / "live-tampered-phone.png"), full_page=True)


def test_an_unregistered_file_shows_not_found(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify")
    assert pick_file(page, b"a document nobody registered") == "not_found"
    assert page.inner_text("#result-title") == "未找到"
    assert page.get_attribute("#result", "data-tone") == "neutral"


def test_an_unknown_number_from_a_link_shows_not_found(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify/LIC-WEB-9999?lang=en")
    page.wait_for_selector("#result[data-status]")
    assert page.get_attribute("#result", "data-status") == "not_found"
    assert page.inner_text("#result-title") == "Not found"


def test_the_qr_link_of_a_certificate_shows_its_status(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify/LIC-WEB-0002")
    page.wait_for_selector("#result[data-status]")
    assert page.get_attribute("#result", "data-status") == "revoked"


def test_an_sm3_registration_is_found_with_the_automatic_algorithm(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify")
    assert pick_file(page, SM3_DOCUMENT, cert_id="LIC-WEB-0003") == "valid"
    assert page.inner_text("#result [data-field=document_hash] code") == hash_hex(digest("sm3", SM3_DOCUMENT))


def test_the_holder_check_compares_with_the_commitment_on_chain(live_demo: LiveDemo, open_page: OpenPage) -> None:
    page = open_page(f"{live_demo.url}/verify")
    page.click("#holder summary")
    page.fill("#holder-id", ID_NUMBER)
    page.fill("#holder-salt", live_demo.holder_salt)
    page.fill("#cert-id", "LIC-WEB-0001")
    page.keyboard.press("Enter")
    page.wait_for_selector("#result[data-status]")
    assert page.inner_text("#result [data-field=holder] dd") == "持证人信息一致"

    page.fill("#holder-id", "430102199001019999")
    page.click("#submit")
    page.wait_for_selector("[data-role=holder-mismatch]")
    assert page.inner_text("#result [data-field=holder] dd") == "持证人信息不一致"

"""The verification page in real headless Chromium, against the canned API (tests/web/canned_api.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from govledger.hashing import digest, hash_hex
from govledger.web.pages import IMMUTABLE_CACHE, SHORT_CACHE, messages, render_page, static_files
from tests.web.canned_api import CERTIFICATES, HOLDER_ID_NUMBER, HOLDER_SALT, TX_HASH
from tests.web.conftest import PHONE_VIEWPORT, CannedServer, OpenPage

ZH = messages()["zh-CN"]
EN = messages()["en"]
CSP = "default-src 'self'; frame-ancestors 'none'; object-src 'none'"


def pick_file(page: Page, name: str, content: bytes) -> None:
    page.set_input_files("#document", {"name": name, "mimeType": "application/octet-stream", "buffer": content})


def wait_for_result(page: Page) -> str:
    page.wait_for_selector("#result[data-status]")
    return page.get_attribute("#result", "data-status") or ""


def field_text(page: Page, field: str) -> str:
    return page.inner_text(f"#result [data-field={field}] dd")


def test_page_loads_in_simplified_chinese_by_default(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("h1") == "电子证照核验"
    assert page.title() == "电子证照核验"
    assert page.inner_text("label[for=cert-id]") == "证照编号"
    assert page.inner_text("#submit") == "核验"
    assert page.get_attribute("#lang-switch", "lang") == "en"


def test_language_switch_shows_english_and_is_remembered(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    page.click("#lang-switch")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == EN["page.title"]
    assert page.inner_text("label[for=cert-id]") == "Certificate number"
    assert page.url.endswith("?lang=en")

    page.goto(f"{canned.url}/verify")  # no ?lang: the stored choice applies
    page.wait_for_selector("body[data-ready=true]")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#submit") == "Verify"

    page.click("#lang-switch")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("h1") == "电子证照核验"


def test_server_renders_the_asked_language_without_script(canned: CannedServer) -> None:
    english = httpx.get(f"{canned.url}/verify/MSA-2025-0001", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert '<h1 data-i18n="page.title">Verify an e-certificate</h1>' in english.text
    assert 'value="MSA-2025-0001"' in english.text
    chinese = httpx.get(f"{canned.url}/verify", params={"lang": "fr"})
    assert '<html lang="zh-CN">' in chinese.text


def test_every_string_exists_in_both_languages() -> None:
    assert set(ZH) == set(EN)
    for language in ("zh-CN", "en"):
        page = render_page(language)
        assert "{{" not in page
    for key, word in {
        "status.valid": "有效",
        "status.revoked": "已吊销",
        "status.suspended": "已暂停",
        "status.expired": "已过期",
        "status.not_yet_valid": "尚未生效",
        "status.superseded": "已被替代",
        "status.not_found": "未找到",
        "status.tampered": "文件与登记不一致（疑似篡改）",
        "field.issuer": "发证机关",
        "field.certificate_id": "证照编号",
        "field.tx_hash": "交易哈希",
        "field.block_number": "区块高度",
        "submit": "核验",
    }.items():
        assert ZH[key] == word


def test_sm3_in_the_browser_gives_the_standard_vectors(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    results = page.evaluate(
        """async () => {
            const { sm3, Sm3 } = await import('/static/sm3.js');
            const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
            const text = (s) => new TextEncoder().encode(s);
            const pieces = new Sm3();
            for (const piece of ['ab', 'cdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdab', 'cdabcd', 'abcd']) {
                pieces.update(text(piece));
            }
            return [hex(sm3(text('abc'))), hex(sm3(text('abcd'.repeat(16)))), hex(pieces.digest())];
        }"""
    )
    assert results == [
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0",
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
        "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732",
    ]


SAMPLE_FILES = {
    "empty.bin": b"",
    "abc.txt": b"abc",
    "block-edge.bin": bytes(range(56)) + bytes(range(64)),
    "证照.pdf": "电子证照 长沙市".encode() * 1000,
    "one-megabyte.bin": os.urandom(1 << 20),
}


@pytest.mark.parametrize("algorithm", ["sha256", "sm3"])
def test_file_digests_in_the_browser_equal_python(canned: CannedServer, open_page: OpenPage, algorithm: str) -> None:
    page = open_page(f"{canned.url}/verify")
    page.check(f"input[name=hash_algorithm][value={algorithm}]")
    for name, content in SAMPLE_FILES.items():
        canned.api.requests.clear()
        page.evaluate("document.getElementById('result').removeAttribute('data-status')")
        pick_file(page, name, content)
        assert wait_for_result(page) == "not_found"
        expected = hash_hex(digest(algorithm, content))
        assert page.inner_text("#result [data-field=document_hash] code") == expected, name
        assert canned.api.requests == [
            {"method": "POST", "body": {"document_hash": expected, "hash_algorithm": algorithm}}
        ], name


@pytest.mark.parametrize(
    ("case", "expected_status", "tone", "words"),
    [
        ("valid", "valid", "good", "有效"),
        ("revoked", "revoked", "bad", "已吊销"),
        ("tampered", "tampered", "bad", "文件与登记不一致（疑似篡改）"),
        ("not_found", "not_found", "neutral", "未找到"),
    ],
)
def test_picking_a_file_shows_an_unmistakable_result(
    canned: CannedServer, open_page: OpenPage, tmp_path: Path, case: str, expected_status: str, tone: str, words: str
) -> None:
    page = open_page(f"{canned.url}/verify")
    if case == "valid":
        pick_file(page, "licence.pdf", CERTIFICATES["MSA-2025-0001"].document)
    elif case == "revoked":
        pick_file(page, "licence.pdf", CERTIFICATES["MSA-2025-0002"].document)
    elif case == "tampered":
        page.fill("#cert-id", "MSA-2025-0001")
        pick_file(page, "licence.pdf", CERTIFICATES["MSA-2025-0001"].document + b" edited")
    else:
        pick_file(page, "unknown.pdf", b"a document nobody registered")

    assert wait_for_result(page) == expected_status
    assert page.get_attribute("#result", "data-tone") == tone
    assert page.inner_text("#result-title") == words
    banner = page.locator("#result .banner")
    expect(banner).to_have_class(re.compile(rf"\btone-{tone}\b"))
    assert banner.locator("svg use").get_attribute("href")  # an icon beside the words
    page.screenshot(path=str(tmp_path / f"{case}.png"), full_page=True)

    if case in ("valid", "revoked"):
        assert "长沙市市场监督管理局" in field_text(page, "issuer")
        assert "2025年1月1日" in field_text(page, "validity")
        assert TX_HASH in field_text(page, "tx_hash")
        assert "42" in field_text(page, "block_number")
    if case == "revoked":
        assert field_text(page, "reason") == "LICENCE-CANCELLED"
        assert "2025年6月1日" in field_text(page, "status_changed_at")
    if case == "tampered":
        assert field_text(page, "document") == "文件与登记不一致"
        assert CERTIFICATES["MSA-2025-0001"].document_hash in field_text(page, "registered_hash")


def test_certificate_number_alone_looks_up_its_status(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    page.fill("#cert-id", "MSA-2025-0002")
    page.click("#submit")
    assert wait_for_result(page) == "revoked"
    assert canned.api.requests == [{"method": "GET", "cert_id": "MSA-2025-0002"}]


def test_qr_link_shows_the_certificate_status_at_once(
    canned: CannedServer, open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"{canned.url}/verify/MSA-2025-0003")
    assert wait_for_result(page) == "superseded"
    assert page.get_attribute("#result", "data-tone") == "warn"
    assert page.inner_text("#result-title") == "已被替代"
    link = page.locator("#result [data-field=superseded_by] a")
    assert link.get_attribute("href") == "/verify/MSA-2025-0004"
    page.screenshot(path=str(tmp_path / "superseded.png"), full_page=True)


def test_unknown_certificate_number_is_not_found(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify/NO-SUCH-CERT")
    assert wait_for_result(page) == "not_found"
    assert page.inner_text("#result-title") == "未找到"
    assert field_text(page, "certificate_id") == "NO-SUCH-CERT"


def test_automatic_algorithm_follows_the_registration(canned: CannedServer, open_page: OpenPage) -> None:
    cert = CERTIFICATES["HRSS-2025-0007"]  # registered with SM3
    page = open_page(f"{canned.url}/verify?lang=en")
    page.fill("#cert-id", cert.certificate_id)
    pick_file(page, "qualification.pdf", cert.document)
    assert wait_for_result(page) == "suspended"
    assert page.inner_text("#result-title") == "Suspended"
    assert page.get_attribute("#result", "data-tone") == "warn"
    posted = [r["body"] for r in canned.api.requests if r["method"] == "POST"]
    sha256 = hash_hex(digest("sha256", cert.document))
    assert posted == [
        {"document_hash": sha256, "hash_algorithm": "sha256", "cert_id": cert.certificate_id},
        {"document_hash": cert.document_hash, "hash_algorithm": "sm3", "cert_id": cert.certificate_id},
    ]


def test_without_a_number_an_sm3_registration_is_still_found(canned: CannedServer, open_page: OpenPage) -> None:
    cert = CERTIFICATES["HRSS-2025-0007"]
    page = open_page(f"{canned.url}/verify")
    pick_file(page, "qualification.pdf", cert.document)
    assert wait_for_result(page) == "suspended"
    assert [r["body"]["hash_algorithm"] for r in canned.api.requests] == ["sha256", "sm3"]


def test_holder_check_is_sent_and_a_mismatch_is_shown(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    page.click("#holder summary")
    assert "不会被保存" in page.inner_text("#holder-note")
    page.fill("#holder-id", "430102199001019999")
    page.fill("#holder-salt", HOLDER_SALT)
    page.fill("#cert-id", "MSA-2025-0001")
    page.click("#submit")
    assert wait_for_result(page) == "valid"
    assert page.is_visible("[data-role=holder-mismatch]")
    assert field_text(page, "holder") == "持证人信息不一致"
    assert canned.api.requests[-1]["body"] == {
        "cert_id": "MSA-2025-0001",
        "holder": {"id_number": "430102199001019999", "salt": HOLDER_SALT},
    }

    page.fill("#holder-id", HOLDER_ID_NUMBER)
    page.click("#submit")
    expect(page.locator("#result [data-field=holder] dd")).to_have_text("持证人信息一致")
    assert not page.is_visible("[data-role=holder-mismatch]")


def test_result_follows_a_language_switch(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify/MSA-2025-0002")
    assert wait_for_result(page) == "revoked"
    page.click("#lang-switch")
    assert page.inner_text("#result-title") == "Revoked"
    assert page.inner_text("#result [data-field=issuer] dt") == "Issuing authority"


def test_bad_input_and_refusals_are_explained(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    page.click("#submit")
    assert wait_for_result(page) == "error"
    assert ZH["error.no_input"] in page.inner_text("#result")

    page.fill("#cert-id", "bad number with spaces")
    page.click("#submit")
    expect(page.locator("#result")).to_contain_text(ZH["error.bad_cert_id"])

    canned.api.refuse_with = 429
    try:
        page.fill("#cert-id", "MSA-2025-0001")
        page.click("#submit")
        expect(page.locator("#result")).to_contain_text(ZH["error.rate_limited"])
    finally:
        canned.api.refuse_with = None


def test_keyboard_alone_reaches_the_file_input_and_submits_a_number(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    focused: list[str] = []
    drop_zone_outline = ""
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
        if focused[-1] == "document":  # the drop zone shows where the focus is
            drop_zone_outline = page.evaluate("getComputedStyle(document.getElementById('dropzone')).outlineStyle")
        if focused[-1] == "cert-id":
            break
    assert "document" in focused, focused  # the drop zone is a real file input in the tab order
    assert focused.index("document") < focused.index("cert-id")
    assert drop_zone_outline == "solid"

    page.keyboard.type("MSA-2025-0001")
    page.keyboard.press("Enter")
    assert wait_for_result(page) == "valid"
    assert page.get_attribute("#result", "aria-live") == "polite"


def test_phone_screen_shows_the_result_without_sideways_scrolling(
    canned: CannedServer, open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"{canned.url}/verify", viewport=PHONE_VIEWPORT)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(tmp_path / "phone-form.png"), full_page=True)
    pick_file(page, "licence.pdf", CERTIFICATES["MSA-2025-0002"].document)
    assert wait_for_result(page) == "revoked"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(tmp_path / "phone-revoked.png"), full_page=True)


def _luminance(rgb: str) -> float:
    channels = [int(c) / 255 for c in re.findall(r"\d+", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("cert_id", ["MSA-2025-0001", "MSA-2025-0002", "HRSS-2025-0008", "NO-SUCH-CERT"])
def test_result_colours_meet_wcag_aa_contrast(canned: CannedServer, open_page: OpenPage, cert_id: str) -> None:
    page = open_page(f"{canned.url}/verify/{cert_id}")
    wait_for_result(page)
    colours = page.evaluate(
        """() => {
            const banner = document.querySelector('#result .banner');
            const style = getComputedStyle(banner);
            const icon = getComputedStyle(banner.querySelector('svg'));
            return [style.color, style.backgroundColor, icon.color];
        }"""
    )
    text, background, icon = colours
    assert contrast(text, background) >= 4.5
    assert contrast(icon, background) >= 3.0  # graphics need 3:1


def test_text_on_the_form_meets_wcag_aa_contrast(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    pairs = page.evaluate(
        """() => {
            const background = (node) => {
                for (; node; node = node.parentElement) {
                    const colour = getComputedStyle(node).backgroundColor;
                    if (colour !== 'rgba(0, 0, 0, 0)') return colour;
                }
                return 'rgb(255, 255, 255)';
            };
            return ['h1', '.subtitle', '.lang-switch', '.dropzone-label', '.privacy-note', '.hint', 'legend',
                    '#submit', 'label[for=cert-id]'].map((selector) => {
                const node = document.querySelector(selector);
                return [selector, getComputedStyle(node).color, background(node)];
            });
        }"""
    )
    for selector, foreground, background in pairs:
        assert contrast(foreground, background) >= 4.5, selector


def test_csp_violations_would_be_caught(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify")
    page.evaluate(
        """() => { const s = document.createElement('script'); s.textContent = 'window.ran = 1';
                   document.body.append(s); }"""
    )
    page.wait_for_function("window.__cspViolations.length > 0")
    assert page.evaluate("window.ran") is None  # the service's CSP refused the inline script
    page.problems.console_errors.clear()  # type: ignore[attr-defined]
    page.evaluate("window.__cspViolations = []")


def test_pages_and_static_files_carry_security_and_caching_headers(canned: CannedServer) -> None:
    page = httpx.get(f"{canned.url}/verify")
    assert page.headers["content-security-policy"] == CSP
    assert page.headers["cache-control"] == "no-cache"
    assert page.headers["content-type"].startswith("text/html")

    for name, static in static_files().items():
        # The verify page links its own files; modules it imports and the audit console's files are checked here
        # for headers only (test_audit_console checks that /audit links its own).
        assert f"/static/{name}?v={static.version}" in page.text or name in (
            "sm3.js", "digest.js", "audit.js", "audit.css"
        )
        versioned = httpx.get(f"{canned.url}/static/{name}", params={"v": static.version})
        assert versioned.status_code == 200
        assert versioned.headers["cache-control"] == IMMUTABLE_CACHE
        assert versioned.headers["content-security-policy"] == CSP
        plain = httpx.get(f"{canned.url}/static/{name}")
        assert plain.headers["cache-control"] == SHORT_CACHE
        again = httpx.get(f"{canned.url}/static/{name}", headers={"If-None-Match": plain.headers["etag"]})
        assert again.status_code == 304

    assert httpx.get(f"{canned.url}/static/verify.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{canned.url}/static/../pages.py").status_code == 404
    assert httpx.get(f"{canned.url}/static/nothing.js").status_code == 404


def test_configured_block_explorer_gets_a_link(canned: CannedServer, open_page: OpenPage) -> None:
    class Settings:
        block_explorer_tx_url = "https://explorer.example.gov.cn/tx/{tx_hash}?block={block_number}"

    class Runtime:
        settings = Settings()

    canned.app.state.runtime = Runtime()
    page = open_page(f"{canned.url}/verify/MSA-2025-0001")
    wait_for_result(page)
    link = page.locator("#result [data-role=explorer]")
    assert link.get_attribute("href") == f"https://explorer.example.gov.cn/tx/{TX_HASH}?block=42"


def test_without_an_explorer_the_values_can_be_copied(canned: CannedServer, open_page: OpenPage) -> None:
    page = open_page(f"{canned.url}/verify/MSA-2025-0001")
    wait_for_result(page)
    assert page.locator("#result [data-role=explorer]").count() == 0
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.locator("#result [data-field=tx_hash] button.copy")
    assert copy.get_attribute("aria-label") == "复制交易哈希"
    copy.click()
    expect(copy).to_have_text("已复制")
    assert page.evaluate("navigator.clipboard.readText()") == TX_HASH

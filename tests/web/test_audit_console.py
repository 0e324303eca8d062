"""The auditor console (/audit) in real headless Chromium, against the canned audit API (canned_audit_api.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from govledger.web.pages import AUDIT_TEMPLATE_FILE, IMMUTABLE_CACHE, messages, render_page, static_files
from tests.web.canned_audit_api import (
    ACTIVITY,
    AUDITOR_KEY,
    DEPARTMENT_KEY,
    EVENTS,
    FINAL_BLOCK,
    HRSS_MISSING,
    CannedAuditApi,
    csv_export,
    jsonl_export,
    matching_events,
)
from tests.web.conftest import PHONE_VIEWPORT, LiveServer, OpenPage, pages_app
from tests.web.test_verify_page import CSP, contrast

ZH = messages()["zh-CN"]
EN = messages()["en"]
EVENTS_PATH = "/api/v1/audit/events"
KEY_STORAGE = "govledger.audit.key"


@dataclass
class AuditServer:
    url: str
    api: CannedAuditApi


@pytest.fixture(scope="module")
def audit_server() -> Iterator[AuditServer]:
    api = CannedAuditApi()
    with LiveServer(pages_app(api.router)) as server:
        yield AuditServer(server.url, api)


@pytest.fixture
def audit(audit_server: AuditServer) -> Iterator[AuditServer]:
    audit_server.api.requests.clear()
    audit_server.api.revoked = False
    yield audit_server
    audit_server.api.revoked = False


def sign_in(page: Page, key: str = AUDITOR_KEY) -> None:
    page.fill("#api-key", key)
    page.click("#signin-submit")


def signed_in(audit: AuditServer, open_page: OpenPage, query: str = "", **options: object) -> Page:
    page = open_page(f"{audit.url}/audit{query}", **options)
    sign_in(page)
    page.wait_for_selector("body[data-signed-in=true]")
    page.wait_for_selector("#events-status[data-state=done]")
    page.wait_for_selector("#activity-status[data-state=done]")
    return page


def shown_rows(page: Page) -> list[tuple[int, int]]:
    found: list[list[str]] = page.eval_on_selector_all(
        "#events-body tr", "rows => rows.map(r => [r.dataset.block, r.dataset.logIndex])"
    )
    return [(int(block), int(log_index)) for block, log_index in found]


def last_events_query(audit: AuditServer) -> dict[str, list[str]]:
    query: dict[str, list[str]] = audit.api.calls(EVENTS_PATH)[-1]["query"]
    return query


def test_console_opens_in_simplified_chinese_at_a_password_sign_in(audit: AuditServer, open_page: OpenPage) -> None:
    page = open_page(f"{audit.url}/audit")
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.inner_text("h1") == "审计 · 完整性校验 · 导出"
    assert page.title() == "审计 · 完整性校验 · 导出"
    assert page.inner_text("label[for=api-key]") == "审计 API 密钥"
    assert page.get_attribute("#api-key", "type") == "password"
    assert page.is_visible("#signin")
    assert not page.is_visible("#console")
    assert audit.api.requests == []  # nothing is asked before a key is given


def test_sign_in_keeps_the_key_in_the_tab_session_only_and_sends_it_as_bearer(
    audit: AuditServer, open_page: OpenPage
) -> None:
    page = signed_in(audit, open_page)
    assert page.is_visible("#console")
    assert not page.is_visible("#signin")
    assert page.input_value("#api-key") == ""
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") == AUDITOR_KEY
    stored_elsewhere = page.evaluate("Object.values(localStorage).join(' ') + document.cookie + location.href")
    assert AUDITOR_KEY not in stored_elsewhere
    assert {call["authorization"] for call in audit.api.requests} == {f"Bearer {AUDITOR_KEY}"}
    assert all(AUDITOR_KEY not in json.dumps(call["query"]) for call in audit.api.requests)

    page.reload()  # the same tab keeps its session
    page.wait_for_selector("body[data-signed-in=true]")

    page.click("#signout")
    expect(page.locator("#signin")).to_be_visible()
    assert not page.is_visible("#console")
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    assert page.inner_text("#events-body") == ""
    expect(page.locator("#notice")).to_have_text(ZH["audit.signout.done"])


@pytest.mark.parametrize(
    ("key", "message"),
    [("glk_wrong_key", "audit.error.unauthorized"), (DEPARTMENT_KEY, "audit.error.forbidden")],
)
def test_a_wrong_key_is_refused_with_a_clear_message(
    audit: AuditServer, open_page: OpenPage, key: str, message: str
) -> None:
    page = open_page(f"{audit.url}/audit")
    sign_in(page, key)
    expect(page.locator("#signin-error")).to_have_text(ZH[message])
    assert page.is_visible("#signin")
    assert not page.is_visible("#console")
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    assert page.evaluate("document.activeElement.id") == "api-key"

    page.fill("#api-key", "")
    page.click("#signin-submit")
    expect(page.locator("#signin-error")).to_have_text(ZH["audit.error.no_key"])


def test_a_key_revoked_during_the_session_returns_to_sign_in(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    audit.api.revoked = True
    page.click("#search")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#signin-error")).to_have_text(ZH["audit.error.unauthorized"])
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") is None
    assert page.inner_text("#events-body") == ""


def test_filters_change_the_request_query_and_the_table(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    assert last_events_query(audit) == {"limit": ["50"]}

    page.fill("#f-event", "RecordAnchored， VersionEndorsed")
    page.select_option("#f-department", "CS-HRSS")
    page.fill("#f-from-time", "2026-11-01T08:00")  # the browser is in Asia/Shanghai (UTC+8)
    page.fill("#f-to-time", "2026-11-05T08:00")
    page.fill("#f-from-block", "101")
    page.fill("#f-to-block", "158")
    page.click("#search")
    page.wait_for_selector("#events-status[data-state=done]")
    expected = {
        "event": ["RecordAnchored,VersionEndorsed"],
        "department": ["CS-HRSS"],
        "from_time": ["2026-11-01T00:00:00.000Z"],
        "to_time": ["2026-11-05T00:00:00.000Z"],
        "from_block": ["101"],
        "to_block": ["158"],
        "limit": ["50"],
    }
    expect(page.locator("#events-body tr")).to_have_count(len(matching_events(expected)))
    assert last_events_query(audit) == expected
    wanted = [(event["block_number"], event["log_index"]) for event in matching_events(expected)]
    assert 0 < len(wanted) < 50
    assert shown_rows(page) == wanted
    for text in page.locator("#events-body td:nth-child(4)").all_inner_texts():
        assert text in ("RecordAnchored", "VersionEndorsed")

    subject = EVENTS[1]["subject"]
    page.click("#reset-filters")
    expect(page.locator("#events-body tr")).to_have_count(50)
    page.fill("#f-subject", subject)
    page.click("#search")
    expect(page.locator("#events-body tr")).to_have_count(len(matching_events({"subject": [subject]})))
    assert last_events_query(audit) == {"subject": [subject], "limit": ["50"]}

    page.fill("#f-from-block", "200")
    page.fill("#f-to-block", "100")
    page.click("#search")
    expect(page.locator("#filters-error")).to_have_text(ZH["audit.error.bad_range"])


def test_load_more_appends_the_next_page_without_gaps_or_repeats(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    all_rows = [(event["block_number"], event["log_index"]) for event in EVENTS]
    assert shown_rows(page) == all_rows[:50]
    assert page.is_visible("#load-more")

    page.click("#load-more")
    expect(page.locator("#events-body tr")).to_have_count(100)
    assert last_events_query(audit)["cursor"] == ["124:1"]
    page.click("#load-more")
    expect(page.locator("#events-body tr")).to_have_count(120)
    assert shown_rows(page) == all_rows
    assert not page.is_visible("#load-more")
    assert page.inner_text("#events-status") == ZH["audit.events.count"].format(count=120, final=FINAL_BLOCK)


def test_final_and_pending_events_are_marked_in_words(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    page.click("#load-more")
    page.click("#load-more")
    expect(page.locator("#events-body tr")).to_have_count(120)
    final = page.locator("#events-body tr[data-final=true]")
    pending = page.locator("#events-body tr[data-final=false]")
    assert final.count() == sum(1 for event in EVENTS if event["final"])
    assert pending.count() == sum(1 for event in EVENTS if not event["final"])
    assert ZH["audit.final"] in final.first.inner_text()
    assert ZH["audit.pending"] in pending.first.inner_text()
    first = page.locator("#events-body tr").first
    assert first.locator("[data-copy]").get_attribute("data-copy") == EVENTS[0]["tx_hash"]
    assert "2026-11-01 08:00:00" in first.inner_text().replace("/", "-")  # shown in the browser's time zone


def test_activity_chart_draws_each_days_counts_by_department(
    audit: AuditServer, open_page: OpenPage, tmp_path: Path
) -> None:
    page = signed_in(audit, open_page)
    assert audit.api.calls("/api/v1/audit/activity")[-1]["query"] == {"days": ["30"]}
    bars = page.eval_on_selector_all(
        "#activity-chart svg rect[data-count]",
        """rects => rects.map(r => [r.dataset.department, r.dataset.day, Number(r.dataset.count),
                                    Number(r.getAttribute('height')), r.getAttribute('fill')])""",
    )
    expected = {
        (one["department"], day, count)
        for one in ACTIVITY["series"]
        for day, count in zip(ACTIVITY["days"], one["counts"], strict=True)
        if count
    }
    assert {(department, day, count) for department, day, count, _, _ in bars} == expected
    assert len(bars) == len(expected)
    heights_per_action = {round(height / count, 3) for _, _, count, height, _ in bars}
    assert len(heights_per_action) == 1  # heights are proportional to the counts
    colours = {department: fill for department, _, _, _, fill in bars}
    assert len(set(colours.values())) == len(ACTIVITY["series"])  # one colour per department

    legend = page.locator("#activity-legend li")
    expect(legend).to_have_count(len(ACTIVITY["series"]))
    assert "长沙市市场监督管理局" in legend.first.inner_text()
    assert page.get_attribute("#activity-chart svg", "role") == "img"
    assert page.get_attribute("#activity-chart svg", "aria-labelledby") == "activity-heading"

    page.click("details.data-table summary")
    day = ACTIVITY["days"][3]
    cells = page.locator(f"#activity-table tr[data-day='{day}'] td").all_inner_texts()
    counts = [one["counts"][3] for one in ACTIVITY["series"]]
    assert cells == [str(count) for count in counts] + [str(sum(counts))]
    page.screenshot(path=str(tmp_path / "audit-desktop.png"), full_page=True)


def test_chart_colours_are_distinguishable_on_white(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    fills = page.eval_on_selector_all("#activity-legend svg rect", "rects => rects.map(r => r.getAttribute('fill'))")
    for fill in fills:
        rgb = "rgb({}, {}, {})".format(*(int(fill[i : i + 2], 16) for i in (1, 3, 5)))
        assert contrast(rgb, "rgb(255, 255, 255)") >= 3.0, fill


def test_clicking_a_certificate_subject_opens_its_timeline_with_a_verify_link(
    audit: AuditServer, open_page: OpenPage
) -> None:
    page = signed_in(audit, open_page)
    certificate = EVENTS[0]
    page.locator(f"#events-body button[data-subject='{certificate['subject']}']").first.click()
    page.wait_for_selector("#timeline-status[data-state=done]")
    kind, subject_id = certificate["subject"].split(":", 1)
    assert audit.api.calls(f"/api/v1/audit/timeline/{kind}/{subject_id}")
    assert page.inner_text("#timeline-heading") == f"对象时间线：{certificate['subject_label']}"
    history = [event for event in EVENTS if event["subject"] == certificate["subject"]]
    expect(page.locator("#timeline-list li")).to_have_count(len(history))
    assert page.eval_on_selector_all("#timeline-list li", "items => items.map(i => i.dataset.event)") == [
        event["event"] for event in history
    ]
    assert page.get_attribute("[data-role=verify-link]", "href") == "/verify/MSA-2026-0001"
    assert page.evaluate("document.activeElement.id") == "timeline"

    record = EVENTS[1]
    page.locator(f"#events-body button[data-subject='{record['subject']}']").first.click()
    expect(page.locator("#timeline-heading")).to_have_text(f"对象时间线：{record['subject_label']}")
    page.wait_for_selector("#timeline-status[data-state=done]")
    assert page.locator("[data-role=verify-link]").count() == 0
    anchor = page.inner_text("#timeline-proof")
    assert str(record["block_number"]) in anchor
    assert record["tx_hash"] in anchor

    page.click("#timeline-close")
    assert not page.is_visible("#timeline")


def test_department_completeness_shows_complete_and_lists_gaps(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    msa = page.locator("#departments-body tr[data-department=CS-MSA]")
    hrss = page.locator("#departments-body tr[data-department=CS-HRSS]")
    assert "✓ 完整" in msa.inner_text()
    assert "✗ 有缺失" in hrss.inner_text()
    assert hrss.locator("[data-role=missing]").inner_text() == "缺失的操作序号：" + ", ".join(map(str, HRSS_MISSING))
    on_chain = sum(1 for event in EVENTS if event["department"] == "CS-HRSS")
    assert hrss.locator("[data-field=on_chain]").inner_text() == str(on_chain)
    assert hrss.locator("[data-field=indexed]").inner_text() == str(on_chain - len(HRSS_MISSING))
    options = page.eval_on_selector_all("#f-department option", "os => os.map(o => o.value)")
    assert options == ["", "CS-MSA", "CS-HRSS", "CS-DRB", "CS-AUD"]


@pytest.mark.parametrize("format_", ["csv", "jsonl"])
def test_export_downloads_the_current_filter(
    audit: AuditServer, open_page: OpenPage, tmp_path: Path, format_: str
) -> None:
    page = signed_in(audit, open_page)
    page.select_option("#f-department", "CS-DRB")
    page.fill("#f-from-block", "110")
    with page.expect_download() as download_info:
        page.click(f"#export-{format_}")
    download = download_info.value
    assert download.suggested_filename.startswith("govledger-audit-")
    assert download.suggested_filename.endswith(f".{format_}")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    call = audit.api.calls("/api/v1/audit/export")[-1]
    assert call["query"] == {"department": ["CS-DRB"], "from_block": ["110"], "format": [format_]}
    assert call["authorization"] == f"Bearer {AUDITOR_KEY}"
    chosen = matching_events(call["query"])
    expected = csv_export(chosen) if format_ == "csv" else jsonl_export(chosen)
    assert saved.read_text(encoding="utf-8") == expected
    assert len(chosen) > 10
    expect(page.locator("#notice")).to_have_text(ZH["audit.export.done"].format(name=download.suggested_filename))


def test_integrity_check_shows_missing_extra_and_altered_counts(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    page.click("#run-integrity")
    page.wait_for_selector("#integrity-result[data-state=done]")
    assert audit.api.calls("/api/v1/audit/integrity")[-1]["query"] == {}
    assert page.get_attribute("#integrity-result .banner", "data-ok") == "false"
    assert page.inner_text("#integrity-result .banner") == f"✗ {ZH['audit.integrity.bad']}"
    counts = {
        field: page.inner_text(f"#integrity-result [data-field={field}] dd")
        for field in ("missing", "extra", "altered")
    }
    assert counts == {"missing": "1", "extra": "0", "altered": "1"}
    assert "120" in (page.text_content("#integrity-result [data-list=missing]") or "")

    page.fill("#f-from-block", "130")
    page.click("#run-integrity")
    expect(page.locator("#integrity-result .banner")).to_have_attribute("data-ok", "true")
    assert audit.api.calls("/api/v1/audit/integrity")[-1]["query"] == {"from_block": ["130"]}
    assert page.inner_text("#integrity-result .banner") == f"✓ {ZH['audit.integrity.ok']}"
    assert page.get_attribute("#integrity-result", "aria-live") == "polite"


def test_english_switch_redraws_the_console(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    page.locator("#events-body button[data-subject]").first.click()
    page.wait_for_selector("#timeline-status[data-state=done]")
    page.click("#lang-switch")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("h1") == EN["audit.title"]
    assert page.inner_text("#events thead th:first-child") == EN["audit.col.block"]
    assert EN["audit.final"] in page.inner_text("#events-body")
    assert "✓ Complete" in page.inner_text("#departments-body tr[data-department=CS-MSA]")
    assert page.inner_text("#timeline-heading").startswith("Timeline: ")
    assert "?lang=en" in page.url
    assert page.evaluate(f"sessionStorage.getItem('{KEY_STORAGE}')") == AUDITOR_KEY

    english = httpx.get(f"{audit.url}/audit", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert f'<h1 data-i18n="audit.title">{EN["audit.title"]}</h1>' in english.text


def test_keyboard_alone_signs_in_and_opens_a_timeline(audit: AuditServer, open_page: OpenPage) -> None:
    page = open_page(f"{audit.url}/audit")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "api-key":
            break
    assert page.evaluate("document.activeElement.id") == "api-key"
    page.keyboard.type(AUDITOR_KEY)
    page.keyboard.press("Enter")
    page.wait_for_selector("#events-status[data-state=done]")
    page.locator("#events-body button[data-subject]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#timeline-status[data-state=done]")
    assert page.evaluate("document.activeElement.id") == "timeline"


def test_phone_screen_shows_the_console_without_sideways_scrolling(
    audit: AuditServer, open_page: OpenPage, tmp_path: Path
) -> None:
    page = open_page(f"{audit.url}/audit", viewport=PHONE_VIEWPORT)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(tmp_path / "audit-phone-signin.png"), full_page=True)
    sign_in(page)
    page.wait_for_selector("#events-status[data-state=done]")
    page.wait_for_selector("#activity-status[data-state=done]")
    page.click("#run-integrity")
    page.wait_for_selector("#integrity-result[data-state=done]")
    page.locator("#events-body button[data-subject]").first.click()
    page.wait_for_selector("#timeline-status[data-state=done]")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_VIEWPORT["width"]
    page.screenshot(path=str(tmp_path / "audit-phone.png"), full_page=True)


def test_text_meets_wcag_aa_contrast(audit: AuditServer, open_page: OpenPage) -> None:
    page = signed_in(audit, open_page)
    page.click("#load-more")
    page.click("#load-more")
    expect(page.locator("#events-body tr")).to_have_count(120)  # pending events are in the last page
    page.click("#run-integrity")
    page.wait_for_selector("#integrity-result[data-state=done]")
    pairs = page.evaluate(
        """() => {
            const background = (node) => {
                for (; node; node = node.parentElement) {
                    const colour = getComputedStyle(node).backgroundColor;
                    if (colour !== 'rgba(0, 0, 0, 0)') return colour;
                }
                return 'rgb(255, 255, 255)';
            };
            return ['h1', '.subtitle', '.session-bar', '.hint', '#events thead th', '.badge.final', '.badge.pending',
                    '.link-button', '.verdict.ok', '.verdict.gaps', '.missing', '#integrity-result .banner',
                    '.counts dt', '#search', '#export-csv', '.copy'].map((selector) => {
                const node = document.querySelector(selector);
                return [selector, getComputedStyle(node).color, background(node)];
            });
        }"""
    )
    for selector, foreground, background in pairs:
        assert contrast(foreground, background) >= 4.5, selector


def test_console_page_is_served_with_the_csp_and_no_cache(audit: AuditServer) -> None:
    response = httpx.get(f"{audit.url}/audit")
    assert response.status_code == 200
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["cache-control"] == "no-cache"
    assert re.search(r'<script type="module" src="/static/audit\.js\?v=[0-9a-f]{16}"></script>', response.text)
    assert "<style" not in response.text and " style=" not in response.text
    for language in ("zh-CN", "en"):
        assert "{{" not in render_page(language, template=AUDIT_TEMPLATE_FILE)
    for name in ("audit.js", "audit.css", "messages.json", "favicon.svg"):
        version = static_files()[name].version
        assert f"/static/{name}?v={version}" in response.text
        versioned = httpx.get(f"{audit.url}/static/{name}", params={"v": version})
        assert versioned.headers["cache-control"] == IMMUTABLE_CACHE

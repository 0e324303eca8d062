"""The public certificate verification pages (电子证照核验), the auditor console and the static files they load.

    GET /verify             the form: pick or drop the certificate file (hashed in the browser), or type its number
    GET /verify/{cert_id}   where a certificate's QR code leads: the same page, which looks the certificate up at once
    GET /audit              the auditor console (审计): the page itself is public; its script signs in with an auditor
                            key and calls /api/v1/audit/..., so no data is in the page
    GET /static/{name}      the pages' script, styles and strings

Each page is one template filled in here with the strings of one language from static/messages.json; the
page's script loads the same dictionary to switch language in place, so every string lives in one file.
Nothing is inline: the service's Content-Security-Policy ("default-src 'self'") admits no inline script or
style. Static URLs in the page carry a content hash (``?v=``), so browsers may keep them for a year.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse

from govledger.errors import NotFoundError

WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
TEMPLATE_FILE = TEMPLATES_DIR / "verify.html"
AUDIT_TEMPLATE_FILE = TEMPLATES_DIR / "audit.html"
STATIC_DIR = WEB_DIR / "static"
MESSAGES_FILE = STATIC_DIR / "messages.json"

DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")
#: What ``?lang=`` accepts for each page language (the switch link writes the first).
_LANGUAGE_ALIASES = {"zh-cn": "zh-CN", "zh": "zh-CN", "cn": "zh-CN", "en": "en", "en-us": "en", "en-gb": "en"}

#: Versioned static URLs never change content, so browsers keep them; unversioned ones are revalidated soon.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE = "public, max-age=300"
# The page itself is small and names the current asset versions: always revalidate it.
PAGE_CACHE = "no-cache"

_MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)(?::([A-Za-z0-9_.\-]+))?\s*\}\}")
# Only http(s) explorer links: a javascript: URL from a bad setting must not end up behind a click.
_EXPLORER_URL = re.compile(r"^https?://[^\s\"'<>]+$")

router = APIRouter(tags=["verification pages"])


@dataclass(frozen=True)
class StaticFile:
    content: bytes
    media_type: str
    version: str

    @property
    def etag(self) -> str:
        return f'"{self.version}"'


@cache
def static_files() -> dict[str, StaticFile]:
    """Every file the pages may load, read once: the folder is part of the package and does not change."""
    files: dict[str, StaticFile] = {}
    for path in sorted(STATIC_DIR.iterdir()):
        media_type = _MEDIA_TYPES.get(path.suffix)
        if media_type is None or not path.is_file():
            continue
        content = path.read_bytes()
        files[path.name] = StaticFile(content, media_type, hashlib.sha256(content).hexdigest()[:16])
    return files


@cache
def messages() -> dict[str, dict[str, str]]:
    """The page strings, by language then key."""
    loaded: dict[str, dict[str, str]] = json.loads(MESSAGES_FILE.read_text(encoding="utf-8"))
    return loaded


@cache
def _template(path: Path = TEMPLATE_FILE) -> str:
    return path.read_text(encoding="utf-8")


def page_language(requested: str | None) -> str:
    """The page language for a ``?lang=`` value; Simplified Chinese unless English is asked for."""
    if requested is None:
        return DEFAULT_LANGUAGE
    return _LANGUAGE_ALIASES.get(requested.strip().lower(), DEFAULT_LANGUAGE)


def render_page(
    language: str, *, cert_id: str = "", explorer_tx_url: str | None = None, template: Path = TEMPLATE_FILE
) -> str:
    """The verification page in ``language``, with ``cert_id`` filled in (looked up at once when not empty).

    ``explorer_tx_url`` is a block-explorer link template with ``{tx_hash}`` (and optionally
    ``{block_number}``); without one the page shows the on-chain values with copy buttons.
    ``template`` picks another page with the same placeholders (``AUDIT_TEMPLATE_FILE``).
    """
    strings = messages()[language]
    other = next(lang for lang in LANGUAGES if lang != language)
    explorer = explorer_tx_url if explorer_tx_url and _EXPLORER_URL.match(explorer_tx_url) else ""
    values: dict[str, str] = {
        "lang": language,
        "other_lang": other,
        "cert_id": cert_id,
        "explorer": explorer,
    }

    def fill(match: re.Match[str]) -> str:
        kind, argument = match.group(1), match.group(2)
        if kind == "t" and argument is not None:
            return html.escape(strings[argument])
        if kind == "asset" and argument is not None:
            return html.escape(f"/static/{argument}?v={static_files()[argument].version}")
        return html.escape(values[kind])

    return _PLACEHOLDER.sub(fill, _template(template))


def _explorer_tx_url(request: Request) -> str | None:
    # Optional setting: an installation without a public block explorer simply leaves it unset.
    settings: Any = getattr(getattr(request.app.state, "runtime", None), "settings", None)
    value = getattr(settings, "block_explorer_tx_url", None)
    return value if isinstance(value, str) else None


def _page(request: Request, lang: str | None, cert_id: str = "", template: Path = TEMPLATE_FILE) -> HTMLResponse:
    explorer = _explorer_tx_url(request)
    body = render_page(page_language(lang), cert_id=cert_id, explorer_tx_url=explorer, template=template)
    return HTMLResponse(body, headers={"Cache-Control": PAGE_CACHE})


LangQuery = Annotated[str | None, Query(max_length=16, description="Page language: zh-CN (default) or en.")]


@router.get("/verify", response_class=HTMLResponse, include_in_schema=False)
def verify_form(request: Request, lang: LangQuery = None) -> HTMLResponse:
    """The certificate verification page (电子证照核验)."""
    return _page(request, lang)


@router.get("/verify/{cert_id:path}", response_class=HTMLResponse, include_in_schema=False)
def verify_certificate(
    request: Request, cert_id: Annotated[str, PathParam(max_length=64)], lang: LangQuery = None
) -> HTMLResponse:
    """The verification page for one certificate: its QR code leads here and the page shows its status."""
    return _page(request, lang, cert_id)


@router.get("/audit", response_class=HTMLResponse, include_in_schema=False)
def audit_console(request: Request, lang: LangQuery = None) -> HTMLResponse:
    """The auditor console (审计 · 完整性校验 · 导出): events, activity, timelines, completeness, export."""
    return _page(request, lang, template=AUDIT_TEMPLATE_FILE)


@router.get("/static/{name}", include_in_schema=False)
def static_file(request: Request, name: str, v: str | None = None) -> Response:
    """A script, style sheet or string table of the pages, with caching headers."""
    found = static_files().get(name)
    if found is None:
        raise NotFoundError(f"no static file {name!r}")
    headers = {"ETag": found.etag, "Cache-Control": IMMUTABLE_CACHE if v == found.version else SHORT_CACHE}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.content, media_type=found.media_type, headers=headers)

"""HTTP hardening: security headers on every response and a limit on request body size.

``SecurityHeadersMiddleware`` adds headers that stop browsers from sniffing content types, framing our
pages (click-jacking) or leaking URLs in the Referer, and a Content-Security-Policy that allows no inline
script. A response that sets its own Content-Security-Policy keeps it (the API docs page needs one that
admits Swagger UI; see ``docs_content_security_policy``).

``BodySizeLimitMiddleware`` refuses oversized bodies before they are buffered: at once when
Content-Length says so, and while reading for chunked uploads.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govledger.api.errors import error_response

DEFAULT_MAX_BODY_BYTES = 1 << 20
CONTENT_SECURITY_POLICY = "default-src 'self'; frame-ancestors 'none'; object-src 'none'"
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
}
# Where FastAPI's Swagger UI page loads its script, style and icon from.
SWAGGER_UI_ORIGINS = "https://cdn.jsdelivr.net"
SWAGGER_UI_ICON_ORIGIN = "https://fastapi.tiangolo.com"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


class SecurityHeadersMiddleware:
    """Adds ``SECURITY_HEADERS`` to every HTTP response, without overriding headers a route set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._headers = [
            (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in SECURITY_HEADERS.items()
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in self._headers if name not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PayloadTooLargeError(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit; mapped to 413 payload_too_large."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than ``max_body_bytes`` with 413 payload_too_large."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large()(scope, receive, send)
            return

        received = 0
        response_started = False

        async def receive_with_limit() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    # An HTTPException, so FastAPI's body parsing passes it on to the error handlers.
                    raise PayloadTooLargeError
            return message

        async def send_tracking(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, receive_with_limit, send_tracking)
        except PayloadTooLargeError:
            # Reached when the body was read outside a route (e.g. by a middleware) and nothing mapped it.
            if response_started:
                raise
            await self._too_large()(scope, receive, send)

    def _too_large(self) -> ASGIApp:
        return error_response(
            413,
            "payload_too_large",
            "the request body is too large",
            {"max_bytes": self.max_body_bytes},
            {"Connection": "close"},
        )


def docs_content_security_policy(html: str) -> str:
    """A policy for the Swagger UI page: its CDN, plus exactly its own inline start-up script (by hash)."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii") + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        "default-src 'self'; frame-ancestors 'none'; object-src 'none'; "
        f"script-src 'self' {SWAGGER_UI_ORIGINS} {hashes}; "
        # Swagger UI's own stylesheet sets inline styles; styles cannot run code.
        f"style-src 'self' {SWAGGER_UI_ORIGINS} 'unsafe-inline'; "
        f"img-src 'self' data: {SWAGGER_UI_ICON_ORIGIN}"
    )


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

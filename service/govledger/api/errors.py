"""Every failure becomes one response shape, and every request gets an id that ties response and logs together.

The shape is ``{"error": {"code": "...", "message": "...", "details": {...}}}`` (``details`` only when
there is something safe to add). ``install_error_handlers`` registers the mapping for:

* ``GovLedgerError``            its own status, code and message; details for 4xx only (5xx details can
                                name hosts or SQL, so they are logged instead); a 503 (chain or database
                                unavailable) carries ``Retry-After``, so clients back off instead of hammering
* ``RequestValidationError``    422 invalid_request with each problem's location and message, never the
                                offending value (it might be a secret); 400 malformed_json when the body
                                is not JSON; 415 unsupported_media_type when a JSON body came as another type
* Starlette ``HTTPException``   404 not_found, 405 method_not_allowed, 413 payload_too_large, ...
* anything else                 500 internal_error with a generic message; the traceback goes to the log

``RequestContextMiddleware`` assigns the request id (``X-Request-ID``), writes an access-log line, and
turns an exception that escaped everything else into the 500 response, so that it also carries the id.
"""

from __future__ import annotations

import contextvars
import logging
import re
import time
import uuid
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from govledger.errors import AuthenticationError, GovLedgerError, RateLimitedError

logger = logging.getLogger("govledger.api")
access_logger = logging.getLogger("govledger.api.access")

REQUEST_ID_HEADER = "X-Request-ID"
#: A log format that shows the request id; every record has ``request_id`` once the API is imported.
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"

# An incoming id is reused (so a proxy's id correlates) only if it cannot smuggle anything into headers or logs.
_INCOMING_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_NO_REQUEST = "-"
_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("govledger_request_id", default=_NO_REQUEST)

_HTTP_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_HTTP_STATUS_MESSAGES = {
    404: "no such endpoint",
    405: "this endpoint does not support the HTTP method",
    413: "the request body is too large",
}
_JSON_MEDIA_TYPE = "application/json"
MAX_LISTED_PROBLEMS = 3
#: Seconds a client is told to wait after a 503: a node or database restart is seldom over sooner, and a
#: client that retries at once only adds load while it is away.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5


def current_request_id() -> str:
    """The id of the request being handled, or "-" outside a request."""
    return _current_request_id.get()


def error_response(
    status: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error body: ``{"error": {"code", "message", "details"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = dict(details)
    return JSONResponse({"error": error}, status_code=status, headers=dict(headers or {}))


def internal_error_response() -> JSONResponse:
    """The 500 response: says nothing about the cause, only how to find it in the logs."""
    return error_response(
        500,
        "internal_error",
        f"an internal error occurred; quote request id {current_request_id()} when reporting it",
    )


async def govledger_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, GovLedgerError)
    headers: dict[str, str] = {}
    if isinstance(exc, AuthenticationError):
        # RFC 9110: a 401 must say how to authenticate.
        headers["WWW-Authenticate"] = 'Bearer realm="govledger"'
    if isinstance(exc, RateLimitedError) and "retry_after_seconds" in exc.details:
        headers["Retry-After"] = str(exc.details["retry_after_seconds"])
    if exc.status == 503:
        headers["Retry-After"] = str(exc.details.get("retry_after_seconds", UNAVAILABLE_RETRY_AFTER_SECONDS))
    if exc.status >= 500:
        logger.error("%s (%s): %s %s", exc.code, exc.status, exc.message, exc.details, exc_info=exc)
        return error_response(exc.status, exc.code, exc.message, headers=headers)
    return error_response(exc.status, exc.code, exc.message, exc.details, headers)


async def request_validation_error_handler(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    malformed = next((p for p in problems if p.get("type") == "json_invalid"), None)
    if malformed is not None:
        loc = malformed.get("loc", ())
        details: dict[str, Any] = {"reason": str(malformed.get("ctx", {}).get("error", "invalid JSON"))}
        if len(loc) > 1 and isinstance(loc[1], int):
            details["position"] = loc[1]
        return error_response(400, "malformed_json", "the request body is not valid JSON", details)
    # FastAPI leaves the body as raw bytes exactly when the content type is not JSON.
    if isinstance(exc.body, bytes | bytearray) and exc.body and any(_location(p).startswith("body") for p in problems):
        return error_response(
            415, "unsupported_media_type", f"send the request body as {_JSON_MEDIA_TYPE} (Content-Type header)"
        )
    fields = [{"location": _location(p), "message": str(p.get("msg", "invalid value"))} for p in problems]
    summary = "; ".join(f"{f['location']}: {f['message']}" for f in fields[:MAX_LISTED_PROBLEMS])
    if len(fields) > MAX_LISTED_PROBLEMS:
        summary += f" (and {len(fields) - MAX_LISTED_PROBLEMS} more)"
    return error_response(422, "invalid_request", f"invalid request: {summary}", {"fields": fields})


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    if status == 400 and _declares_json(request):
        # FastAPI's answer to a JSON body it could not even decode (e.g. invalid UTF-8).
        return error_response(400, "malformed_json", "the request body is not valid JSON")
    code = _HTTP_STATUS_CODES.get(status, "http_error")
    message = _HTTP_STATUS_MESSAGES.get(status) or _phrase(status, exc.detail)
    return error_response(status, code, message, headers=exc.headers)


async def unhandled_error_handler(_request: Request, exc: Exception) -> Response:
    logger.error("unhandled error", exc_info=exc)
    return internal_error_response()


def install_error_handlers(app: FastAPI) -> None:
    """Register the mapping above on ``app``."""
    app.add_exception_handler(GovLedgerError, govledger_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_error_handler)
    app.add_exception_handler(HTTPException, http_exception_handler)
    # A last resort only: RequestContextMiddleware normally turns escaped exceptions into the 500 first.
    app.add_exception_handler(Exception, unhandled_error_handler)


class RequestContextMiddleware:
    """Request id in and out, one access-log line per request, and the 500 for anything that escaped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id_from(scope)
        token = _current_request_id.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_request_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER.lower().encode("latin-1"), request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception:
            logger.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not response_started:
                await internal_error_response()(scope, receive, send_with_request_id)
        finally:
            access_logger.info(
                "%s %s %s %.1fms",
                scope.get("method"),
                scope.get("path"),
                status,
                (time.perf_counter() - started) * 1000,
            )
            _current_request_id.reset(token)


def install_request_id_logging() -> None:
    """Give every log record a ``request_id`` attribute (for ``LOG_FORMAT``); safe to call repeatedly."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_govledger_request_id", False):
        return

    def record_with_request_id(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = _current_request_id.get()
        return record

    record_with_request_id._govledger_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(record_with_request_id)


def _request_id_from(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _INCOMING_REQUEST_ID.match(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _declares_json(request: Request) -> bool:
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return media_type == _JSON_MEDIA_TYPE or (media_type.startswith("application/") and media_type.endswith("+json"))


def _location(problem: Mapping[str, Any]) -> str:
    return ".".join(str(part) for part in problem.get("loc", ())) or "request"


def _phrase(status: int, detail: object) -> str:
    if isinstance(detail, str) and detail:
        return detail
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"

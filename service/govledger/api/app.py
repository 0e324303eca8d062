"""The FastAPI application factory: ``create_app(runtime)`` wires routes, error handling and middleware.

Middleware, outermost first: security headers -> request id, access log and last-resort 500 ->
metrics -> body size limit -> FastAPI's own (error handlers, routing). Security headers are outermost so
that even the last-resort 500 carries them. The runtime's background workers run for the lifetime of
the app (``runtime.start()`` at start-up, ``runtime.stop()`` at shut-down), except in the API processes of
``serve --processes N``, where one separate process runs them (``run_background=False``, see
govledger.processes).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware import Middleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from govledger import __version__
from govledger.api.deps import AppRuntime
from govledger.api.errors import RequestContextMiddleware, install_error_handlers, install_request_id_logging
from govledger.api.metrics import Metrics, MetricsMiddleware
from govledger.api.metrics import router as metrics_router
from govledger.api.openapi import document_errors
from govledger.api.ratelimit import TokenBucketLimiter
from govledger.api.recent_keys import RecentKeys
from govledger.api.routes import ROUTERS
from govledger.api.security import (
    DEFAULT_MAX_BODY_BYTES,
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
    docs_content_security_policy,
)

TITLE = "govledger"
DESCRIPTION = (
    "A city's permissioned government blockchain: departments anchor record hashes, share data under "
    "authorisations and issue e-certificates; citizens verify them; auditors audit.\n\n"
    "Authenticate with a department API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`. "
    'Errors are always `{"error": {"code", "message", "details"?}}`; every response carries `X-Request-ID`.'
)
DOCS_PATH = "/docs"


def create_app(runtime: AppRuntime, *, max_body_bytes: int | None = None, run_background: bool = True) -> FastAPI:
    """The govledger API serving ``runtime``; request bodies over ``max_body_bytes`` get 413.

    The limit defaults to the runtime's ``max_request_bytes`` setting (large enough for a 10,000-record batch).
    ``run_background=False`` leaves the runtime's workers stopped: the app then only reads and writes the
    database, and another process must run the workers (nonces and batches have a single writer).
    """
    if max_body_bytes is None:
        max_body_bytes = getattr(runtime.settings, "max_request_bytes", DEFAULT_MAX_BODY_BYTES)
    install_request_id_logging()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run on this many threads. More threads than cores only add GIL hand-overs (each
        # request is CPU work between short waits on the database or the node), so the pool is kept small.
        threads = getattr(runtime.settings, "request_threads", None)
        if threads:
            anyio.to_thread.current_default_thread_limiter().total_tokens = threads
        if not run_background:
            yield
            return
        # start()/stop() may block (connecting to the chain, joining threads): keep them off the event loop.
        await anyio.to_thread.run_sync(runtime.start)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(runtime.stop)

    app = FastAPI(
        title=TITLE,
        description=DESCRIPTION,
        version=__version__,
        lifespan=lifespan,
        # Served by _add_docs instead, with a Content-Security-Policy that fits the page.
        docs_url=None,
        redoc_url=None,
        middleware=[
            Middleware(SecurityHeadersMiddleware),
            Middleware(RequestContextMiddleware),
            Middleware(MetricsMiddleware, metrics=metrics),
            Middleware(BodySizeLimitMiddleware, max_body_bytes=max_body_bytes),
        ],
    )
    settings = runtime.settings
    app.state.runtime = runtime
    app.state.metrics = metrics
    app.state.public_limiter = TokenBucketLimiter(settings.public_rate_limit_per_minute, name="requests")
    app.state.recent_keys = RecentKeys(runtime.engine, settings.api_key_cache_seconds)
    app.state.auth_failure_limiter = TokenBucketLimiter(
        settings.auth_failure_limit_per_minute, name="failed authentication attempts"
    )
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.include_router(metrics_router)
    _add_docs(app)
    document_errors(app)

    # Optional hook: the runtime adds its own gauges (e.g. operations by status) to this app's registry.
    register_metrics = getattr(runtime, "register_metrics", None)
    if callable(register_metrics):
        register_metrics(metrics)
    return app


def _add_docs(app: FastAPI) -> None:
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS_PATH, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        """Interactive API documentation (Swagger UI)."""
        page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{TITLE} API")
        html = bytes(page.body).decode("utf-8")
        return HTMLResponse(html, headers={"Content-Security-Policy": docs_content_security_policy(html)})

"""Prometheus metrics of one app: request counts and latency by route template, plus gauges others register.

Each app has its own ``CollectorRegistry`` (not prometheus_client's global one), so several apps in one
process, as in the tests, do not collide. Requests are labelled with the route *template*
(``/operations/{operation_id}``), never the raw path, and unknown paths share one label, so that the
number of series stays bounded whatever clients send.

Other parts register their own numbers through ``Metrics.gauge`` (set it yourself) or
``Metrics.gauge_callback`` (read at scrape time, e.g. operations by status from the database).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("govledger.api.metrics")

UNMATCHED_ROUTE = "<unmatched>"
METRIC_PREFIX = "govledger_"
# Methods outside this set (clients may send any token) share one label, again to bound the series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class _CallbackGauge(Collector):
    """A gauge whose labelled values come from a function called at each scrape."""

    def __init__(self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, float]]) -> None:
        self._name = name
        self._documentation = documentation
        self._label = label
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(self._name, self._documentation, labels=[self._label])
        try:
            values = self._read()
        except Exception:
            # A failing source (database down) must not take the other metrics with it.
            logger.exception("metric %s could not be read", self._name)
            values = {}
        for label_value, value in sorted(values.items()):
            family.add_metric([str(label_value)], float(value))
        yield family

    def describe(self) -> Iterable[GaugeMetricFamily]:
        # Describing without reading keeps registration free of database calls.
        yield GaugeMetricFamily(self._name, self._documentation, labels=[self._label])


class Metrics:
    """The registry of one app and its HTTP metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            f"{METRIC_PREFIX}http_requests",
            "HTTP requests handled, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{METRIC_PREFIX}http_request_duration_seconds",
            "Time to handle an HTTP request, by method and route template.",
            ["method", "route"],
            registry=self.registry,
        )

    def gauge(self, name: str, documentation: str, labelnames: Iterable[str] = ()) -> Gauge:
        """A gauge in this app's registry, to be set by its owner (``name`` gets the govledger_ prefix)."""
        return Gauge(METRIC_PREFIX + name, documentation, list(labelnames), registry=self.registry)

    def gauge_callback(
        self, name: str, documentation: str, label: str, read: Callable[[], Mapping[str, float]]
    ) -> None:
        """A gauge read at scrape time: ``read()`` returns {label value: number}, e.g. {"queued": 3}."""
        self.registry.register(_CallbackGauge(METRIC_PREFIX + name, documentation, label, read))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts and times every HTTP request into ``metrics``."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_recording_status)
        finally:
            method = scope.get("method", "") if scope.get("method") in KNOWN_METHODS else "OTHER"
            route = getattr(scope.get("route"), "path", None) or UNMATCHED_ROUTE
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - started)


router = APIRouter(tags=["operations monitoring"])


@router.get("/metrics", response_class=Response)
def prometheus_metrics(request: Request) -> Response:
    """Prometheus metrics of this process, in the text exposition format."""
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

"""The assembled app: probes, metrics, security headers, request ids, lifespan and documentation."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from govledger.api.app import create_app
from govledger.api.metrics import Metrics
from tests.api.conftest import StandInRuntime

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "content-security-policy": "default-src 'self'; frame-ancestors 'none'; object-src 'none'",
}


def test_healthz_says_ok(client: TestClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_every_component_is_ok(client: TestClient) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "components": {"database": "ok", "chain": "ok", "contracts": "ok"},
    }


def test_readyz_is_503_naming_the_component_that_is_not_ready(runtime: StandInRuntime) -> None:
    runtime.chain_ready = lambda: False

    with TestClient(create_app(runtime)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not_ready"
    assert body["components"]["database"] == "ok"
    assert body["components"]["chain"].startswith("error")


def test_readyz_is_503_when_the_check_itself_fails(runtime: StandInRuntime) -> None:
    def broken() -> bool:
        raise RuntimeError("boom")

    runtime.deployment_ready = broken
    with TestClient(create_app(runtime)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "not_ready"


def test_metrics_count_requests_by_route_template_and_status(client: TestClient) -> None:
    client.get("/healthz")
    client.get("/healthz")
    client.get("/no/such/path/12345")

    text = client.get("/metrics").text

    assert 'govledger_http_requests_total{method="GET",route="/healthz",status="200"} 2.0' in text
    assert 'govledger_http_requests_total{method="GET",route="<unmatched>",status="404"} 1.0' in text
    assert "/no/such/path/12345" not in text
    assert "govledger_http_request_duration_seconds_bucket" in text


def test_each_app_has_its_own_metrics(runtime: StandInRuntime) -> None:
    with TestClient(create_app(runtime)) as first, TestClient(create_app(runtime)) as second:
        first.get("/healthz")
        text = second.get("/metrics").text

    assert 'route="/healthz"' not in text


def test_gauges_can_be_registered_by_the_runtime(runtime: StandInRuntime) -> None:
    class RuntimeWithGauges(StandInRuntime):
        def register_metrics(self, metrics: Metrics) -> None:
            metrics.gauge_callback("operations", "Operations by status.", "status", lambda: {"queued": 3})
            metrics.gauge("chain_head_block", "Newest block seen.").set(42)

    with TestClient(create_app(RuntimeWithGauges(settings=runtime.settings, engine=runtime.engine))) as client:
        text = client.get("/metrics").text

    assert 'govledger_operations{status="queued"} 3.0' in text
    assert "govledger_chain_head_block 42.0" in text


def test_a_failing_gauge_does_not_break_the_metrics_endpoint(runtime: StandInRuntime) -> None:
    app = create_app(runtime)

    def broken() -> dict[str, float]:
        raise RuntimeError("database down")

    app.state.metrics.gauge_callback("operations", "Operations by status.", "status", broken)
    with TestClient(app) as client:
        response = client.get("/metrics")

    assert response.status_code == 200
    assert "govledger_http_requests_total" in response.text


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/missing"])
def test_every_response_carries_security_headers_and_a_request_id(client: TestClient, path: str) -> None:
    response = client.get(path)

    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_the_docs_page_allows_only_its_own_inline_script(client: TestClient) -> None:
    response = client.get("/docs")

    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert "'sha256-" in policy
    assert "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"


def test_the_runtime_is_started_and_stopped_with_the_app(runtime: StandInRuntime) -> None:
    app = create_app(runtime)

    with TestClient(app):
        assert runtime.events == ["start"]

    assert runtime.events == ["start", "stop"]


def test_every_route_has_a_description_in_openapi(app: FastAPI, client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert schema["info"]["title"] == "govledger"
    assert schema["info"]["version"]
    operations = [op for path in schema["paths"].values() for op in path.values()]
    assert operations
    assert all(op.get("description") for op in operations)

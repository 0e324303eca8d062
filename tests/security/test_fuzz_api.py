"""Property-based fuzzing of the HTTP API from its own OpenAPI document (schemathesis), in process.

For every operation in /openapi.json, schemathesis generates requests, both fitting the schema and not,
and the demo service answers them through the test client (so its background workers run as in
production). Every answer must be free of server errors and must match what the document promises for
that status: a client reading the schema must be able to parse whatever comes back.

Requests carry a department key (CS-HRSS, which holds every department role) or, for the audit API, the
auditor's key, so the fuzzing reaches the routes rather than stopping at the 401. The number of examples
is bounded to keep the suite fast; raise FUZZ_EXAMPLES (or set FUZZ_COVERAGE_PHASE)
locally for a deeper run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.security.conftest import SecurityService

FUZZ_EXAMPLES = 12
FUZZ_COVERAGE_PHASE = False
DEPARTMENT = ("CS-HRSS", "department_user")
AUDITOR = ("CS-AUD", "auditor")
CREDENTIAL_HEADERS = {"authorization", "x-api-key", "cookie"}
answered: Counter[str] = Counter()


@pytest.fixture(scope="module")
def api_schema(security_service: SecurityService) -> Any:
    loaded = schemathesis.openapi.from_dict(security_service.app.openapi())
    # The coverage phase sends ~2,000 deterministic boundary requests (30 s here); the random phase, bounded by
    # FUZZ_EXAMPLES, keeps the suite fast. Enable it locally for a deeper run.
    loaded.config.phases.coverage.enabled = FUZZ_COVERAGE_PHASE
    return loaded


@pytest.fixture(scope="module")
def fuzz_client(security_service: SecurityService) -> SecurityService:
    return security_service


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_every_answer_is_free_of_server_errors_and_matches_the_schema(case: Any, fuzz_client: SecurityService):
    who = AUDITOR if case.path.startswith("/api/v1/audit") else DEPARTMENT
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    # Generated credentials would only test the 401 path, which the authorisation matrix covers.
    headers = {k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() not in CREDENTIAL_HEADERS}
    request = {k: kwargs[k] for k in ("method", "url", "params", "json", "data", "files", "content")
               if kwargs.get(k) is not None}
    request["headers"] = {**headers, **fuzz_client.key(*who)}
    if "files" in request:
        # Negative cases may put a number where a file goes; httpx cannot even send that, so send its text.
        request["files"] = [(name, sendable(value)) for name, value in _items(request["files"])]
    if "data" in request and isinstance(request["data"], str | bytes):
        request["content"] = request.pop("data")
    response = fuzz_client.client.request(**request)
    response.request.read()  # multipart bodies are streamed; the checks read the request back
    answered[f"{case.method} {response.status_code // 100}xx"] += 1
    case.validate_response(
        response, checks=[not_a_server_error, status_code_conformance, response_schema_conformance]
    )


def sendable(value: Any) -> Any:
    if isinstance(value, tuple):
        filename, content, *rest = value
        return (filename, sendable(content), *rest)
    return value if isinstance(value, bytes | str) or hasattr(value, "read") else str(value).encode()


def _items(files: Any) -> list[tuple[str, Any]]:
    return list(files.items()) if isinstance(files, dict) else list(files)


def test_fuzzing_summary():
    print(f"\nfuzzing: {sum(answered.values())} requests; by method and status class: {dict(sorted(answered.items()))}")
    assert not any(key.endswith("5xx") for key in answered)

"""The OpenAPI document tells the truth about errors: every failure has the one error shape.

FastAPI documents its own 422 body (``HTTPValidationError``, a ``detail`` list), but this service
answers every error with ``{"error": {"code", "message", "details"?}}`` (see govledger.api.errors).
A client generated from the document, or a schema-driven fuzzer, would otherwise reject every real
422 and know nothing of the 401/403/404/409/413/415/429/5xx answers. ``document_errors`` rewrites the
422 responses to the real shape and adds a ``default`` response with it for every other status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA_NAME = "Error"
ERROR_SCHEMA: dict[str, Any] = {
    "title": ERROR_SCHEMA_NAME,
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable, e.g. invalid_request."},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` describe the service's real error responses."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi_with_errors() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        _rewrite(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi_with_errors  # type: ignore[method-assign]


def _rewrite(schema: dict[str, Any]) -> None:
    error_response = {
        "description": "Error",
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA_NAME}"}}},
    }
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = {**error_response, "description": "Invalid request"}
            responses.setdefault("default", error_response)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        components.pop(name, None)
    components[ERROR_SCHEMA_NAME] = ERROR_SCHEMA

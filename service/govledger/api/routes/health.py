"""Liveness and readiness probes for orchestrators and load balancers.

``/healthz`` answers as long as the process serves HTTP; ``/readyz`` asks the runtime whether the
database, the chain and the deployed contracts are usable, and answers 503 until they all are.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from govledger.api.deps import RuntimeDep

logger = logging.getLogger("govledger.api.health")

READY = "ok"

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: 200 while the process is serving requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "At least one component is not ready; the body says which and why."}},
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    """Readiness: 200 when database, chain and contracts are all usable, else 503 with each component's state."""
    try:
        components = dict(runtime.readiness())
    except Exception as exc:
        # A probe must answer "not ready", not fail: a crashing check is itself a reason not to send traffic.
        logger.exception("the readiness check failed")
        components = {"readiness": f"error: {type(exc).__name__}"}
    ready = bool(components) and all(state == READY for state in components.values())
    body: dict[str, Any] = {"status": "ready" if ready else "not_ready", "components": components}
    return JSONResponse(body, status_code=200 if ready else 503)

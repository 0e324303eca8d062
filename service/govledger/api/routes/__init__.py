"""The API's routers, one module per area; ``create_app`` includes every router listed in ``ROUTERS``.

Add a new area by writing ``routes/<area>.py`` with a ``router = APIRouter(...)`` and appending it here.
"""

from __future__ import annotations

from fastapi import APIRouter

from govledger.api.routes import audit, certificates, consortium, health, operations, records, sharing, verify
from govledger.web import pages

ROUTERS: list[APIRouter] = [
    health.router,
    operations.router,
    consortium.router,
    records.router,
    sharing.router,
    certificates.router,
    verify.router,
    audit.router,
    pages.router,  # the public verification pages (/verify) and their static files (/static)
]

"""The API's routers, one module per area; ``create_app`` includes every router listed in ``ROUTERS``.

Add a new area by writing ``routes/<area>.py`` with a ``router = APIRouter(...)`` and appending it here.
"""

from __future__ import annotations

from fastapi import APIRouter

from govledger.api.routes import audit, certificates, consortium, health, operations, records, sharing, verify
from govledger.web import pages

# Requests are matched against routes in this order, so the busiest routers come first: matching the
# public verification route after some 60 others cost a tenth of its CPU. No two routers share a path.
ROUTERS: list[APIRouter] = [
    health.router,
    verify.router,
    records.router,
    certificates.router,
    operations.router,
    consortium.router,
    sharing.router,
    audit.router,
    pages.router,  # the public verification pages (/verify) and their static files (/static)
]

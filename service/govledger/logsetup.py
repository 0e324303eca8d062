"""How every govledger process logs: one line per event on stderr, with time, level and logger name.

In one place because a service can be several processes (``serve --processes``): the CLI's own process,
and API processes that uvicorn starts without going through the CLI's ``main``.
"""

from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    # Migrations are routine at every start; only their problems are worth a line.
    logging.getLogger("alembic").setLevel(logging.WARNING)

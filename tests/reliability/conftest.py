"""The fault tests each run a whole service, a node and many clients: they run one after another.

With ``--dist loadgroup`` (pyproject's addopts) the rest of the suite is shared between two pytest workers,
while every test here goes to one worker in turn, so two of them never load the machine at once and their
timing rules (a 503 within 5 s, no request hung for 10 s) hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.xdist_group("heavy"))

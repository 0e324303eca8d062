"""Fixtures for the indexer tests: a consortium on a real anvil node and a migrated database of each kind."""

from __future__ import annotations

import pytest

from govledger.chain.client import Web3Chain
from tests.fixtures.anvil import AnvilNode
from tests.support.consortium import Consortium, deploy_consortium


@pytest.fixture
def chain(anvil: AnvilNode) -> Web3Chain:
    return Web3Chain(anvil.url)


@pytest.fixture
def consortium(chain: Web3Chain) -> Consortium:
    return deploy_consortium(chain)

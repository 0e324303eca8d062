"""Deployment records and the start-up check that the code on chain is the service's own."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from govledger.chain.client import Web3Chain
from govledger.chain.deploy import DeployedContract, Deployment, verify_deployment
from govledger.errors import ConfigurationError, DeploymentMismatchError
from tests.support.consortium import deploy_consortium, new_signer


@pytest.fixture
def chain() -> Web3Chain:
    return Web3Chain("embedded")


def test_deployment_record_round_trips_through_its_file(chain: Web3Chain, tmp_path: Path):
    deployment = deploy_consortium(chain).deployment
    path = tmp_path / "deployments" / "test.json"
    deployment.save(path)
    loaded = Deployment.load(path)
    assert loaded == deployment
    assert loaded.chain_id == chain.chain_id
    assert loaded.start_block == deployment.contracts["Consortium"].block_number > 0


def test_a_missing_or_foreign_record_is_a_clear_configuration_error(tmp_path: Path):
    with pytest.raises(ConfigurationError, match="govledger deploy"):
        Deployment.load(tmp_path / "none.json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(ConfigurationError, match="not a govledger deployment record"):
        Deployment.load(tmp_path / "other.json")


def test_verify_accepts_the_real_deployment(chain: Web3Chain):
    verify_deployment(chain, deploy_consortium(chain).deployment)


def test_verify_refuses_an_address_without_code_or_with_other_code(chain: Web3Chain):
    deployment = deploy_consortium(chain).deployment
    original = deployment.contracts["Consortium"]
    no_code = replace(deployment, contracts={"Consortium": replace(original, address=new_signer(chain).address)})
    with pytest.raises(DeploymentMismatchError, match="no contract code"):
        verify_deployment(chain, no_code)
    # A second consortium deployed with different founders has the same code: it must pass...
    other = deploy_consortium(chain).deployment
    verify_deployment(chain, other)
    # ...while a record claiming the wrong chain must not.
    with pytest.raises(DeploymentMismatchError, match="chain"):
        verify_deployment(chain, replace(deployment, chain_id=deployment.chain_id + 1))


def test_verify_refuses_code_that_differs_from_the_artifact(chain: Web3Chain, monkeypatch):
    from govledger.chain import artifacts

    deployment = deploy_consortium(chain).deployment
    real = artifacts.load_artifact("Consortium")
    tampered = replace(real, deployed_bytecode=real.deployed_bytecode[:-1] + b"\x00")
    assert not tampered.runtime_code_matches(chain.get_code(deployment.address_of("Consortium")))
    assert real.runtime_code_matches(chain.get_code(deployment.address_of("Consortium")))


def test_immutables_are_masked_but_everything_else_compared():
    contract = DeployedContract(address="0x" + "00" * 20, block_number=1, tx_hash="0x", artifact_sha256="")
    assert contract.block_number == 1
    from govledger.chain.artifacts import ContractArtifact

    artifact = ContractArtifact(
        name="X",
        abi=[],
        bytecode=b"",
        deployed_bytecode=bytes(10),
        immutable_references={"1": [{"start": 2, "length": 4}]},
    )
    assert artifact.runtime_code_matches(bytes([0, 0, 9, 9, 9, 9, 0, 0, 0, 0]))
    assert not artifact.runtime_code_matches(bytes([0, 1, 9, 9, 9, 9, 0, 0, 0, 0]))
    assert not artifact.runtime_code_matches(bytes(11))

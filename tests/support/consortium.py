"""Test helpers that deploy a consortium and drive it the way a department's signing account would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode as abi_encode

from govledger.chain.client import Chain, Receipt, Web3Chain
from govledger.chain.contracts import BoundContract
from govledger.chain.deploy import DepartmentSpec, Deployment, deploy_system
from govledger.chain.transactions import send_and_confirm
from govledger.consortium.departments import Role, encode_department_code
from govledger.errors import ContractRevertError
from govledger.keys import LocalSigner

GOVERNORS = ("CS-DRB", "CS-MSA", "CS-HRSS")

# Proposal kinds, in the order of IConsortium.ProposalKind.
ADD_DEPARTMENT, SUSPEND, REINSTATE, SET_ROLES, ADD_ACCOUNT, REMOVE_ACCOUNT, SET_THRESHOLD, SET_MODULE = range(8)


def new_signer(chain: Chain) -> LocalSigner:
    signer = LocalSigner(os.urandom(32))
    if isinstance(chain, Web3Chain) and chain.embedded:
        chain.fund(signer.address)
    return signer


@dataclass
class Consortium:
    """A deployed Consortium and one signer per founding department."""

    chain: Chain
    deployment: Deployment
    deployer: LocalSigner
    signers: dict[str, LocalSigner]

    @property
    def contract(self) -> BoundContract:
        return self.deployment.bind(self.chain, "Consortium")

    def module(self, name: str) -> BoundContract:
        """Another deployed system contract, e.g. ``RecordRegistry``."""
        return self.deployment.bind(self.chain, name)

    def send(self, signer: LocalSigner, function: str, *args: Any, contract: str = "Consortium") -> Receipt:
        bound = self.deployment.bind(self.chain, contract)
        return send_and_confirm(
            self.chain, signer, bound.interface, to=bound.address, data=bound.encode(function, *args)
        )

    def act(self, department: str, function: str, *args: Any, contract: str = "Consortium") -> Receipt:
        return self.send(self.signers[department], function, *args, contract=contract)

    def events(self, receipt: Receipt) -> list[tuple[str, dict[str, Any]]]:
        """The receipt's events, decoded with whichever system contract emitted each log."""
        bound = [self.deployment.bind(self.chain, name) for name in self.deployment.contracts]
        decoded = (event for log in receipt.logs for event in (c.decode_log(log) for c in bound) if event)
        return [(event.name, event.args) for event in decoded]

    def propose(self, department: str, kind: int, payload: bytes) -> int:
        receipt = self.act(department, "propose", kind, payload)
        (created,) = [args for name, args in self.events(receipt) if name == "ProposalCreated"]
        return int(created["proposalId"])

    def pass_proposal(self, kind: int, payload: bytes) -> Receipt:
        """Propose, gather the threshold of approvals from the governors and execute."""
        proposal_id = self.propose(GOVERNORS[0], kind, payload)
        threshold = self.contract.call("threshold")
        for governor in GOVERNORS[1:threshold]:
            self.act(governor, "approve", proposal_id)
        return self.act(GOVERNORS[0], "execute", proposal_id)


@contextmanager
def reverts_with(error_name: str) -> Iterator[pytest.ExceptionInfo[ContractRevertError]]:
    """Expect a contract to refuse with the custom error ``error_name``."""
    with pytest.raises(ContractRevertError) as info:
        yield info
    assert info.value.error_name == error_name, (info.value.error_name, info.value.error_args)


def dept(code: str) -> bytes:
    return encode_department_code(code)


def payload(types: list[str], values: list[Any]) -> bytes:
    return abi_encode(types, values)


def deploy_consortium(chain: Chain, *, threshold: int = 2, lifetime: int = 7 * 24 * 3600) -> Consortium:
    """Three governor departments (one also issues certificates), a data owner and an auditor."""
    roles = {
        "CS-DRB": Role.GOVERNOR | Role.DATA_OWNER,
        "CS-MSA": Role.GOVERNOR | Role.CERTIFICATE_ISSUER | Role.RECORD_KEEPER,
        "CS-HRSS": Role.GOVERNOR | Role.CERTIFICATE_ISSUER | Role.DATA_OWNER,
        "CS-PSB": Role.DATA_OWNER | Role.RECORD_KEEPER,
        "CS-AUD": Role.AUDITOR,
    }
    signers = {code: new_signer(chain) for code in roles}
    deployer = new_signer(chain)
    specs = [
        DepartmentSpec(code=code, name=f"长沙市 {code}", roles=role, account=signers[code].address)
        for code, role in roles.items()
    ]
    deployment = deploy_system(chain, deployer, specs, threshold=threshold, network="test", proposal_lifetime=lifetime)
    return Consortium(chain, deployment, deployer, signers)

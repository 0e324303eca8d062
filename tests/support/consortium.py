"""Test helpers that deploy a consortium and drive it the way a department's signing account would."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode

from govledger.chain.client import Chain, Receipt, Web3Chain
from govledger.chain.contracts import BoundContract
from govledger.chain.deploy import DepartmentSpec, Deployment, deploy_system
from govledger.chain.transactions import send_and_confirm
from govledger.consortium.departments import Role, encode_department_code
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

    def send(self, signer: LocalSigner, function: str, *args: Any) -> Receipt:
        contract = self.contract
        return send_and_confirm(
            self.chain, signer, contract.interface, to=contract.address, data=contract.encode(function, *args)
        )

    def act(self, department: str, function: str, *args: Any) -> Receipt:
        return self.send(self.signers[department], function, *args)

    def events(self, receipt: Receipt) -> list[tuple[str, dict[str, Any]]]:
        decoded = (self.contract.decode_log(log) for log in receipt.logs)
        return [(event.name, event.args) for event in decoded if event is not None]

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

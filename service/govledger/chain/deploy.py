"""Deploying the system contracts and the deployment record the service runs from.

``deploy_system`` deploys the Consortium with its founding departments and the addresses its module
contracts will have (predicted from the deployer's nonce: each module takes the Consortium's address, so it
must come second), then every module, checking each lands where predicted. The Consortium keeps those
addresses in immutables, which makes the check on every department action free of storage reads, and it
closes the deployer's one-time privilege in its constructor. The result is written to
``deployments/<network>.json``: chain id, addresses, deployment blocks and the hash of each artifact. At
start-up the service re-reads the code at each address and refuses to run if it is not the code of its own
artifacts (``verify_deployment``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eth_typing import HexAddress, HexStr
from eth_utils import to_checksum_address
from web3.types import Nonce
from web3.utils.address import get_create_address

from govledger import __version__
from govledger.chain.artifacts import load_artifact
from govledger.chain.client import Chain
from govledger.chain.contracts import BoundContract
from govledger.chain.transactions import send_and_confirm
from govledger.consortium.departments import Role, encode_department_code, validate_department_code
from govledger.errors import ConfigurationError, DeploymentMismatchError, ValidationError
from govledger.keys import Signer

#: Contracts deployed after the Consortium; each constructor takes the Consortium's address. The Consortium
#: compares a caller with its initial modules in this order, so the one with the tightest gas budgets
#: (certificate revocation) comes first.
MODULE_CONTRACTS: tuple[str, ...] = ("CertificateRegistry", "RecordRegistry", "SharingRegistry")

DEFAULT_PROPOSAL_LIFETIME = 7 * 24 * 3600
RECORD_FORMAT = "govledger-deployment-1"


@dataclass(frozen=True)
class DepartmentSpec:
    """A founding department: its code, name, roles and first signing account."""

    code: str
    name: str
    roles: Role
    account: str

    def __post_init__(self) -> None:
        validate_department_code(self.code)
        if not self.name.strip() or len(self.name.encode()) > 128:
            raise ValidationError(f"department {self.code}: name must be 1-128 bytes")
        if not self.roles:
            raise ValidationError(f"department {self.code}: at least one role is required")


@dataclass(frozen=True)
class DeployedContract:
    address: str
    block_number: int
    tx_hash: str
    artifact_sha256: str


@dataclass(frozen=True)
class Deployment:
    """Where the system lives on one network."""

    network: str
    chain_id: int
    deployer: str
    deployed_at: str
    contracts: dict[str, DeployedContract]
    govledger_version: str = __version__
    format: str = RECORD_FORMAT
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def start_block(self) -> int:
        """The first block that can hold a system event: where indexing and audits begin."""
        return min(c.block_number for c in self.contracts.values())

    def address_of(self, name: str) -> str:
        try:
            return self.contracts[name].address
        except KeyError:
            raise ConfigurationError(f"the deployment record has no contract {name!r}") from None

    def bind(self, chain: Chain, name: str) -> BoundContract:
        return BoundContract(name, self.address_of(name), chain)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def save(self, path: Path) -> None:
        """Write atomically, so a crash never leaves a half-written record the service would trust."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.to_json())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Deployment:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigurationError(f"no deployment record at {path}; run `govledger deploy` first") from None
        except json.JSONDecodeError as exc:
            raise ConfigurationError(f"the deployment record {path} is not valid JSON: {exc}") from None
        if data.get("format") != RECORD_FORMAT:
            raise ConfigurationError(f"{path} is not a govledger deployment record ({RECORD_FORMAT})")
        contracts = {name: DeployedContract(**entry) for name, entry in data.pop("contracts").items()}
        return cls(contracts=contracts, **data)


def _deploy_contract(chain: Chain, deployer: Signer, name: str, args: Sequence[object]) -> DeployedContract:
    artifact = load_artifact(name)
    data = artifact.bytecode + artifact.interface.encode_constructor(args)
    receipt = send_and_confirm(chain, deployer, artifact.interface, to=None, data=data)
    if not receipt.contract_address:
        raise DeploymentMismatchError(f"deploying {name} produced no contract address")
    return DeployedContract(
        address=to_checksum_address(receipt.contract_address),
        block_number=receipt.block_number,
        tx_hash=receipt.tx_hash,
        artifact_sha256=artifact.sha256,
    )


def deploy_system(
    chain: Chain,
    deployer: Signer,
    departments: Sequence[DepartmentSpec],
    *,
    threshold: int,
    network: str,
    proposal_lifetime: int = DEFAULT_PROPOSAL_LIFETIME,
) -> Deployment:
    """Deploy every system contract with the founding departments and return the deployment record."""
    if not departments:
        raise ValidationError("a consortium needs at least one founding department")
    governors = sum(1 for d in departments if Role.GOVERNOR in d.roles)
    if not 1 <= threshold <= governors:
        raise ValidationError(f"threshold must be between 1 and the {governors} governor departments")
    # The deployer's next transactions create the Consortium and then the modules, one per nonce. If anything
    # else used the deployer's key in between, a module would land elsewhere and the check below fails.
    nonce = chain.transaction_count(deployer.address, "pending")
    predicted = {
        name: to_checksum_address(get_create_address(HexAddress(HexStr(deployer.address)), Nonce(nonce + 1 + i)))
        for i, name in enumerate(MODULE_CONTRACTS)
    }
    consortium = _deploy_contract(
        chain,
        deployer,
        "Consortium",
        [
            [encode_department_code(d.code) for d in departments],
            [d.name for d in departments],
            [int(d.roles) for d in departments],
            [to_checksum_address(d.account) for d in departments],
            threshold,
            proposal_lifetime,
            list(predicted.values()),
        ],
    )
    contracts = {"Consortium": consortium}
    for name in MODULE_CONTRACTS:
        contracts[name] = _deploy_contract(chain, deployer, name, [consortium.address])
        if contracts[name].address != predicted[name]:
            raise DeploymentMismatchError(
                f"{name} was deployed at {contracts[name].address}, not at {predicted[name]} where the Consortium"
                " expects it; was the deployer's key used elsewhere during deployment? Deploy again."
            )
    return Deployment(
        network=network,
        chain_id=chain.chain_id,
        deployer=deployer.address,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        contracts=contracts,
    )


def verify_deployment(chain: Chain, deployment: Deployment) -> None:
    """Refuse to run against a chain or code that is not the one the service was built for."""
    if chain.chain_id != deployment.chain_id:
        raise DeploymentMismatchError(
            f"the node is chain {chain.chain_id}, the deployment record is for chain {deployment.chain_id}"
        )
    for name, contract in deployment.contracts.items():
        artifact = load_artifact(name)
        code = chain.get_code(contract.address)
        if not code:
            raise DeploymentMismatchError(f"{name} at {contract.address}: no contract code on chain")
        if not artifact.runtime_code_matches(code):
            raise DeploymentMismatchError(
                f"{name} at {contract.address}: the code on chain is not this service's compiled {name}"
            )

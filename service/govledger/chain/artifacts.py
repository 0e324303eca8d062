"""The compiled contracts shipped inside the package, and the check that code on chain is that code.

Artifacts are produced by ``govledger compile`` (see ``chain/compiler.py``) and committed, so the service
runs without a compiler or Node. The deployed-code comparison masks immutable values, which the
constructor writes into the runtime code and which therefore differ per deployment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from govledger.chain.abi import ContractInterface
from govledger.errors import ConfigurationError

#: Every contract the system deploys, in deployment order.
SYSTEM_CONTRACTS: tuple[str, ...] = ("Consortium", "CertificateRegistry", "RecordRegistry", "SharingRegistry")


@dataclass(frozen=True)
class ContractArtifact:
    """One compiled contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes
    immutable_references: dict[str, list[dict[str, int]]] = field(default_factory=dict)
    sha256: str = ""

    @property
    def interface(self) -> ContractInterface:
        return _interface(self.name)

    def runtime_code_matches(self, onchain_code: bytes) -> bool:
        """Whether code read from a node is this contract's runtime code, immutables aside."""
        if len(onchain_code) != len(self.deployed_bytecode):
            return False
        expected = bytearray(self.deployed_bytecode)
        actual = bytearray(onchain_code)
        for references in self.immutable_references.values():
            for ref in references:
                start, length = ref["start"], ref["length"]
                expected[start : start + length] = bytes(length)
                actual[start : start + length] = bytes(length)
        return expected == actual


def _hex_to_bytes(value: str) -> bytes:
    return bytes.fromhex(value.removeprefix("0x"))


@cache
def load_artifact(name: str) -> ContractArtifact:
    """The committed artifact of contract ``name``."""
    try:
        raw = resources.files("govledger.chain").joinpath("artifacts", f"{name}.json").read_bytes()
    except FileNotFoundError:
        raise ConfigurationError(f"no compiled artifact for contract {name!r}; run `govledger compile`") from None
    data = json.loads(raw)
    return ContractArtifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=_hex_to_bytes(data["bytecode"]),
        deployed_bytecode=_hex_to_bytes(data["deployedBytecode"]),
        immutable_references=data.get("immutableReferences") or {},
        sha256=hashlib.sha256(raw).hexdigest(),
    )


@cache
def _interface(name: str) -> ContractInterface:
    return ContractInterface(load_artifact(name).abi)

"""Checking a certificate's proof bundle (govledger-certificate-bundle-1) without trusting the service.

Offline, a bundle proves which document it is about (its hash) and, for batch certificates, that its fields
are a leaf of the batch root. With any node of the network it also proves that the registry really recorded
the issue (the transaction and its event, in the named block) and tells the certificate's status now.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO

from govledger.chain.artifacts import load_artifact
from govledger.chain.client import Chain
from govledger.chain.contracts import BoundContract
from govledger.errors import ContractRevertError, ValidationError
from govledger.hashing import HashAlgorithm, digest_stream, hash_hex, parse_hash_hex
from govledger.merkle import leaf_hash, verify
from govledger.shortids import decode_short_id

FORMAT = "govledger-certificate-bundle-1"
CONTRACT = "CertificateRegistry"
LEAF_ENCODING = ("bytes32", "bytes32", "uint8", "bytes32", "bytes32", "uint64", "uint64")
STATUSES = ("not_found", "valid", "suspended", "revoked", "superseded")


@dataclass(frozen=True)
class CertificateBundle:
    cert_id: str
    fields: dict[str, Any]
    algorithm: HashAlgorithm
    anchor: dict[str, Any]
    merkle: dict[str, Any] | None

    def leaf(self) -> dict[str, Any]:
        """The fields as the contract's CertificateLeaf struct."""
        return {
            "certId": self.fields["certificateId"],
            "documentHash": self.fields["documentHash"],
            "hashAlgorithm": int(self.algorithm),
            "holderCommitment": self.fields["holderCommitment"],
            "certType": self.fields["certificateType"],
            "validFrom": int(self.fields["validFrom"]),
            "validUntil": int(self.fields["validUntil"]),
        }

    def leaf_values(self) -> list[Any]:
        leaf = self.leaf()
        return [
            parse_hash_hex(leaf["certId"]),
            parse_hash_hex(leaf["documentHash"]),
            leaf["hashAlgorithm"],
            parse_hash_hex(leaf["holderCommitment"]),
            parse_hash_hex(leaf["certType"]),
            leaf["validFrom"],
            leaf["validUntil"],
        ]


def parse_certificate_bundle(data: Any) -> CertificateBundle:
    try:
        if data.get("format") != FORMAT:
            raise ValidationError(f"not a {FORMAT} document", code="invalid_bundle")
        fields = dict(data["certificate"])
        for name in ("certificateId", "documentHash", "holderCommitment", "certificateType"):
            fields[name] = hash_hex(parse_hash_hex(fields[name]))
        anchor = dict(data["anchor"])
        return CertificateBundle(
            cert_id=decode_short_id(fields["certificateId"]),
            fields=fields,
            algorithm=HashAlgorithm.from_name(str(fields["hashAlgorithm"])),
            anchor=anchor,
            merkle=dict(data["merkle"]) if data.get("merkle") else None,
        )
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        raise ValidationError(f"the certificate bundle is incomplete: {exc}", code="invalid_bundle") from None


def check_offline(bundle: CertificateBundle, document: BinaryIO | None = None) -> list[str]:
    """Problems found without a node: the document's hash, and the Merkle proof of a batch certificate."""
    problems = []
    if document is not None:
        actual = hash_hex(digest_stream(bundle.algorithm, document))
        if actual != bundle.fields["documentHash"]:
            problems.append(
                f"the document's {bundle.algorithm.label} hash is {actual}, the certificate registers "
                f"{bundle.fields['documentHash']} (文件与登记不一致)"
            )
    if bundle.merkle is not None:
        leaf = leaf_hash(LEAF_ENCODING, bundle.leaf_values())
        if not verify(bundle.merkle["root"], leaf, bundle.merkle["proof"]):
            problems.append("the Merkle proof does not lead from the certificate to the batch root")
    return problems


def check_on_chain(bundle: CertificateBundle, chain: Chain) -> tuple[list[str], str]:
    """Problems a node finds with the bundle, and the certificate's status on chain now."""
    anchor = bundle.anchor
    if chain.chain_id != int(anchor["chainId"]):
        return [f"the node is chain {chain.chain_id}, the bundle is for chain {anchor['chainId']}"], "unknown"
    code = chain.get_code(anchor["contract"])
    if not code or not load_artifact(CONTRACT).runtime_code_matches(code):
        return [f"{anchor['contract']} is not a {CONTRACT}"], "unknown"
    registry = BoundContract(CONTRACT, anchor["contract"], chain)
    problems: list[str] = []
    receipt = chain.get_receipt(anchor["txHash"])
    if receipt is None or receipt.status != 1:
        problems.append(f"transaction {anchor['txHash']} is not a successful transaction on this chain")
    elif receipt.block_hash.lower() != str(anchor["blockHash"]).lower():
        problems.append("the transaction is not in the block the bundle names (re-organised or forged)")
    else:
        wanted = (
            ("CertificateBatchIssued", "root", bundle.merkle["root"])
            if bundle.merkle
            else ("CertificateIssued", "certId", bundle.fields["certificateId"])
        )
        found = False
        for log in receipt.logs:
            event = registry.decode_log(log)
            if event is not None and event.name == wanted[0] and hash_hex(bytes(event.args[wanted[1]])) == wanted[2]:
                found = True
        if not found:
            problems.append(f"the transaction holds no {wanted[0]} event for this certificate")
    status = _status_now(bundle, registry, problems)
    return problems, status


def _status_now(bundle: CertificateBundle, registry: BoundContract, problems: list[str]) -> str:
    try:
        view = registry.call("certificateOf", parse_hash_hex(bundle.fields["certificateId"]))
    except ContractRevertError:
        view = {"status": 0}
    status = STATUSES[int(view["status"])]
    if status != "not_found":
        if not registry.call("verifyCertificate", _struct(bundle)):
            problems.append("the registry holds other fields for this certificate (tampered bundle)")
        return status
    if bundle.merkle is not None:
        proof = [parse_hash_hex(p) for p in bundle.merkle["proof"]]
        if registry.call("verifyBatchCertificate", parse_hash_hex(bundle.merkle["root"]), _struct(bundle), proof):
            return "valid"
        problems.append("the registry does not accept this certificate as part of the batch")
    return "not_found"


def _struct(bundle: CertificateBundle) -> tuple[Any, ...]:
    return tuple(bundle.leaf_values())

"""Issuing e-certificates and answering "is this certificate genuine and valid now?" for anyone.

Issuing keeps hashes and metadata only: the document is hashed (here or by the caller) and forgotten, the
holder's identity number becomes a salted commitment and is forgotten. Verification reads the status
from the CertificateRegistry contract at the moment of the question, so a revocation counts at once; the
certificate's fields come from this service's rows, or from the indexed CertificateIssued events when the
certificate was issued through another govledger instance of the network.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import sqlalchemy
from sqlalchemy import Engine
from sqlmodel import Session, select

from govledger.certificates.holder import holder_commitment, holder_matches, new_salt
from govledger.certificates.models import (
    Anchor,
    CertificateIn,
    DocumentCheck,
    HolderCheck,
    HolderCheckIn,
    IssuedPublic,
    Issuer,
    VerificationResult,
    VerificationStatus,
)
from govledger.chain.txmanager import TxManager
from govledger.consortium.authority import DepartmentAuthority
from govledger.consortium.departments import Role, encode_department_code
from govledger.db.bulk import insert_rows
from govledger.db.engine import session_scope
from govledger.db.in_lists import padded
from govledger.db.models import ChainEvent, IssuedCertificate, Operation, OperationStatus
from govledger.errors import (
    ConflictError,
    ContractRevertError,
    IdempotencyConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from govledger.hashing import HashAlgorithm, hash_hex, parse_hash_hex
from govledger.merkle import StandardMerkleTree
from govledger.operations import OperationPublic
from govledger.operations.writer import ContractWriter
from govledger.shortids import decode_short_id, encode_short_id, short_id_hex
from govledger.ttlcache import TtlCache

CONTRACT = "CertificateRegistry"
CERTIFICATES = IssuedCertificate.__table__  # type: ignore[attr-defined]
#: Leaf values of a batch-issued certificate, in this order (see ICertificateRegistry).
CERTIFICATE_LEAF_ENCODING = ("bytes32", "bytes32", "uint8", "bytes32", "bytes32", "uint64", "uint64")
#: ICertificateRegistry.CertificateStatus, by index.
CHAIN_STATUSES = ("none", "valid", "suspended", "revoked", "superseded")


def _ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def _fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Evidence:
    """What a verification answer rests on: read from the database and the chain, remembered briefly.

    ``facts`` are the certificate's fields (None: no such certificate), ``chain`` the registry's status view
    ({} if the registry does not know the number), ``reason`` the reason code of the latest revocation or
    suspension when that is the status on chain.
    """

    facts: dict[str, Any] | None
    chain: dict[str, Any]
    issuer_name: str | None = None
    reason: str | None = None


NO_EVIDENCE = Evidence(facts=None, chain={})


def _chain_status(chain: dict[str, Any]) -> str:
    """The registry's status of a certificate; a batch certificate with no status change yet is valid."""
    status = CHAIN_STATUSES[int(chain.get("status", 1))] if chain else "valid"
    return "valid" if status == "none" else status


def _status_view(answer: Any) -> dict[str, Any]:
    """``certificateOf``'s answer, or {} when the registry does not know the number (its Unknown... error)."""
    if isinstance(answer, ContractRevertError):
        if "Unknown" in answer.error_name:
            return {}
        raise answer
    return cast(dict[str, Any], answer)


#: How long an issuing department's display name is reused; names change only by governance proposal.
ISSUER_NAME_SECONDS = 300.0


class CertificateService:
    """Issuing, status changes, bundles and public verification of e-certificates.

    Verification is the public, high-volume path: the evidence behind an answer (this service's row, the
    chain's status view, the issuer's name) is remembered for ``verification_cache_seconds`` per certificate,
    so a burst of scans of one QR code costs one database and node lookup, not one per scan. The status itself
    (valid, expired, not yet valid) is still worked out from that evidence at each request, and every
    certificate operation this service sees settle clears the memory, so its own revocations show at once;
    a change made through another node's service shows within that many seconds.
    """

    def __init__(
        self,
        engine: Engine,
        tx_manager: TxManager,
        authority: DepartmentAuthority,
        public_base_url: str,
        *,
        verification_cache_seconds: float = 0.0,
    ):
        self.engine = engine
        self.tx_manager = tx_manager
        self.authority = authority
        self.chain_id = tx_manager.chain.chain_id
        self.public_base_url = public_base_url.rstrip("/")
        self.writes = ContractWriter(tx_manager, CONTRACT)
        self._evidence: TtlCache[tuple[str, str], Evidence] = TtlCache(verification_cache_seconds)
        self._issuer_names: TtlCache[str, str | None] = TtlCache(
            ISSUER_NAME_SECONDS if verification_cache_seconds > 0 else 0.0, max_entries=10_000
        )
        tx_manager.on_settled(self._forget_settled)

    @property
    def contract(self) -> Any:
        return self.tx_manager.contract(CONTRACT)

    # ------------------------------------------------------------ issuing

    def _prepare(self, certificate: CertificateIn) -> tuple[str, str, str | None]:
        """(certificate id, holder commitment, salt to hand back) — the identity number is dropped here."""
        cert_id = certificate.certificate_id or f"C-{uuid.uuid4().hex[:24]}"
        salt = None
        if certificate.holder is not None:
            salt = certificate.holder.salt or new_salt()
            commitment = holder_commitment(certificate.holder.id_number, salt)
            returned_salt = None if certificate.holder.salt else salt
        else:
            assert certificate.holder_commitment is not None
            commitment = certificate.holder_commitment
            returned_salt = None
        return cert_id, commitment, returned_salt

    def _chain_args(self, cert_id: str, certificate: CertificateIn, commitment: str) -> list[Any]:
        assert certificate.document_hash is not None
        return [
            short_id_hex(cert_id),
            certificate.document_hash,
            int(HashAlgorithm.from_name(certificate.hash_algorithm)),
            commitment,
            short_id_hex(certificate.certificate_type),
            int(certificate.valid_from.timestamp()),
            int(certificate.valid_until.timestamp()),
        ]

    def issue(self, department: str, certificate: CertificateIn, idempotency_key: str | None) -> IssuedPublic:
        """Issue one certificate: its own transaction, final once mined."""
        self.authority.require(department, Role.CERTIFICATE_ISSUER)
        if certificate.document_hash is None:
            raise ValidationError("document_hash is required (or upload the document)", code="missing_document")
        cert_id, commitment, returned_salt = self._prepare(certificate)
        args = self._chain_args(cert_id, certificate, commitment)

        def store_the_certificate(session: Session, operation_id: str) -> None:
            values = self._row_values(department, cert_id, certificate, commitment, args, operation_id)
            insert_rows(session.connection(), CERTIFICATES, [values])

        try:
            # One database transaction for the operation and the certificate row.
            operation = self.writes.submit(
                department,
                "certificates.issue",
                "issue",
                args,
                idempotency_key or f"cert:{cert_id}",
                alongside=store_the_certificate,
            )
        except IdempotencyConflictError:
            raise
        except ConflictError:
            # No earlier operation under this key, so the certificate id itself is taken.
            raise ConflictError("a certificate with this id exists already", code="certificate_exists") from None
        return self._issued(cert_id, certificate.document_hash, commitment, returned_salt, operation)

    def issue_batch(
        self, department: str, certificates: list[CertificateIn], idempotency_key: str | None
    ) -> dict[str, Any]:
        """Issue up to 10,000 certificates under one Merkle root and one transaction."""
        self.authority.require(department, Role.CERTIFICATE_ISSUER)
        prepared = []
        for certificate in certificates:
            if certificate.document_hash is None:
                raise ValidationError("every certificate needs a document_hash", code="missing_document")
            cert_id, commitment, salt = self._prepare(certificate)
            prepared.append(
                (cert_id, certificate, commitment, salt, self._chain_args(cert_id, certificate, commitment))
            )
        ids = [p[0] for p in prepared]
        if len(set(ids)) != len(ids):
            raise ConflictError("the batch names the same certificate id twice", code="duplicate_certificate_id")
        values = [
            [
                bytes.fromhex(a[0][2:]),
                parse_hash_hex(a[1]),
                a[2],
                parse_hash_hex(a[3]),
                bytes.fromhex(a[4][2:]),
                a[5],
                a[6],
            ]
            for *_, a in prepared
        ]
        tree = StandardMerkleTree.of(values, CERTIFICATE_LEAF_ENCODING)
        proofs = tree.proofs_json()
        key = idempotency_key or f"cert-batch:{tree.root}"
        operation = self.writes.submit(
            department, "certificates.issue_batch", "issueBatch", [tree.root, len(prepared)], key
        )
        rows = [
            {
                **self._row_values(department, cert_id, certificate, commitment, args, operation.id),
                "batch_root": tree.root,
                "leaf_index": index,
                "proof_json": proofs[index],
            }
            for index, (cert_id, certificate, commitment, _salt, args) in enumerate(prepared)
        ]
        self._store(rows, retry_of=operation.id)
        return {
            "root": tree.root,
            "count": len(prepared),
            "operation": operation.model_dump(mode="json"),
            "certificates": [
                {"certificate_id": cert_id, "verification_url": self.verification_url(cert_id), "holder_salt": salt}
                for cert_id, _c, _h, salt, _a in prepared
            ],
        }

    def _row_values(
        self,
        department: str,
        cert_id: str,
        certificate: CertificateIn,
        commitment: str,
        args: list[Any],
        operation_id: str,
    ) -> dict[str, Any]:
        """The certificates row of an issued certificate: hashes and metadata only."""
        return {
            "chain_id": self.chain_id,
            "certificate_id": cert_id,
            "department": department,
            "certificate_type": certificate.certificate_type,
            "document_hash": certificate.document_hash,
            "hash_algorithm": certificate.hash_algorithm,
            "holder_commitment": commitment,
            "valid_from": args[5],
            "valid_until": args[6],
            "request_hash": _fingerprint({"args": args}),
            "operation_id": operation_id,
        }

    def change_status(
        self, department: str, cert_id: str, function: str, args: list[Any], idempotency_key: str | None
    ) -> OperationPublic:
        """revoke / suspend / reinstate / supersede: only the issuing department."""
        self.authority.require(department, Role.CERTIFICATE_ISSUER)
        row = self._row(cert_id)
        issuer = row.department if row is not None else self._issuer_from_events(cert_id)
        if issuer is None:
            raise NotFoundError(f"no certificate {cert_id}", code="certificate_not_found")
        if issuer != department:
            raise PermissionDeniedError(
                f"certificate {cert_id} was issued by {issuer}; only it can change its status", code="not_issuer"
            )
        call_args = [short_id_hex(cert_id), *args]
        if row is not None and row.batch_root is not None:
            call_args = self._batch_status_args(function, row, args)
            function = function + "Batched"
        return self.writes.submit(department, f"certificates.{function}", function, call_args, idempotency_key)

    def _batch_status_args(self, function: str, row: IssuedCertificate, args: list[Any]) -> list[Any]:
        """A batch certificate's status changes carry its leaf and proof, so the contract learns its issuer."""
        leaf = {
            "certId": short_id_hex(row.certificate_id),
            "documentHash": row.document_hash,
            "hashAlgorithm": int(HashAlgorithm.from_name(row.hash_algorithm)),
            "holderCommitment": row.holder_commitment,
            "certType": short_id_hex(row.certificate_type),
            "validFrom": row.valid_from,
            "validUntil": row.valid_until,
        }
        return [row.batch_root, leaf, json.loads(row.proof_json or "[]"), *args]

    # ------------------------------------------------------------ what issuers get back

    def verification_url(self, cert_id: str) -> str:
        return f"{self.public_base_url}/verify/{cert_id}"

    def _issued(
        self, cert_id: str, document_hash: str, commitment: str, salt: str | None, operation: OperationPublic
    ) -> IssuedPublic:
        base = f"/api/v1/certificates/{cert_id}"
        return IssuedPublic(
            certificate_id=cert_id,
            verification_url=self.verification_url(cert_id),
            qr_png_url=f"{base}/qr.png",
            qr_svg_url=f"{base}/qr.svg",
            bundle_url=f"{base}/bundle",
            holder_salt=salt,
            holder_commitment=commitment,
            document_hash=document_hash,
            operation=operation.model_dump(mode="json"),
        )

    def bundle(self, cert_id: str) -> dict[str, Any]:
        """A self-contained proof of issue: the fields, the anchor, and the Merkle proof for batch certificates."""
        row = self._row(cert_id)
        if row is None:
            raise NotFoundError(f"no certificate {cert_id} issued through this service", code="certificate_not_found")
        operation = self.tx_manager.get(row.operation_id) if row.operation_id else None
        if operation is None or operation.status != "confirmed":
            raise ConflictError(f"certificate {cert_id} is not on chain yet", code="certificate_not_anchored")
        bundle: dict[str, Any] = {
            "format": "govledger-certificate-bundle-1",
            "certificate": {
                "certificateId": short_id_hex(cert_id),
                "documentHash": row.document_hash,
                "hashAlgorithm": row.hash_algorithm,
                "holderCommitment": row.holder_commitment,
                "certificateType": short_id_hex(row.certificate_type),
                "validFrom": row.valid_from,
                "validUntil": row.valid_until,
                "issuer": row.department,
            },
            "anchor": {
                "chainId": self.chain_id,
                "contract": self.contract.address,
                "txHash": operation.tx_hash,
                "blockNumber": operation.block_number,
                "blockHash": operation.block_hash,
            },
        }
        if row.batch_root is not None:
            bundle["merkle"] = {
                "root": row.batch_root,
                "leafEncoding": list(CERTIFICATE_LEAF_ENCODING),
                "proof": json.loads(row.proof_json or "[]"),
            }
        return bundle

    # ------------------------------------------------------------ verification

    def verify(
        self,
        *,
        cert_id: str | None = None,
        document_hash: str | None = None,
        hash_algorithm: str = "sha256",
        holder: HolderCheckIn | None = None,
    ) -> VerificationResult:
        evidence = self._evidence_for(cert_id=cert_id, document_hash=document_hash)
        return self.verdict(evidence, cert_id=cert_id, document_hash=document_hash, holder=holder)

    def evidence_by_ids(self, cert_ids: list[str]) -> dict[str, Evidence]:
        """The evidence for each certificate number, with one database query and one node request for all
        those not remembered: what concurrent public verifications are answered from (api.coalesce)."""
        found = self._evidence.get_or_load_many([("id", cert_id) for cert_id in cert_ids], self._load_by_ids)
        return {key[1]: evidence for key, evidence in found.items()}

    def verdict(
        self,
        evidence: Evidence,
        *,
        cert_id: str | None,
        document_hash: str | None = None,
        holder: HolderCheckIn | None = None,
    ) -> VerificationResult:
        """The answer to a verification from its evidence, as of now: no database or node is asked here."""
        now = datetime.now(UTC)
        facts, chain = evidence.facts, evidence.chain
        if facts is None:
            return VerificationResult(status="not_found", certificate_id=cert_id, checked_at=now)
        document = None
        if document_hash is not None:
            matches = document_hash.lower() == facts["document_hash"].lower()
            document = DocumentCheck(
                hash_algorithm=facts["hash_algorithm"], document_hash=facts["document_hash"], matches=matches
            )
        holder_check = HolderCheck(checked=False, matches=None)
        if holder is not None:
            holder_check = HolderCheck(
                checked=True, matches=holder_matches(facts["holder_commitment"], holder.id_number, holder.salt)
            )
        status: VerificationStatus = self._status(chain, facts, now)
        if document is not None and document.matches is False:
            status = "tampered"
        return VerificationResult(
            status=status,
            certificate_id=facts["certificate_id"],
            certificate_type=facts["certificate_type"],
            issuer=Issuer(code=facts["department"], name=evidence.issuer_name),
            valid_from=_ts(facts["valid_from"]),
            valid_until=_ts(facts["valid_until"]),
            issued_at=_ts(chain.get("issuedAt")) or facts.get("issued_at"),
            status_changed_at=_ts(chain.get("statusChangedAt")),
            reason=evidence.reason if status in ("revoked", "suspended") else None,
            superseded_by=decode_short_id(chain["supersededBy"])
            if chain.get("supersededBy") and any(bytes(chain["supersededBy"]))
            else None,
            document=document,
            holder=holder_check,
            anchor=Anchor(
                chain_id=self.chain_id,
                contract=self.contract.address,
                tx_hash=facts.get("tx_hash"),
                block_number=facts.get("block_number"),
            ),
            checked_at=now,
        )

    def verify_bundle(self, bundle: dict[str, Any]) -> VerificationResult:
        """A bundle's certificate, checked against the registered facts: tampered if its hash was changed."""
        try:
            certificate = bundle["certificate"]
            cert_id = decode_short_id(certificate["certificateId"])
            document_hash = hash_hex(parse_hash_hex(certificate["documentHash"]))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ValidationError(f"not a certificate bundle: {exc}", code="invalid_bundle") from None
        if bundle.get("format") != "govledger-certificate-bundle-1":
            raise ValidationError("not a govledger-certificate-bundle-1 document", code="invalid_bundle")
        return self.verify(
            cert_id=cert_id, document_hash=document_hash, hash_algorithm=str(certificate.get("hashAlgorithm", "sha256"))
        )

    def status_at(self, cert_id: str, at: datetime) -> VerificationResult:
        """The certificate's status at a past moment, replayed from the chain's events.

        The issue event fixes the validity window; each status event (revoked, suspended, reinstated,
        superseded) takes effect at its block's time. Events come from the index, so a change made in the last
        seconds may not be part of the answer yet.
        """
        facts = self._facts(cert_id=cert_id, document_hash=None)
        checked = datetime.now(UTC)
        if facts is None or not facts.get("anchored"):
            return VerificationResult(status="not_found", certificate_id=cert_id, checked_at=checked)
        moment = int(at.timestamp())
        subject = "certificate:" + short_id_hex(cert_id)
        with session_scope(self.engine, read_only=True) as session:
            events = session.exec(
                select(ChainEvent)
                .where(ChainEvent.chain_id == self.chain_id, ChainEvent.subject_id == subject)
                .order_by(ChainEvent.block_number, ChainEvent.log_index)  # type: ignore[arg-type]
            ).all()
        issued_at = next(
            (e.block_timestamp for e in events if e.event_name in ("CertificateIssued", "BatchCertificateRegistered")),
            None,
        )
        if issued_at is None and facts.get("block_number") is not None:
            issued_at = self.tx_manager.chain.get_block(int(facts["block_number"])).timestamp
        if issued_at is None or moment < issued_at:
            return VerificationResult(status="not_found", certificate_id=cert_id, checked_at=checked)
        status: VerificationStatus = "valid"
        reason = superseded_by = None
        changed_at = None
        transitions = {
            "CertificateRevoked": "revoked",
            "CertificateSuspended": "suspended",
            "CertificateReinstated": "valid",
            "CertificateSuperseded": "superseded",
        }
        for event in events:
            if event.event_name not in transitions or (event.block_timestamp or 0) > moment:
                continue
            args = json.loads(event.args_json)
            status = cast(VerificationStatus, transitions[event.event_name])
            changed_at = _ts(event.block_timestamp)
            reason = decode_short_id(args["reasonCode"]) if "reasonCode" in args else None
            superseded_by = decode_short_id(args["newCertId"]) if "newCertId" in args else None
        if status == "valid":
            if moment < facts["valid_from"]:
                status = "not_yet_valid"
            elif moment >= facts["valid_until"]:
                status = "expired"
        return VerificationResult(
            status=status,
            certificate_id=cert_id,
            certificate_type=facts["certificate_type"],
            issuer=Issuer(code=facts["department"], name=self._department_name(facts["department"])),
            valid_from=_ts(facts["valid_from"]),
            valid_until=_ts(facts["valid_until"]),
            issued_at=_ts(issued_at),
            status_changed_at=changed_at,
            reason=reason,
            superseded_by=superseded_by,
            anchor=Anchor(
                chain_id=self.chain_id,
                contract=self.contract.address,
                tx_hash=facts.get("tx_hash"),
                block_number=facts.get("block_number"),
            ),
            checked_at=checked,
        )

    @staticmethod
    def _status(chain: dict[str, Any], facts: dict[str, Any], now: datetime) -> VerificationStatus:
        if not facts.get("anchored"):
            return "not_found"
        chain_status = _chain_status(chain)
        if chain_status != "valid":
            return cast(VerificationStatus, chain_status)
        moment = int(now.timestamp())
        if moment < facts["valid_from"]:
            return "not_yet_valid"
        if moment >= facts["valid_until"]:
            return "expired"
        return "valid"

    def _facts(self, *, cert_id: str | None, document_hash: str | None) -> dict[str, Any] | None:
        """The certificate's fields: this service's row, or the CertificateIssued event from the index."""
        stored = self._stored_facts(cert_id=cert_id, document_hash=document_hash)
        if stored is not None:
            return stored
        if cert_id is None:
            return None
        return self._indexed_facts(cert_id)

    def _indexed_facts(self, cert_id: str) -> dict[str, Any] | None:
        """A certificate issued through another govledger instance: its fields from the indexed event."""
        event = self._issued_event(cert_id)
        if event is None:
            return None
        args = json.loads(event.args_json)
        return {
            "certificate_id": cert_id,
            "department": event.department or "",
            "certificate_type": decode_short_id(args["certType"]),
            "document_hash": args["documentHash"],
            "hash_algorithm": HashAlgorithm.from_code(int(args["hashAlgorithm"])).label,
            "holder_commitment": args["holderCommitment"],
            "valid_from": int(args["validFrom"]),
            "valid_until": int(args["validUntil"]),
            "anchored": True,
            "tx_hash": event.tx_hash,
            "block_number": event.block_number,
            "issued_at": _ts(event.block_timestamp),
        }

    def _evidence_for(self, *, cert_id: str | None, document_hash: str | None) -> Evidence:
        """The evidence for one certificate, remembered briefly (see the class)."""

        def load() -> Evidence:
            facts = self._facts(cert_id=cert_id, document_hash=document_hash)
            if facts is None:
                return NO_EVIDENCE
            return self._complete(facts, self._chain_state(facts["certificate_id"]))

        key = ("id", cert_id) if cert_id is not None else ("document", (document_hash or "").lower())
        return self._evidence.get_or_load(key, load)

    def _load_by_ids(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Evidence]:
        """Evidence for ``("id", number)`` keys: their rows in one query, their status views in one batch."""
        cert_ids = [cert_id for _, cert_id in keys]
        facts = self._stored_facts_by_ids(cert_ids)
        for cert_id in cert_ids:
            if cert_id not in facts:
                facts[cert_id] = self._indexed_facts(cert_id)
        known = [cert_id for cert_id in cert_ids if facts[cert_id] is not None]
        views = self.contract.call_many("certificateOf", [(encode_short_id(cert_id),) for cert_id in known])
        chains = dict(zip(known, map(_status_view, views), strict=True))
        evidence: dict[tuple[str, str], Evidence] = {}
        for cert_id in cert_ids:
            found = facts[cert_id]
            evidence["id", cert_id] = NO_EVIDENCE if found is None else self._complete(found, chains[cert_id])
        return evidence

    def _complete(self, facts: dict[str, Any], chain: dict[str, Any]) -> Evidence:
        """Evidence from a certificate's fields and status view, with the issuer's name and any reason."""
        return Evidence(
            facts=facts,
            chain=chain,
            issuer_name=self._department_name(facts["department"]),
            reason=self._reason(facts["certificate_id"], _chain_status(chain)),
        )

    def _forget_settled(self, operations: list[Any]) -> None:
        if any(operation.contract == CONTRACT for operation in operations):
            self._evidence.clear()

    def _reason(self, cert_id: str, status: str) -> str | None:
        """The reason code of the latest revocation or suspension: kept in events only, not in storage."""
        if status not in ("revoked", "suspended"):
            return None
        wanted = "CertificateRevoked" if status == "revoked" else "CertificateSuspended"
        with session_scope(self.engine, read_only=True) as session:
            event = session.exec(
                select(ChainEvent)
                .where(
                    ChainEvent.chain_id == self.chain_id,
                    ChainEvent.subject_id == "certificate:" + short_id_hex(cert_id),
                    ChainEvent.event_name == wanted,
                )
                .order_by(ChainEvent.block_number.desc(), ChainEvent.log_index.desc())  # type: ignore[attr-defined]
            ).first()
        if event is not None:
            return decode_short_id(json.loads(event.args_json)["reasonCode"])
        # Not indexed yet (the change is seconds old): ask the node for the certificate's logs directly.
        contract = self.contract
        chain = self.tx_manager.chain
        head = chain.block_number()
        logs = chain.get_logs(
            [contract.address],
            max(0, head - 5000),
            head,
            topics=[contract.interface.event_topic(wanted), encode_short_id(cert_id)],
        )
        for log in reversed(logs):
            decoded = contract.decode_log(log)
            if decoded is not None:
                return decode_short_id(decoded.args["reasonCode"])
        return None

    def _chain_state(self, cert_id: str) -> dict[str, Any]:
        try:
            return _status_view(self.contract.call("certificateOf", encode_short_id(cert_id)))
        except ContractRevertError as exc:
            return _status_view(exc)

    def _department_name(self, code: str) -> str | None:
        return self._issuer_names.get_or_load(code, lambda: self._load_department_name(code))

    def _load_department_name(self, code: str) -> str | None:
        try:
            return str(
                self.tx_manager.contract("Consortium").call("getDepartment", encode_department_code(code))["name"]
            )
        except (ContractRevertError, ValidationError):
            return None

    # ------------------------------------------------------------ storage

    def _store(self, rows: list[dict[str, Any]], *, retry_of: str) -> None:
        try:
            with session_scope(self.engine) as session:
                insert_rows(session.connection(), CERTIFICATES, rows)
        except ConflictError:
            existing = self._row(rows[0]["certificate_id"])
            if existing is None or existing.operation_id != retry_of:
                raise ConflictError("a certificate with this id exists already", code="certificate_exists") from None

    def _row(self, cert_id: str | None) -> IssuedCertificate | None:
        if cert_id is None:
            return None
        with session_scope(self.engine, read_only=True) as session:
            return session.exec(
                select(IssuedCertificate).where(
                    IssuedCertificate.chain_id == self.chain_id, IssuedCertificate.certificate_id == cert_id
                )
            ).first()

    def _stored_facts(self, *, cert_id: str | None, document_hash: str | None) -> dict[str, Any] | None:
        """This service's row of a certificate with its operation's outcome, in one query of plain columns.

        The public verification path: an ORM load of the row and then of its operation cost twice as much,
        and building the query anew for every request cost as much as running it (see _facts_query).
        """
        if cert_id is not None:
            query, parameters = _FACTS_BY_ID, {"chain_id": self.chain_id, "certificate_id": cert_id}
        elif document_hash is not None:
            query, parameters = _FACTS_BY_DOCUMENT, {"chain_id": self.chain_id, "document_hash": document_hash.lower()}
        else:
            return None
        with session_scope(self.engine, read_only=True) as session:
            found = session.execute(query, parameters).mappings().first()
        if found is None:
            return None
        return {**found, "anchored": bool(found["anchored"])}

    def _stored_facts_by_ids(self, cert_ids: list[str]) -> dict[str, dict[str, Any] | None]:
        """``_stored_facts`` of many certificate numbers in one query; numbers without a row are left out."""
        with session_scope(self.engine, read_only=True) as session:
            rows = session.execute(
                _FACTS_BY_IDS, {"chain_id": self.chain_id, "certificate_ids": padded(cert_ids)}
            ).mappings()
            return {row["certificate_id"]: {**row, "anchored": bool(row["anchored"])} for row in rows}

    def _issued_event(self, cert_id: str) -> ChainEvent | None:
        with session_scope(self.engine, read_only=True) as session:
            return session.exec(
                select(ChainEvent).where(
                    ChainEvent.chain_id == self.chain_id,
                    ChainEvent.subject_id == "certificate:" + short_id_hex(cert_id),
                    ChainEvent.event_name == "CertificateIssued",
                )
            ).first()

    def _issuer_from_events(self, cert_id: str) -> str | None:
        event = self._issued_event(cert_id)
        return event.department if event else None


def _facts_query(match: str) -> sqlalchemy.Select[Any]:
    """The verification lookup of a certificate by ``match`` (``certificate_id``, ``certificate_ids`` for
    many numbers at once, or ``document_hash``).

    Built once, with bound parameters: SQLAlchemy then works out the statement's cache key once too, instead
    of constructing and keying a new statement on every public verification.
    """
    certificates, operations = IssuedCertificate.__table__, Operation.__table__  # type: ignore[attr-defined]
    query = (
        sqlalchemy.select(
            certificates.c.certificate_id,
            certificates.c.department,
            certificates.c.certificate_type,
            certificates.c.document_hash,
            certificates.c.hash_algorithm,
            certificates.c.holder_commitment,
            certificates.c.valid_from,
            certificates.c.valid_until,
            (operations.c.status == OperationStatus.CONFIRMED.value).label("anchored"),
            operations.c.tx_hash,
            operations.c.block_number,
        )
        .select_from(certificates.outerjoin(operations, operations.c.id == certificates.c.operation_id))
        .where(certificates.c.chain_id == sqlalchemy.bindparam("chain_id"))
    )
    if match == "certificate_ids":  # many at once (a certificate number has one row per chain)
        return query.where(certificates.c.certificate_id.in_(sqlalchemy.bindparam(match, expanding=True)))
    query = query.where(certificates.c[match] == sqlalchemy.bindparam(match)).limit(1)
    # The same document may have been registered more than once: the latest registration answers.
    return query.order_by(certificates.c.id.desc()) if match == "document_hash" else query


_FACTS_BY_ID = _facts_query("certificate_id")
_FACTS_BY_IDS = _facts_query("certificate_ids")
_FACTS_BY_DOCUMENT = _facts_query("document_hash")

"""Data-sharing authorisations: datasets, grants, revocations and the log of every use.

Who may do what is checked twice: here, against the chain's current state, so that a department acting for
another gets an immediate 403 with a stable code; and by the SharingRegistry contract itself, which is the
authority (a state change between the check and the transaction still ends in the contract's refusal on the
operation). Lists come from the indexed events; live answers ("is X authorised now") from the contract.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from govledger.chain.contracts import BoundContract
from govledger.chain.txmanager import TxManager
from govledger.consortium.authority import DepartmentAuthority
from govledger.consortium.departments import Role, decode_department_code, encode_department_code
from govledger.db.engine import session_scope
from govledger.db.models import ChainEvent
from govledger.errors import ContractRevertError, NotFoundError, PermissionDeniedError, ValidationError
from govledger.operations import OperationPublic
from govledger.operations.writer import ContractWriter
from govledger.sharing.models import (
    AuthorisationPublic,
    DatasetIn,
    DatasetPublic,
    GrantIn,
    GrantPublic,
    RevokeIn,
    UseIn,
    UsePublic,
)
from govledger.shortids import decode_short_id, encode_short_id, short_id_hex

CONTRACT = "SharingRegistry"
GRANT_STATUSES = ("none", "not_yet_valid", "live", "expired", "revoked")
ZERO32 = b"\0" * 32


def _timestamp(value: int) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


class SharingService:
    def __init__(self, engine: Engine, tx_manager: TxManager, authority: DepartmentAuthority):
        self.engine = engine
        self.tx_manager = tx_manager
        self.authority = authority
        self.contract: BoundContract = tx_manager.contract(CONTRACT)
        self.writes = ContractWriter(tx_manager, CONTRACT)
        self.chain_id = tx_manager.chain.chain_id

    # ------------------------------------------------------------ writes

    def register_dataset(self, department: str, dataset: DatasetIn, idempotency_key: str | None) -> OperationPublic:
        self.authority.require(department, Role.DATA_OWNER)
        return self.writes.submit(
            department,
            "sharing.register_dataset",
            "registerDataset",
            [short_id_hex(dataset.dataset_id), dataset.metadata_hash],
            idempotency_key,
        )

    def grant(self, department: str, dataset_id: str, grant: GrantIn, idempotency_key: str | None) -> OperationPublic:
        self.authority.require(department, Role.DATA_OWNER)
        owner = self.dataset(dataset_id).owner
        if owner != department:
            raise PermissionDeniedError(
                f"dataset {dataset_id} belongs to {owner}; only its owner grants access", code="not_dataset_owner"
            )
        if grant.consumer == department:
            raise ValidationError("a department cannot grant access to itself", code="invalid_consumer")
        grant_id = grant.grant_id or f"G-{uuid.uuid4().hex[:24]}"
        return self.writes.submit(
            department,
            "sharing.grant",
            "grant",
            [
                short_id_hex(grant_id),
                short_id_hex(dataset_id),
                "0x" + encode_department_code(grant.consumer).hex(),
                short_id_hex(grant.purpose),
                grant.scope_hash,
                int(grant.valid_from.timestamp()),
                int(grant.valid_until.timestamp()),
            ],
            idempotency_key,
        )

    def revoke(self, department: str, grant_id: str, revoke: RevokeIn, idempotency_key: str | None) -> OperationPublic:
        self.authority.require(department, Role.DATA_OWNER)
        grant = self.grant_of(grant_id)
        if grant.owner != department:
            raise PermissionDeniedError(
                f"grant {grant_id} was issued by {grant.owner}; only it can revoke", code="not_grant_owner"
            )
        return self.writes.submit(
            department,
            "sharing.revoke",
            "revoke",
            [short_id_hex(grant_id), short_id_hex(revoke.reason_code)],
            idempotency_key,
        )

    def log_use(self, department: str, grant_id: str, use: UseIn, idempotency_key: str | None) -> OperationPublic:
        self.authority.require(department)
        grant = self.grant_of(grant_id)
        if grant.consumer != department:
            raise PermissionDeniedError(
                f"grant {grant_id} authorises {grant.consumer}, not {department}", code="not_grant_consumer"
            )
        return self.writes.submit(
            department, "sharing.log_use", "logUse", [short_id_hex(grant_id), use.request_hash], idempotency_key
        )

    # ------------------------------------------------------------ reads

    def dataset(self, dataset_id: str) -> DatasetPublic:
        try:
            view = self.contract.call("datasetOf", encode_short_id(dataset_id))
        except ContractRevertError as exc:
            if exc.error_name != "SharingRegistryUnknownDataset":
                raise
            view = {"ownerDept": ZERO32}
        if bytes(view["ownerDept"]) == ZERO32:
            raise NotFoundError(f"no dataset {dataset_id}", code="dataset_not_found")
        return DatasetPublic(
            dataset_id=dataset_id,
            owner=decode_department_code(view["ownerDept"]),
            metadata_hash="0x" + bytes(view["metadataHash"]).hex(),
            registered_at=_timestamp(view["registeredAt"]),
        )

    def datasets(self, owner: str | None = None) -> list[DatasetPublic]:
        events = self._events(["DatasetRegistered"], department=owner)
        seen: dict[str, DatasetPublic] = {}
        for event in events:
            dataset_id = decode_short_id(json.loads(event.args_json)["datasetId"])
            if dataset_id not in seen:
                seen[dataset_id] = self.dataset(dataset_id)
        return list(seen.values())

    def grant_of(self, grant_id: str) -> GrantPublic:
        try:
            view = self.contract.call("grantOf", encode_short_id(grant_id))
        except ContractRevertError as exc:
            if exc.error_name != "SharingRegistryUnknownGrant":
                raise
            view = {"status": 0}
        if view["status"] == 0:
            raise NotFoundError(f"no grant {grant_id}", code="grant_not_found")
        return self._grant_public(view)

    def grants(
        self, *, dataset_id: str | None = None, consumer: str | None = None, owner: str | None = None
    ) -> list[GrantPublic]:
        """Grants as the chain recorded them, filtered by dataset, consumer or owner department."""
        results = []
        for event in self._events(["GrantIssued"], department=owner):
            args = json.loads(event.args_json)
            if dataset_id is not None and decode_short_id(args["datasetId"]) != dataset_id:
                continue
            if consumer is not None and args["consumerDept"] != consumer:
                continue
            results.append(self.grant_of(decode_short_id(args["grantId"])))
        return results

    def uses(self, grant_id: str) -> list[UsePublic]:
        self.grant_of(grant_id)
        subject = "grant:" + short_id_hex(grant_id)
        with session_scope(self.engine, read_only=True) as session:
            events = session.exec(
                select(ChainEvent)
                .where(
                    ChainEvent.chain_id == self.chain_id,
                    ChainEvent.subject_id == subject,
                    ChainEvent.event_name == "DataUseLogged",
                )
                .order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))
            ).all()
        uses = []
        for event in events:
            args = json.loads(event.args_json)
            uses.append(
                UsePublic(
                    grant_id=grant_id,
                    consumer=event.department or "",
                    request_hash=args["requestHash"],
                    use_number=args["useCount"],
                    action_seq=event.action_seq,
                    tx_hash=event.tx_hash,
                    block_number=event.block_number,
                    logged_at=_timestamp(event.block_timestamp or 0),
                )
            )
        return uses

    def authorisation(self, dataset_id: str, consumer: str, purpose: str) -> AuthorisationPublic:
        live, grant_id = self.contract.call(
            "isAuthorised", encode_short_id(dataset_id), encode_department_code(consumer), encode_short_id(purpose)
        )
        return AuthorisationPublic(
            dataset_id=dataset_id,
            consumer=consumer,
            purpose=purpose,
            authorised=bool(live),
            grant_id=decode_short_id(grant_id) if bytes(grant_id) != ZERO32 else None,
        )

    # ------------------------------------------------------------ internals

    def _grant_public(self, view: dict[str, Any]) -> GrantPublic:
        return GrantPublic(
            grant_id=decode_short_id(view["grantId"]),
            dataset_id=decode_short_id(view["datasetId"]),
            owner=decode_department_code(view["ownerDept"]),
            consumer=decode_department_code(view["consumerDept"]),
            purpose=decode_short_id(view["purposeCode"]),
            scope_hash="0x" + bytes(view["scopeHash"]).hex(),
            valid_from=_timestamp(view["validFrom"]),
            valid_until=_timestamp(view["validUntil"]),
            revoked_at=_timestamp(view["revokedAt"]),
            use_count=view["useCount"],
            status=GRANT_STATUSES[view["status"]],
        )

    def _events(self, names: list[str], *, department: str | None = None) -> list[ChainEvent]:
        with session_scope(self.engine, read_only=True) as session:
            query = select(ChainEvent).where(
                ChainEvent.chain_id == self.chain_id, col(ChainEvent.event_name).in_(names)
            )
            if department is not None:
                query = query.where(ChainEvent.department == department)
            return list(session.exec(query.order_by(col(ChainEvent.block_number), col(ChainEvent.log_index))).all())

"""Sealing waiting records into a batch on SQLite and PostgreSQL: one batch, whose root and stored leaf
hashes are the Merkle tree of its records in leaf order."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from sqlmodel import select

from govledger.chain.client import Web3Chain
from govledger.chain.txmanager import TxManager
from govledger.db.bulk import insert_rows
from govledger.db.engine import session_scope
from govledger.db.models import AnchoredRecord, RecordBatch
from govledger.merkle import RECORD_LEAF_ENCODING, StandardMerkleTree
from govledger.records.batches import BatchWriter
from govledger.records.models import record_leaf_values
from tests.records.test_intake import row
from tests.support.consortium import deploy_consortium

DEPARTMENT = "CS-PSB"


@pytest.fixture
def manager(migrated_engine: Engine) -> TxManager:
    chain = Web3Chain("embedded")
    consortium = deploy_consortium(chain)
    return TxManager(chain, migrated_engine, consortium.deployment, consortium.signers)


def add_waiting(engine: Engine, chain_id: int, count: int) -> None:
    with session_scope(engine) as session:
        rows = [row(f"REC-{n}", chain_id=chain_id) for n in range(count)]
        insert_rows(session.connection(), AnchoredRecord.__table__, rows)  # type: ignore[attr-defined]


def assert_batch_matches_its_rows(engine: Engine, batch: RecordBatch) -> list[str]:
    """The batch's root is the tree of its records in leaf order, and each stored leaf hash is that tree's."""
    with session_scope(engine, read_only=True) as session:
        rows = session.exec(
            select(AnchoredRecord).where(AnchoredRecord.batch_id == batch.id).order_by(AnchoredRecord.leaf_index)
        ).all()
    assert [r.leaf_index for r in rows] == list(range(batch.leaf_count))
    leaves = [record_leaf_values(r.record_id, r.content_hash, r.hash_algorithm, r.schema_id) for r in rows]
    tree = StandardMerkleTree.of(leaves, RECORD_LEAF_ENCODING)
    assert tree.root == batch.root
    assert [r.leaf_hash for r in rows] == [tree.leaf_hash_at(i) for i in range(len(rows))]
    return [r.record_id for r in rows]


def test_waiting_records_are_sealed_into_one_batch_with_their_proofs(manager: TxManager, migrated_engine: Engine):
    add_waiting(migrated_engine, manager.chain.chain_id, 10)
    batch = BatchWriter(migrated_engine, manager).seal_pending(DEPARTMENT, 100)
    assert batch is not None and batch.leaf_count == 10
    assert sorted(assert_batch_matches_its_rows(migrated_engine, batch)) == sorted(f"REC-{n}" for n in range(10))


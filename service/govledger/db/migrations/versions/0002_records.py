"""Shared records and their Merkle batches.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "record_batches",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("root", sa.String(), nullable=False),
        sa.Column("leaf_count", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.String(), nullable=True),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("request_hash", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "root", name="uq_record_batches_chain_id_root"),
        sa.UniqueConstraint("department", "idempotency_key", name="uq_record_batches_department_idempotency_key"),
    )
    op.create_index("ix_record_batches_department", "record_batches", ["department"])
    op.create_index("ix_record_batches_operation_id", "record_batches", ["operation_id"])

    op.create_table(
        "records",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("content_hash", sa.String(), nullable=False),
        sa.Column("hash_algorithm", sa.String(), nullable=False),
        sa.Column("schema_id", sa.String(), nullable=False),
        sa.Column("mode", sa.String(), nullable=False),
        sa.Column("request_hash", sa.String(), nullable=False),
        sa.Column("batch_id", sa.String(), nullable=True),
        sa.Column("leaf_index", sa.Integer(), nullable=True),
        sa.Column("leaf_hash", sa.String(), nullable=True),
        sa.Column("proof_json", sa.Text(), nullable=True),
        sa.Column("operation_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "record_id", name="uq_records_chain_id_record_id"),
    )
    op.create_index("ix_records_mode_batch_id_department", "records", ["mode", "batch_id", "department"])


def downgrade() -> None:
    op.drop_table("records")
    op.drop_table("record_batches")

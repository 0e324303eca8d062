"""Initial schema: operations, account nonces, API keys, chain events and indexer state.

Revision ID: 0001
Revises:
Create Date: 2026-11-24

Written with plain SQLAlchemy types so that it runs the same on SQLite and PostgreSQL and does not
depend on sqlmodel's helpers. Chain numbers are BIGINT; the chain_events id is INTEGER on SQLite
because only an INTEGER PRIMARY KEY auto-numbers there.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str, *, nullable: bool) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "operations",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("idempotency_key", sa.String(), nullable=True),
        sa.Column("request_hash", sa.String(), nullable=False),
        sa.Column("contract", sa.String(), nullable=False),
        sa.Column("function", sa.String(), nullable=False),
        sa.Column("args_json", sa.Text(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("nonce", sa.BigInteger(), nullable=True),
        sa.Column("tx_hash", sa.String(), nullable=True),
        sa.Column("raw_tx", sa.Text(), nullable=True),
        sa.Column("gas_limit", sa.BigInteger(), nullable=True),
        sa.Column("block_number", sa.BigInteger(), nullable=True),
        sa.Column("block_hash", sa.String(), nullable=True),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("error_name", sa.String(), nullable=True),
        sa.Column("error_message", sa.String(), nullable=True),
        sa.Column("error_args_json", sa.Text(), nullable=True),
        sa.Column("result_json", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("updated_at", nullable=False),
        _timestamp("submitted_at", nullable=True),
        _timestamp("confirmed_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department", "idempotency_key", name="uq_operations_department_idempotency_key"),
    )
    op.create_index("ix_operations_department", "operations", ["department"])
    op.create_index("ix_operations_sender", "operations", ["sender"])
    op.create_index("ix_operations_tx_hash", "operations", ["tx_hash"])
    op.create_index("ix_operations_chain_id_sender_nonce", "operations", ["chain_id", "sender", "nonce"])
    op.create_index("ix_operations_status_created_at", "operations", ["status", "created_at"])

    op.create_table(
        "account_nonces",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("address", sa.String(), nullable=False),
        sa.Column("next_nonce", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "address"),
    )

    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("prefix", sa.String(), nullable=False),
        sa.Column("secret_hash", sa.String(), nullable=False),
        sa.Column("department", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("expires_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        _timestamp("last_used_at", nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
    )
    op.create_index("ix_api_keys_department", "api_keys", ["department"])

    op.create_table(
        "chain_events",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("contract_address", sa.String(), nullable=False),
        sa.Column("contract_name", sa.String(), nullable=False),
        sa.Column("event_name", sa.String(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(), nullable=False),
        sa.Column("tx_hash", sa.String(), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(), nullable=True),
        sa.Column("subject_id", sa.String(), nullable=True),
        sa.Column("action_seq", sa.BigInteger(), nullable=True),
        sa.Column("args_json", sa.Text(), nullable=False),
        sa.Column("block_timestamp", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "tx_hash", "log_index", name="uq_chain_events_chain_id_tx_hash_log_index"),
    )
    op.create_index("ix_chain_events_event_name", "chain_events", ["event_name"])
    op.create_index("ix_chain_events_subject_id", "chain_events", ["subject_id"])
    op.create_index(
        "ix_chain_events_chain_id_block_number_log_index",
        "chain_events",
        ["chain_id", "block_number", "log_index"],
    )
    op.create_index("ix_chain_events_department_action_seq", "chain_events", ["department", "action_seq"])

    op.create_table(
        "indexer_checkpoints",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(), nullable=False),
        _timestamp("updated_at", nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )

    op.create_table(
        "indexed_blocks",
        sa.Column("chain_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("block_hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("chain_id", "block_number"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes and constraints with it, on both backends.
    for table in (
        "indexed_blocks",
        "indexer_checkpoints",
        "chain_events",
        "api_keys",
        "account_nonces",
        "operations",
    ):
        op.drop_table(table)

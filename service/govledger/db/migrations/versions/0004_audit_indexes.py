"""Indexes for the audit queries: every filter in (block_number, log_index) order, per chain.

The history API reads pages with a keyset cursor on (block_number, log_index). An index that starts with
the filtered columns and ends with that order turns each page into a short index range read at any depth;
the single-column indexes of 0001 made the database sort every matching row first. The unfiltered
(chain_id, block_number, log_index) index of 0001 already has that shape and stays.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSITION = ["block_number", "log_index"]


def upgrade() -> None:
    op.drop_index("ix_chain_events_event_name", table_name="chain_events")
    op.drop_index("ix_chain_events_subject_id", table_name="chain_events")
    op.drop_index("ix_chain_events_department_action_seq", table_name="chain_events")
    op.create_index(
        "ix_chain_events_chain_id_department_action_seq", "chain_events", ["chain_id", "department", "action_seq"]
    )
    op.create_index("ix_chain_events_chain_id_department_block", "chain_events", ["chain_id", "department", *_POSITION])
    op.create_index("ix_chain_events_chain_id_subject_id_block", "chain_events", ["chain_id", "subject_id", *_POSITION])
    op.create_index("ix_chain_events_chain_id_event_name_block", "chain_events", ["chain_id", "event_name", *_POSITION])
    op.create_index(
        "ix_chain_events_chain_id_block_timestamp", "chain_events", ["chain_id", "block_timestamp", "block_number"]
    )


def downgrade() -> None:
    for name in (
        "ix_chain_events_chain_id_block_timestamp",
        "ix_chain_events_chain_id_event_name_block",
        "ix_chain_events_chain_id_subject_id_block",
        "ix_chain_events_chain_id_department_block",
        "ix_chain_events_chain_id_department_action_seq",
    ):
        op.drop_index(name, table_name="chain_events")
    op.create_index("ix_chain_events_department_action_seq", "chain_events", ["department", "action_seq"])
    op.create_index("ix_chain_events_subject_id", "chain_events", ["subject_id"])
    op.create_index("ix_chain_events_event_name", "chain_events", ["event_name"])

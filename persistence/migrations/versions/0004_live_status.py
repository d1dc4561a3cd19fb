"""Live status: the sync engine's subjects and the projection of characters' status.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_subjects",
        sa.Column("dataset", sa.String(), primary_key=True),
        sa.Column("user_id", sa.String(), primary_key=True),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("work_id", sa.String(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("last_requested_at", sa.BigInteger(), nullable=False),
        sa.Column("next_due_at", sa.BigInteger(), nullable=False),
        sa.Column("min_expires_at", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.BigInteger(), nullable=False),
        sa.Column("synced_character_ids", sa.JSON(), nullable=False),
    )
    op.create_index("ix_sync_subjects_next_due_at", "sync_subjects", ["next_due_at"])
    op.create_table(
        "character_status",
        sa.Column("character_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("tracked", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=True),
        sa.Column("system_id", sa.BigInteger(), nullable=True),
        sa.Column("ship_type_id", sa.BigInteger(), nullable=True),
        sa.Column("docked", sa.Boolean(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_character_status_user_id", "character_status", ["user_id"])


def downgrade() -> None:
    op.drop_table("character_status")
    op.drop_table("sync_subjects")

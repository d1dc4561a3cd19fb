"""Chains, members, the update log, snapshots and the audit log.

Revision ID: 0001
Revises:
Create Date: 2025-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only autoincrements an INTEGER PRIMARY KEY; AUTOINCREMENT keeps it from reusing ids.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "chains",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("created_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "chain_members",
        sa.Column(
            "chain_id",
            sa.String(),
            sa.ForeignKey("chains.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("member", sa.String(), primary_key=True),
        sa.Column("role", sa.String(), nullable=False),
    )
    op.create_index("ix_chain_members_member", "chain_members", ["member"])
    op.create_table(
        "chain_updates",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column(
            "chain_id",
            sa.String(),
            sa.ForeignKey("chains.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_chain_updates_chain_id_id", "chain_updates", ["chain_id", "id"])
    op.create_table(
        "chain_snapshots",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("label", sa.String(), nullable=True),
        sa.Column("created_by", sa.String(), nullable=True),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("last_update_id", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_chain_snapshots_chain_id_id", "chain_snapshots", ["chain_id", "id"])
    op.create_table(
        "audit_log",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("chain_id", sa.String(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("actor", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_chain_id_id", "audit_log", ["chain_id", "id"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("chain_snapshots")
    op.drop_table("chain_updates")
    op.drop_table("chain_members")
    op.drop_table("chains")

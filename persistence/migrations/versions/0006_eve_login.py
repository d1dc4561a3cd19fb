"""The built-in EVE login: users, their characters (refresh tokens encrypted), logins under way.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "eve_users",
        sa.Column("id", sa.String(), primary_key=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("signed_out_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "eve_characters",
        sa.Column("character_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column(
            "user_id",
            sa.String(),
            sa.ForeignKey("eve_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("corporation_id", sa.BigInteger(), nullable=True),
        sa.Column("alliance_id", sa.BigInteger(), nullable=True),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("refresh_token", sa.LargeBinary(), nullable=True),
        sa.Column("needs_login", sa.Boolean(), nullable=False),
        sa.Column("linked_at", sa.BigInteger(), nullable=False),
        sa.Column("affiliation_expires_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_eve_characters_user_id", "eve_characters", ["user_id"])
    op.create_table(
        "eve_logins",
        sa.Column("state_hash", sa.String(), primary_key=True),
        sa.Column("browser_hash", sa.String(), nullable=False),
        sa.Column("verifier", sa.String(), nullable=False),
        sa.Column("link_user_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("eve_logins")
    op.drop_table("eve_characters")
    op.drop_table("eve_users")

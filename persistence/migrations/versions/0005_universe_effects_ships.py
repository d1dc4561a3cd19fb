"""Static data: a wormhole system's effect, and ship types with their mass.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("universe_systems") as table:
        table.add_column(sa.Column("effect", sa.String(), nullable=True))
    op.create_table(
        "universe_ships",
        sa.Column("type_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("mass", sa.Float(), nullable=True),
        sa.Column("group_id", sa.BigInteger(), nullable=False),
        sa.Column("group_name", sa.String(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("universe_ships")
    with op.batch_alter_table("universe_systems") as table:
        table.drop_column("effect")

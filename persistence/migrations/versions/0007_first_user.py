"""At most one first user of the EVE login: two first sign-ins at once cannot both become
service admins.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "eve_users",
        sa.Column("first_user", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "uq_eve_users_first_user",
        "eve_users",
        ["first_user"],
        unique=True,
        sqlite_where=sa.text("first_user"),
        postgresql_where=sa.text("first_user"),
    )


def downgrade() -> None:
    op.drop_index("uq_eve_users_first_user", table_name="eve_users")
    with op.batch_alter_table("eve_users") as table:  # SQLite drops a column by a copy
        table.drop_column("first_user")

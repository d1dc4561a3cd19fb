"""Static data: regions, constellations, systems, stargates, wormhole types, statics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _id(name: str = "id") -> sa.Column:
    return sa.Column(name, sa.BigInteger(), primary_key=True, autoincrement=False)


def upgrade() -> None:
    op.create_table(
        "universe_regions",
        _id(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("wormhole_class", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "universe_constellations",
        _id(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("region_id", sa.BigInteger(), nullable=False),
        sa.Column("wormhole_class", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "universe_systems",
        _id(),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("security", sa.Float(), nullable=False),
        sa.Column("constellation_id", sa.BigInteger(), nullable=False),
        sa.Column("region_id", sa.BigInteger(), nullable=False),
        sa.Column("wormhole_class", sa.BigInteger(), nullable=True),
    )
    op.create_table("universe_gates", _id("from_system"), _id("to_system"))
    op.create_table(
        "universe_wormholes",
        _id("type_id"),
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("target_class", sa.BigInteger(), nullable=True),
        sa.Column("lifetime_minutes", sa.Float(), nullable=True),
        sa.Column("max_mass", sa.Float(), nullable=True),
        sa.Column("mass_regeneration", sa.Float(), nullable=True),
        sa.Column("max_jump_mass", sa.Float(), nullable=True),
    )
    op.create_table(
        "universe_statics",
        _id("system_id"),
        sa.Column("code", sa.String(), primary_key=True),
    )
    op.create_table(
        "universe_imports",
        sa.Column("id", BIG_ID, primary_key=True, autoincrement=True),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("what", sa.String(), nullable=False),
    )


def downgrade() -> None:
    for table in (
        "universe_imports",
        "universe_statics",
        "universe_wormholes",
        "universe_gates",
        "universe_systems",
        "universe_constellations",
        "universe_regions",
    ):
        op.drop_table(table)

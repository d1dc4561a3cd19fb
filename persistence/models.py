"""Tables. Times are milliseconds since the epoch (BigInteger), the unit the API shows.

The migrations in `persistence/migrations/versions` create these tables; change both together
(tests compare them).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only autoincrements an INTEGER PRIMARY KEY, not a BIGINT one.
BigId = BigInteger().with_variant(Integer(), "sqlite")

# AUTOINCREMENT stops SQLite from reusing the ids of deleted rows: a snapshot's last_update_id
# must stay below every later row of its chain, even after a chain's log was deleted.
_NEVER_REUSE_IDS = {"sqlite_autoincrement": True}


class Base(DeclarativeBase):
    type_annotation_map = {str: String(), int: BigInteger(), bytes: LargeBinary(), float: Float()}


class Chain(Base):
    __tablename__ = "chains"

    id: Mapped[str] = mapped_column(primary_key=True)
    name: Mapped[str]
    created_by: Mapped[str]
    created_at: Mapped[int]
    deleted_at: Mapped[int | None]


class ChainMember(Base):
    __tablename__ = "chain_members"
    __table_args__ = (Index("ix_chain_members_member", "member"),)

    chain_id: Mapped[str] = mapped_column(
        ForeignKey("chains.id", ondelete="CASCADE"), primary_key=True
    )
    member: Mapped[str] = mapped_column(primary_key=True)
    role: Mapped[str]


class ChainUpdate(Base):
    """The append-only log of Yjs updates, read back in id order."""

    __tablename__ = "chain_updates"
    __table_args__ = (Index("ix_chain_updates_chain_id_id", "chain_id", "id"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain_id: Mapped[str] = mapped_column(ForeignKey("chains.id", ondelete="CASCADE"))
    data: Mapped[bytes]
    created_at: Mapped[int]


class ChainBase(Base):
    """The chain's compacted log: every log row up to `last_update_id`, merged into one state.
    Loading reads this and the rows after it."""

    __tablename__ = "chain_bases"

    chain_id: Mapped[str] = mapped_column(
        ForeignKey("chains.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[bytes]
    last_update_id: Mapped[int]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[int]


class ChainSnapshot(Base):
    """A full document state. chain_id is no foreign key: snapshots outlive a deleted chain."""

    __tablename__ = "chain_snapshots"
    __table_args__ = (
        Index("ix_chain_snapshots_chain_id_id", "chain_id", "id"),
        _NEVER_REUSE_IDS,
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain_id: Mapped[str]
    created_at: Mapped[int]
    reason: Mapped[str]
    label: Mapped[str | None]
    created_by: Mapped[str | None]
    state: Mapped[bytes]
    # The column is called "bytes" (the API field); the attribute must not shadow the type.
    size: Mapped[int] = mapped_column("bytes")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Every log row of the chain with an id up to this one is contained in `state`.
    last_update_id: Mapped[int]


class ChainWebhook(Base):
    """A chain's Discord or Slack webhook (the URL is a secret: never logged, shown masked)."""

    __tablename__ = "chain_webhooks"

    chain_id: Mapped[str] = mapped_column(
        ForeignKey("chains.id", ondelete="CASCADE"), primary_key=True
    )
    url: Mapped[str]
    classes: Mapped[list[int]] = mapped_column(JSON)  # wormhole classes (contract section 8)
    events: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[int]
    updated_by: Mapped[str]


class AuditLog(Base):
    """Who did what to a chain; kept after the chain is deleted."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_chain_id_id", "chain_id", "id"), _NEVER_REUSE_IDS)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chain_id: Mapped[str]
    at: Mapped[int]
    actor: Mapped[str]
    action: Mapped[str]
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


# Static data (the EVE universe), from CCP's static data export: never in a live document.


class UniverseRegion(Base):
    __tablename__ = "universe_regions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str]
    wormhole_class: Mapped[int | None]


class UniverseConstellation(Base):
    __tablename__ = "universe_constellations"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str]
    region_id: Mapped[int]
    wormhole_class: Mapped[int | None]


class UniverseSystem(Base):
    __tablename__ = "universe_systems"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str]
    security: Mapped[float]
    constellation_id: Mapped[int]
    region_id: Mapped[int]
    # The system's own class, else its constellation's, else its region's.
    wormhole_class: Mapped[int | None]
    effect: Mapped[str | None]  # its secondary sun's name: "Pulsar", "Black Hole", ...


class UniverseGate(Base):
    """Stargate adjacency, once per pair (from_system < to_system)."""

    __tablename__ = "universe_gates"

    from_system: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    to_system: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)


class UniverseWormhole(Base):
    __tablename__ = "universe_wormholes"

    type_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str]
    target_class: Mapped[int | None]
    lifetime_minutes: Mapped[float | None]
    max_mass: Mapped[float | None]
    mass_regeneration: Mapped[float | None]
    max_jump_mass: Mapped[float | None]


class UniverseShip(Base):
    """A ship type and its mass (kg), for mass tracking."""

    __tablename__ = "universe_ships"

    type_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    name: Mapped[str]
    mass: Mapped[float | None]
    group_id: Mapped[int]
    group_name: Mapped[str]


class UniverseStatic(Base):
    """A wormhole system's static connections: not in the export, loaded from a CSV."""

    __tablename__ = "universe_statics"

    system_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(primary_key=True)


class UniverseImport(Base):
    """One row per import; the newest tells servers to reload their in-memory index."""

    __tablename__ = "universe_imports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[int]
    source: Mapped[str]
    what: Mapped[str]  # "sde" or "statics"


class SyncSubject(Base):
    """One (dataset, user) the sync engine refreshes while the user is present."""

    __tablename__ = "sync_subjects"
    __table_args__ = (Index("ix_sync_subjects_next_due_at", "next_due_at"),)

    dataset: Mapped[str] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(primary_key=True)
    status: Mapped[str]  # idle | running
    work_id: Mapped[str | None]
    started_at: Mapped[int | None]
    last_requested_at: Mapped[int]
    next_due_at: Mapped[int]
    min_expires_at: Mapped[int]
    failures: Mapped[int]
    synced_character_ids: Mapped[list[int]] = mapped_column(JSON)


class CharacterStatus(Base):
    """The SQL projection of what ESI last said about a character; the live documents are
    rebuilt from it."""

    __tablename__ = "character_status"
    __table_args__ = (Index("ix_character_status_user_id", "user_id"),)

    character_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[str]
    name: Mapped[str]
    tracked: Mapped[bool]
    online: Mapped[bool | None]
    system_id: Mapped[int | None]
    ship_type_id: Mapped[int | None]
    docked: Mapped[bool | None]
    updated_at: Mapped[int]


# The built-in EVE login (contract section 9). No EVE access token is ever stored; refresh
# tokens only encrypted, by a key that is not in the database.


class EveUser(Base):
    """A person who signed in with EVE; their characters hang off them."""

    __tablename__ = "eve_users"
    # One first user at most: of two first sign-ins racing on a fresh service, the second
    # one's insert meets this index and it signs in as an ordinary user.
    __table_args__ = (
        Index(
            "uq_eve_users_first_user",
            "first_user",
            unique=True,
            sqlite_where=text("first_user"),
            postgresql_where=text("first_user"),
        ),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    created_at: Mapped[int]
    admin: Mapped[bool]
    first_user: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Tokens of ours issued before this are no longer accepted.
    signed_out_at: Mapped[int | None]


class EveCharacter(Base):
    __tablename__ = "eve_characters"
    __table_args__ = (Index("ix_eve_characters_user_id", "user_id"),)

    character_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    user_id: Mapped[str] = mapped_column(ForeignKey("eve_users.id", ondelete="CASCADE"))
    name: Mapped[str]
    corporation_id: Mapped[int | None]
    alliance_id: Mapped[int | None]
    scopes: Mapped[list[str]] = mapped_column(JSON)
    refresh_token: Mapped[bytes | None]  # encrypted
    needs_login: Mapped[bool]
    linked_at: Mapped[int]
    affiliation_expires_at: Mapped[int]


class EveLogin(Base):
    """A login under way: its `state` (hashed), the browser it is bound to (a hash of the
    cookie's nonce), its PKCE verifier, and the user linking a character, if one is."""

    __tablename__ = "eve_logins"

    state_hash: Mapped[str] = mapped_column(primary_key=True)
    browser_hash: Mapped[str]
    verifier: Mapped[str]
    link_user_id: Mapped[str | None]
    created_at: Mapped[int]

"""Every SQL statement the service runs: chains, members, the update log, snapshots, audit."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from mapper.core.roles import OWNER
from mapper.persistence.database import sqlite_thread_engine
from mapper.persistence.models import (
    AuditLog,
    Chain,
    ChainBase,
    ChainMember,
    ChainSnapshot,
    ChainUpdate,
    ChainWebhook,
)
from mapper.persistence.records import (
    THINNED_REASONS,
    AuditEntry,
    ChainRecord,
    Folded,
    MemberChange,
    SnapshotInfo,
    WebhookRecord,
    check_member,
    check_reason,
    check_role,
)

Merge = Callable[[list[bytes]], Awaitable[Folded]]
"""Merges a base state and log rows into one state (the caller knows how, and off which
thread); also counts the content."""

MemberCheck = Callable[[Mapping[str, str]], None]
"""Judges a member change against the chain's members (member key to role) as they are;
raises to refuse it."""

log = logging.getLogger(__name__)

_CHAIN = (Chain.id, Chain.name, Chain.created_by, Chain.created_at, Chain.deleted_at)
_SNAPSHOT = (
    ChainSnapshot.id,
    ChainSnapshot.chain_id,
    ChainSnapshot.created_at,
    ChainSnapshot.reason,
    ChainSnapshot.label,
    ChainSnapshot.created_by,
    ChainSnapshot.size,
    ChainSnapshot.counts,
    ChainSnapshot.last_update_id,
)


_WEBHOOK = (
    ChainWebhook.chain_id,
    ChainWebhook.url,
    ChainWebhook.classes,
    ChainWebhook.events,
    ChainWebhook.updated_at,
    ChainWebhook.updated_by,
)


def _webhook(
    chain_id: str, url: str, classes: list[int], events: list[str], at: int, by: str
) -> WebhookRecord:
    return WebhookRecord(chain_id, url, tuple(classes), tuple(events), at, by)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Store:
    """Owns the engine; `close()` disposes of it."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        dialects = {"postgresql": postgresql, "sqlite": sqlite}
        self._upsert_dialect = dialects[engine.dialect.name]
        # The update log is written several times a second: on SQLite in one worker thread
        # round trip per write instead of one per statement.
        self._thread_engine = sqlite_thread_engine(engine)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()
        if self._thread_engine is not None:
            self._thread_engine.dispose()

    # Chains

    async def create_chain(
        self, name: str, created_by: str, first_update: bytes | None = None
    ) -> ChainRecord:
        """A new chain owned by `user:<created_by>`, its document starting with `first_update`:
        the chain, its owner, its audit entry and its first update commit together."""
        record = ChainRecord(str(uuid.uuid4()), name, created_by, now_ms(), None)
        async with self.engine.begin() as conn:
            await conn.execute(
                insert(Chain).values(
                    id=record.id, name=name, created_by=created_by, created_at=record.created_at
                )
            )
            await conn.execute(
                insert(ChainMember).values(
                    chain_id=record.id, member=f"user:{created_by}", role=OWNER
                )
            )
            await _audit(conn, record.id, created_by, "create", {"name": name}, record.created_at)
            if first_update is not None:
                await conn.execute(
                    insert(ChainUpdate.__table__),
                    {"chain_id": record.id, "data": first_update, "created_at": record.created_at},
                )
        return record

    async def get_chain(
        self, chain_id: str, *, include_deleted: bool = False
    ) -> ChainRecord | None:
        query = select(*_CHAIN).where(Chain.id == chain_id)
        if not include_deleted:
            query = query.where(Chain.deleted_at.is_(None))
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else ChainRecord(*row)

    async def list_chains(self, member_keys: Sequence[str] | None) -> list[ChainRecord]:
        """Live chains where any of `member_keys` is a member; None lists all (for admins)."""
        query = select(*_CHAIN).where(Chain.deleted_at.is_(None))
        if member_keys is not None:
            if not member_keys:
                return []
            members = select(ChainMember.chain_id).where(ChainMember.member.in_(member_keys))
            query = query.where(Chain.id.in_(members))
        async with self.engine.connect() as conn:
            rows = await conn.execute(query.order_by(Chain.created_at, Chain.id))
        return [ChainRecord(*row) for row in rows]

    async def rename_chain(self, chain_id: str, name: str, *, actor: str) -> ChainRecord | None:
        """Rename a live chain, with its audit entry; None if no such live chain."""
        async with self.engine.begin() as conn:
            row = (
                await conn.execute(
                    update(Chain)
                    .where(Chain.id == chain_id, Chain.deleted_at.is_(None))
                    .values(name=name)
                    .returning(*_CHAIN)
                )
            ).first()
            if row is None:
                return None
            await _audit(conn, chain_id, actor, "rename", {"name": name}, now_ms())
        return ChainRecord(*row)

    async def delete_chain(
        self, chain_id: str, *, actor: str, final_state: bytes, counts: Mapping[str, int]
    ) -> bool:
        """Delete a live chain's history (log and base), keeping a `delete` snapshot of
        `final_state`, its other snapshots, its members (for an undelete) and the audit trail.
        False if no such live chain."""
        at = now_ms()
        async with self.engine.begin() as conn:
            # Marking the row first locks it, so a concurrent delete waits and then finds
            # nothing to do, and Postgres's append_updates skips the chain from then on.
            if not await _mark_chain(conn, chain_id, deleted=False, deleted_at=at):
                return False
            snapshot = await _insert_snapshot(
                conn,
                chain_id,
                state=final_state,
                reason="delete",
                counts=counts,
                last_update_id=await _latest_update_id(conn, chain_id),
                created_by=actor,
                label=None,
                at=at,
            )
            await conn.execute(delete(ChainUpdate).where(ChainUpdate.chain_id == chain_id))
            await conn.execute(delete(ChainBase).where(ChainBase.chain_id == chain_id))
            await _audit(conn, chain_id, actor, "delete", {"snapshotId": snapshot.id}, at)
        return True

    async def undelete_chain(self, chain_id: str, actor: str) -> bool:
        """Bring a deleted chain back with the content of its `delete` snapshot (and its
        creator as owner if no member is left). False if the chain is not deleted."""
        at = now_ms()
        async with self.engine.begin() as conn:
            if not await _mark_chain(conn, chain_id, deleted=True, deleted_at=None):
                return False
            final = (
                await conn.execute(
                    select(ChainSnapshot.state, ChainSnapshot.counts, ChainSnapshot.id)
                    .where(ChainSnapshot.chain_id == chain_id, ChainSnapshot.reason == "delete")
                    .order_by(ChainSnapshot.id.desc())
                    .limit(1)
                )
            ).first()
            if final is not None:
                # Its history, not an empty document: offline replicas of the chain still merge.
                await conn.execute(
                    insert(ChainBase).values(
                        chain_id=chain_id,
                        state=final.state,
                        counts=final.counts,
                        last_update_id=await _latest_update_id(conn, chain_id),
                        updated_at=at,
                    )
                )
            has_members = await conn.scalar(
                select(func.count()).where(ChainMember.chain_id == chain_id)
            )
            if not has_members:
                creator = await conn.scalar(select(Chain.created_by).where(Chain.id == chain_id))
                await conn.execute(
                    insert(ChainMember).values(
                        chain_id=chain_id, member=f"user:{creator}", role=OWNER
                    )
                )
            detail = {"fromSnapshotId": None if final is None else final.id}
            await _audit(conn, chain_id, actor, "undelete", detail, at)
        return True

    # Members

    async def roles_for(self, chain_id: str, member_keys: Sequence[str]) -> list[str]:
        """The roles held on the chain by any of `member_keys` (the caller picks the strongest)."""
        if not member_keys:
            return []
        query = select(ChainMember.role).where(
            ChainMember.chain_id == chain_id, ChainMember.member.in_(member_keys)
        )
        async with self.engine.connect() as conn:
            return list(await conn.scalars(query))

    async def members(self, chain_id: str) -> dict[str, str]:
        async with self.engine.connect() as conn:
            return await _members(conn, chain_id)

    async def change_member(
        self,
        chain_id: str,
        member: str,
        role: str | None,
        *,
        actor: str,
        check: MemberCheck,
    ) -> MemberChange | None:
        """Grant `role` to `member`, change it, or revoke it (`role` None), with its audit entry,
        in one transaction. `check` sees the members as they are while the chain's row is
        locked, so no other member change comes between its verdict and the write; it raises
        to refuse, and nothing is written. None if no such live chain."""
        check_member(member)
        if role is not None:
            check_role(role)
        async with self.engine.begin() as conn:
            # The lock first: in SQLite a write is what takes the database's write lock, and a
            # read before it would see a state another writer may change before ours commits.
            if not await _mark_chain(conn, chain_id, deleted=False, deleted_at=None):
                return None
            members = await _members(conn, chain_id)
            check(members)
            change = MemberChange(member, members.get(member), role)
            if role is None:
                await conn.execute(
                    delete(ChainMember).where(
                        ChainMember.chain_id == chain_id, ChainMember.member == member
                    )
                )
            else:
                statement = self._upsert_dialect.insert(ChainMember).values(
                    chain_id=chain_id, member=member, role=role
                )
                await conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=[ChainMember.chain_id, ChainMember.member],
                        set_={"role": role},
                    )
                )
            await _audit(conn, chain_id, actor, change.action, change.detail, now_ms())
        return change

    # Webhooks

    async def webhooks(self, chain_id: str | None = None) -> list[WebhookRecord]:
        """The webhooks of live chains (of one, with `chain_id`)."""
        query = (
            select(*_WEBHOOK)
            .join(Chain, Chain.id == ChainWebhook.chain_id)
            .where(Chain.deleted_at.is_(None))
        )
        if chain_id is not None:
            query = query.where(ChainWebhook.chain_id == chain_id)
        async with self.engine.connect() as conn:
            return [_webhook(*row) for row in await conn.execute(query)]

    async def set_webhook(self, record: WebhookRecord) -> bool:
        """Set a live chain's webhook, with its audit entry (which leaves the URL out); False if
        no such live chain."""
        values = {
            "url": record.url,
            "classes": list(record.classes),
            "events": list(record.events),
            "updated_at": record.updated_at,
            "updated_by": record.updated_by,
        }
        async with self.engine.begin() as conn:
            if not await _mark_chain(conn, record.chain_id, deleted=False, deleted_at=None):
                return False
            statement = self._upsert_dialect.insert(ChainWebhook).values(
                chain_id=record.chain_id, **values
            )
            await conn.execute(
                statement.on_conflict_do_update(index_elements=[ChainWebhook.chain_id], set_=values)
            )
            detail = {"classes": values["classes"], "events": values["events"]}
            await _audit(
                conn, record.chain_id, record.updated_by, "set webhook", detail, record.updated_at
            )
        return True

    async def delete_webhook(self, chain_id: str, *, actor: str) -> bool:
        """Remove a chain's webhook, with its audit entry; False if it had none."""
        async with self.engine.begin() as conn:
            deleted = await conn.execute(
                delete(ChainWebhook).where(ChainWebhook.chain_id == chain_id)
            )
            if deleted.rowcount == 0:
                return False
            await _audit(conn, chain_id, actor, "delete webhook", None, now_ms())
        return True

    # The update log

    async def append_updates(self, batch: Mapping[str, Sequence[bytes]]) -> None:
        """Append every chain's updates, in order, in one transaction.

        Updates for chains that do not exist or are deleted are discarded: they can never be
        loaded, and one such chain must not make the whole batch fail forever.
        """
        if not batch:
            return
        if self._thread_engine is not None:
            gone = await asyncio.to_thread(_append_updates_in_thread, self._thread_engine, batch)
        else:
            async with self.engine.begin() as conn:
                gone = await conn.run_sync(_append_updates, batch)
        if gone:
            log.warning("discarded updates for %d deleted or unknown chains: %s", len(gone), gone)

    async def load_chain_updates(self, chain_id: str) -> list[bytes]:
        """The chain's base state (if any), then the log rows after it, in order."""
        base_id = (
            select(ChainBase.last_update_id).where(ChainBase.chain_id == chain_id).scalar_subquery()
        )
        base = select(
            literal(0).label("part"), ChainBase.last_update_id.label("id"), ChainBase.state
        ).where(ChainBase.chain_id == chain_id)
        tail = select(literal(1), ChainUpdate.id, ChainUpdate.data).where(
            ChainUpdate.chain_id == chain_id, ChainUpdate.id > func.coalesce(base_id, 0)
        )
        # One statement sees one state of the database: a compaction committing between two
        # reads could otherwise move rows from the log into a base we had already read.
        query = union_all(base, tail).order_by(text("part"), text("id"))
        async with self.engine.connect() as conn:
            return [row[2] for row in await conn.execute(query)]

    async def fold(
        self,
        chain_id: str,
        merge: Merge,
        *,
        snapshot_reason: str | None = None,
        actor: str | None = None,
        label: str | None = None,
        only_if_changed: bool = False,
    ) -> SnapshotInfo | None:
        """Compact the chain's log into its base, in one transaction; with `snapshot_reason`,
        also store the new base as a snapshot (unless `only_if_changed` and the newest
        snapshot already holds every log row). Returns the snapshot taken, if any.

        A crash at any point leaves either the old base and log or the new base without the
        rows it holds: nothing lost, nothing applied twice.
        """
        if snapshot_reason is not None:
            check_reason(snapshot_reason)
        at = now_ms()
        async with self.engine.begin() as conn:
            # A write to the chain's row first: in Postgres it waits for appends in flight
            # (they hold the row FOR SHARE) and holds new ones off, so every row up to the
            # newest id is visible; in SQLite it takes the database's write lock.
            if not await _mark_chain(conn, chain_id, deleted=False, deleted_at=None):
                return None
            base = (
                await conn.execute(
                    select(ChainBase.state, ChainBase.last_update_id, ChainBase.counts).where(
                        ChainBase.chain_id == chain_id
                    )
                )
            ).first()
            after = 0 if base is None else base.last_update_id
            rows = (
                await conn.execute(
                    select(ChainUpdate.id, ChainUpdate.data)
                    .where(ChainUpdate.chain_id == chain_id, ChainUpdate.id > after)
                    .order_by(ChainUpdate.id)
                )
            ).all()
            newest = rows[-1].id if rows else after
            take_snapshot = snapshot_reason is not None
            if take_snapshot and only_if_changed:
                snapshotted = await conn.scalar(
                    select(func.max(ChainSnapshot.last_update_id)).where(
                        ChainSnapshot.chain_id == chain_id
                    )
                )
                take_snapshot = newest > (snapshotted or 0)
            if not rows and not take_snapshot:
                return None
            if rows or base is None:
                stored = [] if base is None else [base.state]
                folded = await merge([*stored, *(row.data for row in rows)])
                await self._save_base(conn, chain_id, folded, newest, at)
                await conn.execute(
                    delete(ChainUpdate).where(
                        ChainUpdate.chain_id == chain_id, ChainUpdate.id <= newest
                    )
                )
            else:
                folded = Folded(base.state, dict(base.counts))
            if not take_snapshot:
                return None
            return await _insert_snapshot(
                conn,
                chain_id,
                state=folded.state,
                reason=snapshot_reason,
                counts=folded.counts,
                last_update_id=newest,
                created_by=actor,
                label=label,
                at=at,
            )

    async def _save_base(
        self, conn: AsyncConnection, chain_id: str, folded: Folded, newest: int, at: int
    ) -> None:
        values = {
            "state": folded.state,
            "counts": dict(folded.counts),
            "last_update_id": newest,
            "updated_at": at,
        }
        statement = self._upsert_dialect.insert(ChainBase).values(chain_id=chain_id, **values)
        await conn.execute(
            statement.on_conflict_do_update(index_elements=[ChainBase.chain_id], set_=values)
        )

    async def log_sizes(self) -> dict[str, tuple[int, int]]:
        """Per chain with log rows: (rows, bytes) not yet compacted."""
        query = select(
            ChainUpdate.chain_id, func.count(), func.sum(func.length(ChainUpdate.data))
        ).group_by(ChainUpdate.chain_id)
        async with self.engine.connect() as conn:
            result = await conn.execute(query)
        return {chain_id: (rows, size or 0) for chain_id, rows, size in result}

    async def changed_since_snapshot(self) -> list[str]:
        """Live chains holding a change that no snapshot has."""
        # The newest row may still be in the log, or already compacted into the base.
        newest_ids = union_all(
            select(ChainUpdate.chain_id, func.max(ChainUpdate.id).label("newest")).group_by(
                ChainUpdate.chain_id
            ),
            select(ChainBase.chain_id, ChainBase.last_update_id.label("newest")),
        ).subquery()
        newest_row = (
            select(newest_ids.c.chain_id, func.max(newest_ids.c.newest).label("newest"))
            .group_by(newest_ids.c.chain_id)
            .subquery()
        )
        snapshotted = (
            select(ChainSnapshot.chain_id, func.max(ChainSnapshot.last_update_id).label("newest"))
            .group_by(ChainSnapshot.chain_id)
            .subquery()
        )
        query = (
            select(Chain.id)
            .join(newest_row, newest_row.c.chain_id == Chain.id)
            .outerjoin(snapshotted, snapshotted.c.chain_id == Chain.id)
            .where(
                Chain.deleted_at.is_(None),
                newest_row.c.newest > func.coalesce(snapshotted.c.newest, 0),
            )
            .order_by(Chain.id)
        )
        async with self.engine.connect() as conn:
            return list(await conn.scalars(query))

    async def latest_update_id(self, chain_id: str) -> int:
        """The id of the chain's newest log row, 0 if none.

        Read it BEFORE taking the document state for `add_snapshot`: rows written afterwards
        may hold changes the state lacks, and replaying a row the state has is harmless.
        """
        async with self.engine.connect() as conn:
            return await _latest_update_id(conn, chain_id)

    # Snapshots

    async def add_snapshot(
        self,
        chain_id: str,
        *,
        state: bytes,
        reason: str,
        counts: Mapping[str, int],
        last_update_id: int,
        created_by: str | None = None,
        label: str | None = None,
    ) -> SnapshotInfo:
        """Store a full document state that contains every log row up to `last_update_id`."""
        check_reason(reason)
        at = now_ms()
        async with self.engine.begin() as conn:
            return await _insert_snapshot(
                conn,
                chain_id,
                state=state,
                reason=reason,
                counts=counts,
                last_update_id=last_update_id,
                created_by=created_by,
                label=label,
                at=at,
            )

    async def record_restore(
        self,
        chain_id: str,
        snapshot_id: int,
        *,
        actor: str,
        state: bytes,
        counts: Mapping[str, int],
        last_update_id: int,
    ) -> SnapshotInfo | None:
        """The `pre-restore` snapshot (`state`, the content just before) of a restore to
        `snapshot_id`, and the restore's audit entry, in one transaction. None if the chain
        is not live (deleted meanwhile)."""
        at = now_ms()
        async with self.engine.begin() as conn:
            if not await _mark_chain(conn, chain_id, deleted=False, deleted_at=None):
                return None
            before = await _insert_snapshot(
                conn,
                chain_id,
                state=state,
                reason="pre-restore",
                counts=counts,
                last_update_id=last_update_id,
                created_by=actor,
                label=None,
                at=at,
            )
            detail = {"snapshotId": snapshot_id, "preRestoreSnapshotId": before.id}
            await _audit(conn, chain_id, actor, "restore", detail, at)
        return before

    async def list_snapshots(self, chain_id: str) -> list[SnapshotInfo]:
        """Newest first, without the state blobs."""
        query = (
            select(*_SNAPSHOT)
            .where(ChainSnapshot.chain_id == chain_id)
            .order_by(ChainSnapshot.id.desc())
        )
        async with self.engine.connect() as conn:
            return [SnapshotInfo(*row) for row in await conn.execute(query)]

    async def snapshot_state(self, chain_id: str, snapshot_id: int) -> bytes | None:
        query = select(ChainSnapshot.state).where(
            ChainSnapshot.chain_id == chain_id, ChainSnapshot.id == snapshot_id
        )
        async with self.engine.connect() as conn:
            return await conn.scalar(query)

    async def thinning_candidates(self, older_than: int) -> dict[str, list[tuple[int, int]]]:
        """Per chain, the (id, createdAt) of its thinned snapshots (periodic, unload) created
        before `older_than` (ms), newest first."""
        query = (
            select(ChainSnapshot.chain_id, ChainSnapshot.id, ChainSnapshot.created_at)
            .where(
                ChainSnapshot.reason.in_(THINNED_REASONS),
                ChainSnapshot.created_at < older_than,
            )
            .order_by(ChainSnapshot.chain_id, ChainSnapshot.id.desc())
        )
        candidates: dict[str, list[tuple[int, int]]] = {}
        async with self.engine.connect() as conn:
            for chain_id, snapshot_id, created_at in await conn.execute(query):
                candidates.setdefault(chain_id, []).append((snapshot_id, created_at))
        return candidates

    async def thin_snapshots(self, snapshot_ids: Sequence[int]) -> int:
        """Delete thinned snapshots (never manual, pre-restore or delete ones)."""
        if not snapshot_ids:
            return 0
        statement = delete(ChainSnapshot).where(
            ChainSnapshot.id.in_(list(snapshot_ids)), ChainSnapshot.reason.in_(THINNED_REASONS)
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(statement)
        return result.rowcount

    async def delete_snapshot(self, chain_id: str, snapshot_id: int, actor: str) -> bool:
        """An owner's deletion of one snapshot, written to the audit log."""
        async with self.engine.begin() as conn:
            reason = await conn.scalar(
                delete(ChainSnapshot)
                .where(ChainSnapshot.chain_id == chain_id, ChainSnapshot.id == snapshot_id)
                .returning(ChainSnapshot.reason)
            )
            if reason is None:
                return False
            detail = {"snapshotId": snapshot_id, "reason": reason}
            await _audit(conn, chain_id, actor, "delete-snapshot", detail, now_ms())
        return True

    async def deleted_state(self, chain_id: str) -> bytes | None:
        """A deleted chain's content when it was deleted (its newest `delete` snapshot)."""
        query = (
            select(ChainSnapshot.state)
            .where(ChainSnapshot.chain_id == chain_id, ChainSnapshot.reason == "delete")
            .order_by(ChainSnapshot.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            return await conn.scalar(query)

    # Audit

    async def list_audit(self, chain_id: str) -> list[AuditEntry]:
        """Newest first."""
        query = (
            select(AuditLog.at, AuditLog.actor, AuditLog.action, AuditLog.detail)
            .where(AuditLog.chain_id == chain_id)
            .order_by(AuditLog.id.desc())
        )
        async with self.engine.connect() as conn:
            return [AuditEntry(*row) for row in await conn.execute(query)]


async def _mark_chain(
    conn: AsyncConnection, chain_id: str, *, deleted: bool, deleted_at: int | None
) -> bool:
    """Set `deleted_at` on the chain if it is (`deleted`) or is not deleted; this write also
    locks the row until the transaction ends. False if no such chain."""
    is_deleted = Chain.deleted_at.is_not(None) if deleted else Chain.deleted_at.is_(None)
    marked = await conn.execute(
        update(Chain).where(Chain.id == chain_id, is_deleted).values(deleted_at=deleted_at)
    )
    return marked.rowcount > 0


async def _members(conn: AsyncConnection, chain_id: str) -> dict[str, str]:
    query = (
        select(ChainMember.member, ChainMember.role)
        .where(ChainMember.chain_id == chain_id)
        .order_by(ChainMember.member)
    )
    return {member: role for member, role in await conn.execute(query)}


async def _latest_update_id(conn: AsyncConnection, chain_id: str) -> int:
    """The newest log row's id, counting the rows compacted into the base."""
    logged = select(func.max(ChainUpdate.id)).where(ChainUpdate.chain_id == chain_id)
    based = select(ChainBase.last_update_id).where(ChainBase.chain_id == chain_id)
    return max(await conn.scalar(logged) or 0, await conn.scalar(based) or 0)


async def _insert_snapshot(
    conn: AsyncConnection,
    chain_id: str,
    *,
    state: bytes,
    reason: str,
    counts: Mapping[str, int],
    last_update_id: int,
    created_by: str | None,
    label: str | None,
    at: int,
) -> SnapshotInfo:
    result = await conn.execute(
        insert(ChainSnapshot).values(
            {
                "chain_id": chain_id,
                "created_at": at,
                "reason": reason,
                "label": label,
                "created_by": created_by,
                "state": state,
                "bytes": len(state),
                "counts": dict(counts),
                "last_update_id": last_update_id,
            }
        )
    )
    return SnapshotInfo(
        result.inserted_primary_key[0],
        chain_id,
        at,
        reason,
        label,
        created_by,
        len(state),
        dict(counts),
        last_update_id,
    )


async def _audit(
    conn: AsyncConnection,
    chain_id: str,
    actor: str,
    action: str,
    detail: Mapping[str, Any] | None,
    at: int,
) -> None:
    await conn.execute(
        insert(AuditLog).values(
            chain_id=chain_id, at=at, actor=actor, action=action, detail=dict(detail or {})
        )
    )


def _append_updates_in_thread(engine: Engine, batch: Mapping[str, Sequence[bytes]]) -> set[str]:
    """`_append_updates` on SQLite, through the driver itself: this is the service's most
    frequent write, and SQLAlchemy's statement layer cost more than the work (1.2 ms of CPU for
    a batch of 50 chains, 0.44 ms this way). The same statements, committed together."""
    chain_ids = list(batch)
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        marks = ",".join("?" * len(chain_ids))
        live_ids = {
            row[0]
            for row in cursor.execute(
                f"SELECT id FROM chains WHERE id IN ({marks}) AND deleted_at IS NULL", chain_ids
            )
        }
        at = now_ms()
        cursor.executemany(
            "INSERT INTO chain_updates (chain_id, data, created_at) VALUES (?, ?, ?)",
            [(chain_id, data, at) for chain_id, data in _kept_updates(batch, live_ids)],
        )
        connection.commit()
    except BaseException:
        connection.rollback()
        raise
    finally:
        connection.close()  # back to the pool
    return batch.keys() - live_ids


def _append_updates(conn: Connection, batch: Mapping[str, Sequence[bytes]]) -> set[str]:
    """Store.append_updates' statements; returns the chains whose updates were discarded."""
    live = select(Chain.id).where(Chain.id.in_(list(batch)), Chain.deleted_at.is_(None))
    # FOR SHARE (Postgres) makes a concurrent delete_chain wait for this commit, so its
    # delete of the log also removes what we add here.
    live_ids = set(conn.scalars(live.with_for_update(read=True)))
    at = now_ms()
    rows = [
        {"chain_id": chain_id, "data": data, "created_at": at}
        for chain_id, data in _kept_updates(batch, live_ids)
    ]
    if rows:
        # Core insert: the ORM bulk path costs far more per row and adds nothing here.
        conn.execute(insert(ChainUpdate.__table__), rows)
    return batch.keys() - live_ids


def _kept_updates(
    batch: Mapping[str, Sequence[bytes]], live_ids: set[str]
) -> Iterator[tuple[str, bytes]]:
    """(chain, update) for every update of the batch whose chain is live, in order."""
    for chain_id, updates in batch.items():
        if chain_id in live_ids:
            for data in updates:
                yield chain_id, data

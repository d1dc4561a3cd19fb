"""The service's parts, wired together once per process and started and stopped as one."""

from __future__ import annotations

import logging
from typing import Any

from pycrdt import Doc

from mapper.auth import Authenticator
from mapper.chains.diff import ENTRY_ROOTS, content_diff, is_empty
from mapper.chains.maintenance import ChainMaintenance
from mapper.chains.restore import make_equal
from mapper.chains.schema import SchemaGuard, counts, document_json, new_chain_update
from mapper.core import roles
from mapper.core.clock import Clock, SystemClock
from mapper.core.identity import Identity
from mapper.core.metrics import Metrics
from mapper.core.tasks import Tasks
from mapper.persistence.database import create_engine
from mapper.persistence.folding import load_document
from mapper.persistence.migrations import upgrade_database
from mapper.persistence.records import SnapshotInfo
from mapper.persistence.retention import Retention
from mapper.persistence.store import ChainRecord, Store
from mapper.persistence.sync_store import SyncStore
from mapper.persistence.writer import UpdateWriter
from mapper.presence.tracker import PresenceTracker
from mapper.rooms import fanout
from mapper.rooms.connection import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, Connection
from mapper.rooms.fanout import Fanout
from mapper.rooms.manager import RoomKind, RoomManager
from mapper.rooms.room import Room
from mapper.settings import Settings
from mapper.sync.datasets import registry
from mapper.sync.engine import SyncEngine, SyncSettings
from mapper.sync.esi import EsiClient, user_agent
from mapper.sync.live import LiveStatus
from mapper.sync.tokens import TokenProvider
from mapper.universe.index import Universe

log = logging.getLogger("mapper")

GRACEFUL_FLUSH_TIMEOUT_S = 30.0


class Service:
    def __init__(self, settings: Settings, clock: Clock | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.metrics = Metrics()
        self.auth = Authenticator.from_settings(settings)
        self.store = Store(create_engine(settings.resolved_database_url))
        self.universe = Universe(self.store.engine, self.clock)
        # The one owner of background work: what the parts start, `stop` ends.
        self.tasks = Tasks()
        self.maintenance = ChainMaintenance(
            self.store,
            self._flush,
            clock=self.clock,
            tasks=self.tasks.group("maintenance"),
            snapshot_interval_s=settings.snapshot_interval_s,
            compact_rows=settings.compact_updates,
            compact_bytes=settings.compact_bytes,
            retention=Retention(
                keep_all_ms=int(settings.snapshot_keep_all_s * 1000),
                keep_hourly_ms=int(settings.snapshot_keep_hourly_s * 1000),
                keep_daily_ms=int(settings.snapshot_keep_daily_s * 1000),
            ),
        )
        self.writer = UpdateWriter(
            self.store,
            clock=self.clock,
            tasks=self.tasks.group("writer"),
            flush_ms=settings.flush_ms,
            on_flush=self.metrics.record_flush,
            on_stored=self.maintenance.logged,
        )
        self.fanout = (
            Fanout(
                settings.redis_url,
                self._on_fanout,
                self._on_fanout_reconnect,
                clock=self.clock,
                tasks=self.tasks.group("fanout"),
            )
            if settings.redis_url
            else None
        )
        self.presence = PresenceTracker(self.clock, settings.cold_after_s)
        self.rooms = RoomManager(
            self.metrics,
            clock=self.clock,
            tasks=self.tasks.group("rooms"),
            idle_s=settings.room_idle_s,
            fanout=self.fanout,
            presence=self._watch_presence,
        )
        self.live = LiveStatus(
            SyncStore(self.store.engine),
            self.rooms,
            self.presence,
            self.universe,  # the star map: which systems stargates join
            jump_gap_s=settings.jump_gap_s,
        )
        self.sync = _sync_engine(
            settings,
            self.store,
            self.presence,
            self.live,
            self.clock,
            self.metrics,
            self.tasks.group("sync"),
        )
        self.chain_rooms = RoomKind(
            "chain",
            load=self.store.load_chain_updates,
            store=self.writer.add,
            flush=self.writer.flush,
            guard=SchemaGuard,
            unloaded=self.maintenance.unloaded,
        )
        # Live status documents are rebuilt from the character status projection, never stored.
        self.user_rooms = RoomKind("user", load=self.live.user_document, store=None, flush=None)
        self._jobs = self.tasks.group("jobs")

    async def start(self) -> None:
        await upgrade_database(self.settings.resolved_database_url)
        if self.fanout is not None:
            await self.fanout.start()
        self.writer.start()
        self.rooms.start()
        self.maintenance.start()
        if self.sync is not None:
            self.sync.start()
        else:
            log.info("live status off: set MAPPER_TOKEN_PROVIDER_URL to refresh characters")

    async def stop(self) -> None:
        if self.sync is not None:
            await self.sync.close()
        self.rooms.close()
        await self.writer.close(timeout=GRACEFUL_FLUSH_TIMEOUT_S)
        await self.maintenance.close()
        if self.fanout is not None:
            await self.fanout.close()
        await self.tasks.close()
        await self.store.close()
        await self.auth.aclose()

    async def _flush(self, chain_id: str) -> None:
        await self.writer.flush(chain_id)

    async def create_chain(self, name: str, owner: str) -> ChainRecord:
        chain = await self.store.create_chain(name, owner)
        # The document starts with its meta entry, stored before anyone can join.
        await self.store.append_updates({chain.id: [new_chain_update(name)]})
        return chain

    async def role(self, identity: Identity, chain_id: str) -> str | None:
        if identity.admin:
            return roles.OWNER
        return roles.strongest(await self.store.roles_for(chain_id, identity.member_keys))

    async def refresh_access(self, chain_id: str) -> None:
        """Apply a change of a chain's members to its open sockets, in every process."""
        if self.fanout is not None:
            self.fanout.publish_control(fanout.ACCESS, chain_id)
        await self._refresh_local_access(chain_id)

    async def _refresh_local_access(self, chain_id: str) -> None:
        room = self.rooms.get(chain_id)
        if room is None:
            return
        members = await self.store.members(chain_id)
        for connection in list(room.connections):
            role = roles.role_of(connection.identity, members)
            if role is None:
                connection.close(CLOSE_FORBIDDEN, "your access to this chain was revoked")
            else:
                connection.role = role

    async def chain_doc(self, chain_id: str) -> Doc:
        """The chain's live document, or one rebuilt from the database when no room is loaded
        (for a deleted chain: its content when it was deleted)."""
        room = self.rooms.get(chain_id)
        if room is not None:
            return room.doc
        await self.writer.flush(chain_id)
        return await self.stored_doc(chain_id)

    async def stored_doc(self, chain_id: str) -> Doc:
        """The chain as the database alone has it."""
        updates = await self.store.load_chain_updates(chain_id)
        if not updates:
            final = await self.store.deleted_state(chain_id)
            updates = [] if final is None else [final]
        return await load_document(updates)

    async def chain_content(self, chain_id: str) -> dict[str, Any]:
        return document_json(await self.chain_doc(chain_id))

    async def take_snapshot(
        self, chain_id: str, *, reason: str, actor: str | None, label: str | None = None
    ) -> SnapshotInfo:
        """Store the chain's full current state: the live document's when a room is loaded
        (cheaper than rebuilding it), else the database's."""
        await self.writer.flush(chain_id)
        room = self.rooms.get(chain_id)
        if room is None:
            snapshot = await self.maintenance.fold(
                chain_id, snapshot_reason=reason, actor=actor, label=label
            )
            if snapshot is None:
                raise LookupError(f"no chain {chain_id} to snapshot")
            return snapshot
        # Read before taking the state: replaying a row the state already has is harmless.
        last_update_id = await self.store.latest_update_id(chain_id)
        return await self.store.add_snapshot(
            chain_id,
            state=room.doc.get_update(),
            reason=reason,
            counts=counts(room.doc),
            last_update_id=last_update_id,
            created_by=actor,
            label=label,
        )

    async def restore(self, chain_id: str, snapshot_id: int, actor: str) -> SnapshotInfo:
        """Make the chain's content equal to a snapshot's, as a forward edit every client
        receives; returns the `pre-restore` snapshot that undoes it. A deleted chain comes
        back first (with the content it had when deleted)."""
        state = await self.store.snapshot_state(chain_id, snapshot_id)
        if state is None:
            raise LookupError(f"chain {chain_id} has no snapshot {snapshot_id}")
        target = await load_document([state])
        if await self.store.undelete_chain(chain_id, actor):
            log.info("chain %s undeleted by %s", chain_id, actor)
        before = await self.take_snapshot(chain_id, reason="pre-restore", actor=actor)
        room = await self.rooms.open(chain_id, self.chain_rooms)
        try:
            room.edit(lambda doc: make_equal(doc, target))
        finally:
            self.rooms.release(room)
        await self.writer.flush(chain_id)
        detail = {"snapshotId": snapshot_id, "preRestoreSnapshotId": before.id}
        await self.store.add_audit(chain_id, actor, "restore", detail)
        log.info("chain %s restored to snapshot %d by %s", chain_id, snapshot_id, actor)
        return before

    async def verify(self, chain_id: str) -> dict[str, Any]:
        """Rebuild the chain from the database alone and compare it with the live room."""
        room = self.rooms.get(chain_id)
        await self.writer.flush(chain_id)
        rebuilt = document_json(await self.stored_doc(chain_id))
        result: dict[str, Any] = {"chainId": chain_id, "loaded": room is not None}
        if room is not None:
            difference = content_diff(document_json(room.doc), rebuilt)
            result.update(equal=is_empty(difference), difference=difference)
        else:
            result.update(equal=None, difference=None)
        result["counts"] = {root: len(rebuilt[root]) for root in ENTRY_ROOTS}
        return result

    async def delete_chain(self, chain_id: str, actor: str) -> None:
        doc = await self.chain_doc(chain_id)
        await self.writer.flush(chain_id)
        await self.store.delete_chain(
            chain_id, actor=actor, final_state=doc.get_update(), counts=counts(doc)
        )
        # Only once the deletion has committed: a client that reconnects at once (y-websocket
        # always does) must find the chain gone, not rejoin its room.
        self._close_deleted(chain_id)
        if self.fanout is not None:
            self.fanout.publish_control(fanout.DELETED, chain_id)

    def _close_deleted(self, chain_id: str) -> None:
        room = self.rooms.get(chain_id)
        if room is not None:
            room.close_all(CLOSE_NOT_FOUND, "this chain was deleted")

    def _watch_presence(self, room: Room, connection: Connection) -> None:
        if connection in room.connections:
            self.presence.seen(
                connection,
                user_id=connection.identity.user_id,
                room_key=room.key,
                chain=room.kind is self.chain_rooms,
                can_edit=connection.can_edit,
                states=room.awareness.owner_states(connection),
            )
        else:
            self.presence.left(connection)

    def _on_fanout(self, room: str, sender: bytes, kind: bytes, payload: bytes) -> None:
        if room:
            self.rooms.apply_remote(room, sender, kind, payload)
        elif kind == fanout.ACCESS:
            self._jobs.spawn(self._refresh_local_access(payload.decode()))
        elif kind == fanout.DELETED:
            self._close_deleted(payload.decode())

    def _on_fanout_reconnect(self) -> None:
        # Messages published while Redis was away are gone: compare documents again.
        self.rooms.resync_all()


def _sync_engine(
    settings: Settings,
    store: Store,
    presence: PresenceTracker,
    live: LiveStatus,
    clock: Clock,
    metrics: Metrics,
    tasks: Tasks,
) -> SyncEngine | None:
    if not settings.token_provider_url:
        return None
    return SyncEngine(
        SyncSettings(
            workers=settings.sync_workers,
            scan_interval_s=settings.sync_scan_interval_s,
            scan_limit=settings.sync_scan_limit,
            cold_after_s=settings.cold_after_s,
            stale_run_s=settings.sync_stale_run_s,
            forget_after_s=settings.sync_forget_after_s,
            rate_per_minute=settings.sync_rate_per_minute,
            rate_burst=settings.sync_rate_burst,
        ),
        datasets=registry(
            online_cadence_s=settings.online_cadence_s,
            location_cadence_s=settings.location_cadence_s,
        ),
        store=SyncStore(store.engine),
        tracker=presence,
        live=live,
        tokens=TokenProvider(
            settings.token_provider_url, settings.token_provider_secret, clock=clock
        ),
        esi=EsiClient(
            settings.esi_base_url,
            clock=clock,
            timeout_s=settings.esi_timeout_s,
            error_floor=settings.esi_error_floor,
            user_agent=user_agent(settings.public_url),
            on_answer=lambda status: metrics.esi_answers.labels(status=str(status)).inc(),
        ),
        clock=clock,
        metrics=metrics,
        tasks=tasks,
    )

"""The service's parts, wired together once per process and started and stopped as one."""

from __future__ import annotations

import logging

from mapper.auth import Authenticator, AuthError, BuiltinIssuer
from mapper.chains.access import ChainAccess
from mapper.chains.chains import Chains
from mapper.chains.connections import OpenConnections
from mapper.chains.documents import ChainDocuments
from mapper.chains.maintenance import ChainMaintenance
from mapper.chains.notifier import Notifier
from mapper.chains.schema import SchemaGuard
from mapper.chains.snapshots import Snapshots
from mapper.chains.webhooks import ChainWebhooks
from mapper.core.clock import Clock, SystemClock
from mapper.core.identity import Identity
from mapper.core.metrics import Metrics
from mapper.core.tasks import Tasks
from mapper.eve.setup import EveLogin
from mapper.persistence.accounts import AccountStore
from mapper.persistence.database import create_engine
from mapper.persistence.migrations import upgrade_database
from mapper.persistence.retention import Retention
from mapper.persistence.store import Store
from mapper.persistence.sync_store import SyncStore
from mapper.persistence.writer import UpdateWriter
from mapper.presence.tracker import PresenceTracker
from mapper.rooms import fanout
from mapper.rooms.connection import Connection
from mapper.rooms.fanout import Fanout
from mapper.rooms.manager import RoomKind, RoomManager
from mapper.rooms.room import Room
from mapper.settings import Settings
from mapper.sync.datasets import registry
from mapper.sync.engine import SyncEngine, SyncSettings
from mapper.sync.esi import EsiClient, user_agent
from mapper.sync.evescout import EveScoutClient
from mapper.sync.intel import Intel
from mapper.sync.live import LiveStatus
from mapper.sync.tokens import TokenProvider, Tokens
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
        self.presence = PresenceTracker(
            self.clock, settings.cold_after_s, idle_after_s=settings.idle_after_s
        )
        self.rooms = RoomManager(
            self.metrics,
            clock=self.clock,
            tasks=self.tasks.group("rooms"),
            idle_s=settings.room_idle_s,
            fanout=self.fanout,
            presence=self._watch_presence,
        )
        # One ESI client for the process: ESI's error limit counts all of its calls.
        self.esi = EsiClient(
            settings.esi_base_url,
            clock=self.clock,
            timeout_s=settings.esi_timeout_s,
            error_floor=settings.esi_error_floor,
            user_agent=user_agent(settings.public_url),
            on_answer=lambda status: self.metrics.esi_answers.labels(status=str(status)).inc(),
        )
        self.eve = (
            EveLogin(
                settings,
                AccountStore(self.store.engine),
                _builtin(self.auth),
                self.esi,
                clock=self.clock,
                tasks=self.tasks.group("eve"),
                connected_users=self._connected_users,
            )
            if EveLogin.check(settings)
            else None
        )
        if self.eve is not None:
            self.auth.directory = self.eve.accounts
            self.eve.accounts.access_changed = self._access_changed
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
            self.esi,
            self.eve.custody if self.eve is not None else None,
            self.clock,
            self.metrics,
            self.tasks.group("sync"),
        )
        self.intel = Intel(
            rooms=self.rooms,
            tracker=self.presence,
            esi=self.esi if settings.intel else None,
            eve_scout=(
                EveScoutClient(
                    settings.evescout_base_url,
                    timeout_s=settings.esi_timeout_s,
                    user_agent=user_agent(settings.public_url),
                )
                if settings.intel and settings.evescout_base_url
                else None
            ),
            clock=self.clock,
            metrics=self.metrics,
            tasks=self.tasks.group("intel"),
        )
        self.notifier = Notifier(
            self.store,
            self.universe,
            self._chain_room,
            clock=self.clock,
            tasks=self.tasks.group("notifier"),
            allow_base=settings.webhook_allow_base_url,
            delay_s=settings.webhook_delay_s,
            interval_s=settings.webhook_interval_s,
        )
        self.chain_rooms = RoomKind(
            "chain",
            load=self.store.load_chain_updates,
            store=self.writer.add,
            flush=self.writer.flush,
            guard=SchemaGuard,
            opened=self.notifier.opened,
            changed=self.notifier.changed,
            unloaded=self._chain_unloaded,
        )
        # Live status documents are rebuilt from the character status projection, never stored.
        self.user_rooms = RoomKind("user", load=self.live.user_document, store=None, flush=None)
        # The intel document is rebuilt from what this process last polled, never stored nor
        # shared: two processes writing their own polls into one document would undo each
        # other's writes until both had polled.
        self.intel_rooms = RoomKind(
            "intel", load=self.intel.document, store=None, flush=None, local=True
        )
        # The use cases: what the HTTP API and the sockets may do to chains.
        access = ChainAccess(self.store)
        documents = ChainDocuments(self.store, self.rooms, self.writer.flush, self.chain_rooms)
        self.connections = OpenConnections(self.store, self.rooms)
        self.chains = Chains(
            self.store,
            access,
            documents,
            self.writer.flush,
            members_changed=self._members_changed,
            deleted=self._deleted,
            names=self.eve.member_names if self.eve is not None else None,
        )
        self.webhooks = ChainWebhooks(
            self.store, access, self._webhook_changed, settings.webhook_allow_base_url
        )
        self.snapshots = Snapshots(
            self.store,
            access,
            documents,
            self.rooms,
            self.chain_rooms,
            self.writer.flush,
            self.maintenance,
        )
        self._jobs = self.tasks.group("jobs")

    async def start(self) -> None:
        await upgrade_database(self.settings.resolved_database_url)
        await self.notifier.start()
        if self.fanout is not None:
            await self.fanout.start()
        self.writer.start()
        self.rooms.start()
        self.maintenance.start()
        if self.eve is not None:
            await self.eve.start()
        if self.sync is not None:
            self.sync.start()
        else:
            log.info(
                "live status off: set MAPPER_EVE_CLIENT_ID (the EVE login) or "
                "MAPPER_TOKEN_PROVIDER_URL to refresh characters"
            )
        if self.settings.intel:
            self.intel.start()

    async def stop(self) -> None:
        if self.sync is not None:
            await self.sync.close()
        if self.eve is not None:
            await self.eve.close()
        await self.intel.close()
        await self.esi.aclose()
        self.rooms.close()
        await self.writer.close(timeout=GRACEFUL_FLUSH_TIMEOUT_S)
        await self.maintenance.close()
        if self.fanout is not None:
            await self.fanout.close()
        await self.tasks.close()
        await self.notifier.close()
        await self.store.close()
        await self.auth.aclose()

    async def _flush(self, chain_id: str) -> None:
        await self.writer.flush(chain_id)

    async def check_database(self) -> None:
        """Raises unless the database answers."""
        await self.store.ping()

    async def _members_changed(self, chain_id: str) -> None:
        """Apply a change of a chain's members to its open sockets, in every process."""
        if self.fanout is not None:
            self.fanout.publish_control(fanout.ACCESS, chain_id)
        await self.connections.apply_members(chain_id)

    def _connected_users(self) -> set[str]:
        """Users with a socket open to this process: whose groups the EVE login keeps current."""
        return {
            connection.identity.user_id
            for room in self.rooms.rooms()
            for connection in room.connections
        }

    async def _access_changed(self, user_id: str) -> None:
        """A user's characters or groups changed: give their open sockets the new identity;
        a socket of a user who signed out closes (4401), one that lost its chain closes (4403)."""
        assert self.eve is not None
        accounts = self.eve.accounts

        def current(identity: Identity) -> Identity | None:
            try:
                return accounts.now(identity)
            except AuthError:
                return None

        await self.connections.apply_user(user_id, current)

    def _chain_room(self, chain_id: str) -> Room | None:
        room = self.rooms.get(chain_id)
        return room if room is not None and room.kind is self.chain_rooms else None

    def _chain_unloaded(self, chain_id: str) -> None:
        self.notifier.unloaded(chain_id)
        self.maintenance.unloaded(chain_id)

    async def _webhook_changed(self, chain_id: str) -> None:
        """A chain's webhook was set or cleared: every process's notifier reads it again."""
        if self.fanout is not None:
            self.fanout.publish_control(fanout.WEBHOOK, chain_id)
        await self.notifier.reload(chain_id)

    def _deleted(self, chain_id: str) -> None:
        """Close a deleted chain's open sockets, in every process."""
        self.notifier.forget(chain_id)
        self.connections.close_deleted(chain_id)
        if self.fanout is not None:
            self.fanout.publish_control(fanout.DELETED, chain_id)

    def _watch_presence(self, room: Room, connection: Connection) -> None:
        if room.kind is self.intel_rooms:
            return  # presence is a chain or the user's own status open (contract section 6)
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
            self._jobs.spawn(self.connections.apply_members(payload.decode()))
        elif kind == fanout.DELETED:
            self.notifier.forget(payload.decode())
            self.connections.close_deleted(payload.decode())
        elif kind == fanout.WEBHOOK:
            self._jobs.spawn(self.notifier.reload(payload.decode()))

    def _on_fanout_reconnect(self) -> None:
        # Messages published while Redis was away are gone: compare documents again.
        self.rooms.resync_all()


def _sync_engine(
    settings: Settings,
    store: Store,
    presence: PresenceTracker,
    live: LiveStatus,
    esi: EsiClient,
    custody: Tokens | None,
    clock: Clock,
    metrics: Metrics,
    tasks: Tasks,
) -> SyncEngine | None:
    """The sync engine, with the EVE login's tokens or the external token provider's."""
    tokens: Tokens
    if custody is not None:
        tokens = custody
    elif settings.token_provider_url:
        tokens = TokenProvider(
            settings.token_provider_url, settings.token_provider_secret, clock=clock
        )
    else:
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
        tokens=tokens,
        esi=esi,
        clock=clock,
        metrics=metrics,
        tasks=tasks,
    )


def _builtin(auth: Authenticator) -> BuiltinIssuer:
    assert auth.builtin is not None  # EveLogin.check refuses an external issuer
    return auth.builtin

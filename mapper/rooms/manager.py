"""Room lifecycle: load once for every joiner, unload when the last client has gone.

Hooks, in the manner of Hocuspocus: `load` fills a new room from the database, `store` takes
every change worth keeping, `flush` waits until a room's changes are durable, `opened` hears
that a room is loaded and checked, `changed` hears of every change, `unloaded` hears that a
room has gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from mapper.core.clock import Clock
from mapper.core.metrics import Metrics
from mapper.core.protocol import ProtocolError
from mapper.core.tasks import Tasks
from mapper.rooms.connection import CLOSE_GOING_AWAY, Connection
from mapper.rooms.fanout import Fanout
from mapper.rooms.room import Changed, MakeGuard, Room, StoreUpdate, WatchPresence

log = logging.getLogger("mapper.rooms")

AWARENESS_TIMEOUT_S = 30.0  # what stock clients use before dropping a silent peer
AWARENESS_SWEEP_S = 5.0
RESYNC_EVERY_SWEEPS = 3  # with several processes: compare documents every 15 s


class RoomUnavailable(Exception):
    """The room could not be loaded (database unreachable); the client should retry."""


@dataclass(frozen=True)
class RoomKind:
    """What a family of rooms needs: where it loads from, whether it keeps its changes, and
    the rules its documents are held to. Rooms know their kind: `room.kind is chain_rooms`."""

    name: str
    load: Callable[[str], Awaitable[Iterable[bytes]]]
    store: StoreUpdate | None
    flush: Callable[[str], Awaitable[None]] | None
    guard: MakeGuard | None = None
    opened: Callable[[Room], None] | None = None
    changed: Changed | None = None
    unloaded: Callable[[str], None] | None = None
    # Each process keeps its own copy, never shared with the others over the fan-out: a
    # whiteboard that each process writes from what it polled itself.
    local: bool = False


class RoomManager:
    def __init__(
        self,
        metrics: Metrics,
        *,
        clock: Clock,
        tasks: Tasks,
        idle_s: float,
        fanout: Fanout | None = None,
        presence: WatchPresence | None = None,
    ) -> None:
        self._metrics = metrics
        self._clock = clock
        self._presence = presence
        self._idle_s = idle_s
        self._fanout = fanout
        self._rooms: dict[str, Room] = {}
        self._kinds: dict[str, RoomKind] = {}
        self._loads: dict[str, asyncio.Task[None]] = {}
        self._unloads: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._tasks = tasks

    def start(self) -> None:
        self._sweeper = self._tasks.spawn(self._housekeeping(), name="room-housekeeping")

    def get(self, key: str) -> Room | None:
        """The room if it is loaded and serving."""
        room = self._rooms.get(key)
        return room if room is not None and key not in self._loads else None

    def rooms(self) -> list[Room]:
        return [room for key, room in self._rooms.items() if key not in self._loads]

    async def join(self, key: str, kind: RoomKind, connection: Connection) -> Room:
        """Add `connection` to the room once it is loaded; every joiner waits for one load."""
        room = await self.open(key, kind)
        if connection.close_code is None:
            room.add(connection)
        return room

    async def open(self, key: str, kind: RoomKind) -> Room:
        """The loaded room. Without a client joining, hand it back with `release`."""
        room = self._rooms.get(key)
        if room is None:
            room = Room(
                key,
                metrics=self._metrics,
                kind=kind,
                clock=self._clock,
                store_update=kind.store,
                make_guard=kind.guard,
                publish=(
                    self._fanout.publish if self._fanout is not None and not kind.local else None
                ),
                presence=self._presence,
                changed=kind.changed,
            )
            self._rooms[key] = room
            self._kinds[key] = kind
            self._metrics.rooms.set(len(self._rooms))
            self._loads[key] = self._tasks.spawn(self._load(room, kind), name=f"load {key}")
        self._cancel_unload(key)
        room.joining += 1
        try:
            load = self._loads.get(key)
            if load is not None:
                await asyncio.shield(load)
        except Exception as error:
            raise RoomUnavailable(str(error)) from error
        finally:
            room.joining -= 1
        return room

    def apply_remote(self, key: str, sender: bytes, kind: bytes, payload: bytes) -> None:
        """Another process of the service published something for room `key`."""
        room = self.get(key)
        if room is None:
            return
        try:
            room.apply_remote(sender, kind, payload)
        except ProtocolError as error:
            log.warning("room %s: ignored a fan-out message that does not decode: %s", key, error)

    def resync_all(self) -> None:
        for room in self.rooms():
            room.request_sync()

    def leave(self, room: Room, connection: Connection) -> None:
        room.remove(connection)
        self.release(room)

    def release(self, room: Room) -> None:
        """Unload the room in a while unless someone uses it."""
        if not room.connections and not room.joining:
            self._schedule_unload(room)

    def close(self) -> None:
        """Graceful shutdown: close every client (the writer then makes their changes durable)."""
        if self._sweeper is not None:
            self._sweeper.cancel()
        for unload in self._unloads.values():
            unload.cancel()
        self._unloads.clear()
        for room in list(self._rooms.values()):
            room.close_all(CLOSE_GOING_AWAY, "server shutting down")

    async def _load(self, room: Room, kind: RoomKind) -> None:
        try:
            if self._fanout is not None and not kind.local:
                # Subscribed before loading; the sync request after it recovers anything that
                # other processes published meanwhile.
                await self._fanout.subscribe(room.key)
            if kind.flush is not None:
                # An unloaded predecessor of this room may still have changes on their way.
                await kind.flush(room.key)
            room.load(await kind.load(room.key))
            await room.survey()
            if kind.opened is not None:
                kind.opened(room)
            room.request_sync()
            self._tasks.spawn(self._check_stored(room))
        except BaseException:
            log.exception("room %s: load failed", room.key)
            if self._rooms.get(room.key) is room:
                del self._rooms[room.key]
                del self._kinds[room.key]
                self._metrics.rooms.set(len(self._rooms))
            room.close()
            raise
        finally:
            self._loads.pop(room.key, None)
        if not room.connections and not room.joining:
            self._schedule_unload(room)

    async def _check_stored(self, room: Room) -> None:
        # After the joiners are served: the first sync need not wait for a full check.
        for _ in room.check_stored():
            await asyncio.sleep(0)
            if self._rooms.get(room.key) is not room:
                return  # unloaded meanwhile; the next load checks again

    def _schedule_unload(self, room: Room) -> None:
        self._cancel_unload(room.key)
        self._unloads[room.key] = self._tasks.spawn(self._unload_later(room))

    async def _unload_later(self, room: Room) -> None:
        await self._clock.sleep(self._idle_s)
        self._unload(room)

    def _cancel_unload(self, key: str) -> None:
        unload = self._unloads.pop(key, None)
        if unload is not None:
            unload.cancel()

    def _unload(self, room: Room) -> None:
        self._unloads.pop(room.key, None)
        if room.connections or room.joining or self._rooms.get(room.key) is not room:
            return
        # Gone from the table at once: a new joiner loads afresh, after the flush below.
        del self._rooms[room.key]
        kind = self._kinds.pop(room.key)
        self._metrics.rooms.set(len(self._rooms))
        room.close()
        if kind.unloaded is not None:
            kind.unloaded(room.key)
        if self._fanout is not None and not kind.local:
            self._tasks.spawn(self._fanout.unsubscribe(room.key))
        log.debug("room %s: unloaded", room.key)

    async def _housekeeping(self) -> None:
        sweeps = 0
        while True:
            await self._clock.sleep(AWARENESS_SWEEP_S)
            sweeps += 1
            for room in self.rooms():
                room.expire_awareness(AWARENESS_TIMEOUT_S)
            if self._fanout is not None and sweeps % RESYNC_EVERY_SWEEPS == 0:
                self.resync_all()

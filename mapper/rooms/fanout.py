"""Several `mapper serve` processes as one service, joined by Redis pub/sub.

Each process publishes what its own clients change in a room (document updates, accepted
awareness entries) on the room's channel, and applies what the others publish. Pub/sub can
drop messages (a reconnect, a slow subscriber), so a process that loads a room, and every
process now and then, publishes its state vector: the others answer with whatever it lacks.
Only the process that accepted an update stores it; the others hold it in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable

import redis.asyncio as redis
from redis.exceptions import RedisError

from mapper.core.clock import Clock
from mapper.core.tasks import Tasks

log = logging.getLogger("mapper.fanout")

ROOM_PREFIX = "mapper:room:"
CONTROL_CHANNEL = "mapper:control"
NODE_ID_BYTES = 8
RETRY_MAX_S = 5.0
PUBLISH_QUEUE = 65536

# Message kinds, one byte after the sender's node id.
UPDATE = b"u"  # payload: a Yjs update
AWARENESS = b"a"  # payload: an encoded awareness message
SYNC = b"s"  # payload: a state vector; peers answer with an UPDATE of what it lacks
ACCESS = b"m"  # control: payload is a chain id whose members changed
DELETED = b"d"  # control: payload is a chain id that was deleted
WEBHOOK = b"w"  # control: payload is a chain id whose webhook changed

# (room key, or "" for control messages; sender node id; kind; payload)
OnMessage = Callable[[str, bytes, bytes, bytes], None]


class Fanout:
    def __init__(
        self,
        url: str,
        on_message: OnMessage,
        on_reconnect: Callable[[], None],
        *,
        clock: Clock,
        tasks: Tasks,
    ) -> None:
        self._clock = clock
        self.node_id = os.urandom(NODE_ID_BYTES)
        self._client = redis.Redis.from_url(url)
        self._on_message = on_message
        self._on_reconnect = on_reconnect
        self._rooms: set[str] = set()
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(PUBLISH_QUEUE)
        self._pubsub: redis.client.PubSub | None = None
        self._tasks = tasks

    async def start(self) -> None:
        await self._client.ping()  # fail fast on a wrong URL
        self._tasks.spawn(self._receive_loop(), name="fanout-receive")
        self._tasks.spawn(self._publish_loop(), name="fanout-publish")

    async def close(self) -> None:
        await self._tasks.close()
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
        await self._client.aclose()

    def publish(self, room: str, kind: bytes, payload: bytes) -> None:
        self._send(ROOM_PREFIX + room, kind + payload)

    def publish_control(self, kind: bytes, chain_id: str) -> None:
        self._send(CONTROL_CHANNEL, kind + chain_id.encode())

    async def subscribe(self, room: str) -> None:
        self._rooms.add(room)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.subscribe(ROOM_PREFIX + room)

    async def unsubscribe(self, room: str) -> None:
        self._rooms.discard(room)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.unsubscribe(ROOM_PREFIX + room)

    def _send(self, channel: str, body: bytes) -> None:
        try:
            self._outbox.put_nowait((channel, self.node_id + body))
        except asyncio.QueueFull:
            # Peers recover what is lost here through the periodic state-vector exchange.
            log.warning("fan-out queue full; dropping a message for %s", channel)

    async def _publish_loop(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty() and len(batch) < 512:
                batch.append(self._outbox.get_nowait())
            try:
                async with self._client.pipeline(transaction=False) as pipe:
                    for channel, body in batch:
                        pipe.publish(channel, body)
                    await pipe.execute()
            except (RedisError, OSError) as error:
                log.warning("fan-out publish failed (%s); peers will resync", error)
                await self._clock.sleep(1.0)

    async def _receive_loop(self) -> None:
        delay = 0.1
        while True:
            try:
                self._pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(
                    CONTROL_CHANNEL, *(ROOM_PREFIX + room for room in self._rooms)
                )
                if delay > 0.1:
                    log.info("fan-out: Redis is back")
                    self._on_reconnect()
                delay = 0.1
                while True:
                    message = await self._pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message["channel"], message["data"])
            except (RedisError, OSError) as error:
                if delay == 0.1:
                    log.warning("fan-out: Redis unreachable (%s); retrying", error)
                await self._clock.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        if len(data) <= NODE_ID_BYTES or data[:NODE_ID_BYTES] == self.node_id:
            return
        kind = data[NODE_ID_BYTES : NODE_ID_BYTES + 1]
        payload = data[NODE_ID_BYTES + 1 :]
        name = channel.decode()
        room = name[len(ROOM_PREFIX) :] if name.startswith(ROOM_PREFIX) else ""
        try:
            self._on_message(room, data[:NODE_ID_BYTES], kind, payload)
        except Exception:
            log.exception("fan-out: could not apply a message for %s", name)

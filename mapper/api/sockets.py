"""The websocket endpoints: authenticate, authorize, join the room, pump frames both ways.

Close codes (contract section 4): 4401 bad token, 4403 access revoked while connected, 4404 no
such chain or not a member (the same, so chain ids reveal nothing), 1009 message too big, 1008
over the rate limit, 1007 undecodable message or a structural limit, 1013 too far behind (send
queue full) or room not loadable right now, 1001 server shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketDisconnected

from mapper.auth import AuthError
from mapper.chains.errors import NotFound
from mapper.core import protocol, roles
from mapper.core.identity import Identity
from mapper.core.protocol import ProtocolError
from mapper.rooms.connection import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_NOT_FOUND,
    CLOSE_RATE_LIMITED,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORIZED,
    CLOSE_UNDECODABLE,
    Connection,
    TokenBucket,
)
from mapper.rooms.manager import RoomKind, RoomUnavailable
from mapper.rooms.room import Room
from mapper.sync.intel import INTEL_ROOM
from mapper.sync.live import user_room_key
from mapper.transport import DIRECT_WRITE, RECEIVE_NOW

if TYPE_CHECKING:
    from mapper.service import Service

log = logging.getLogger("mapper.connections")

CLOSE_SEND_TIMEOUT_S = 5.0
LARGE_UPDATE_BYTES = 64 * 1024

# Decides whether an identity may join, and which room: (role, room key), or raises Refused.
Admit = Callable[[Identity], Awaitable[tuple[str, str]]]


class Refused(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


async def chain_socket(websocket: WebSocket) -> None:
    service: Service = websocket.app.state.service
    chain_id = websocket.path_params["chain_id"]

    async def admit(identity: Identity) -> tuple[str, str]:
        try:
            _, role = await service.chains.get(identity, chain_id)
        except NotFound as missing:
            # A non-member hears what a missing chain's caller hears.
            raise Refused(CLOSE_NOT_FOUND, missing.message) from None
        return role, chain_id

    await _serve(websocket, service, service.chain_rooms, admit)


async def user_socket(websocket: WebSocket) -> None:
    """The caller's own live status document; only the service writes it."""
    service: Service = websocket.app.state.service

    async def admit(identity: Identity) -> tuple[str, str]:
        return roles.VIEWER, user_room_key(identity.user_id)

    await _serve(websocket, service, service.user_rooms, admit)


async def intel_socket(websocket: WebSocket) -> None:
    """The intel document (Thera, Turnur, system activity); only the service writes it."""
    service: Service = websocket.app.state.service

    async def admit(identity: Identity) -> tuple[str, str]:
        return roles.VIEWER, INTEL_ROOM

    await _serve(websocket, service, service.intel_rooms, admit)


async def _serve(websocket: WebSocket, service: Service, kind: RoomKind, admit: Admit) -> None:
    # Close codes only reach the client after the handshake is accepted.
    await websocket.accept()
    started = time.monotonic()
    token = websocket.query_params.get("token") or _bearer(websocket.headers.get("authorization"))
    try:
        identity = await service.auth.verify(token or "")
    except AuthError as error:
        await _close(websocket, CLOSE_UNAUTHORIZED, f"invalid token: {error}")
        return
    try:
        role, room_key = await admit(identity)
    except Refused as refusal:
        await _close(websocket, refusal.code, refusal.reason)
        return
    except Exception:
        # The database is the usual suspect; the client retries, as y-websocket does.
        log.warning("could not admit user=%s", identity.user_id, exc_info=True)
        await _close(websocket, CLOSE_TRY_AGAIN, "service temporarily unavailable; retrying helps")
        return

    settings = service.settings
    connection = Connection(
        identity,
        role,
        queue_bytes=settings.send_queue_bytes,
        rate=TokenBucket(settings.rate_limit, settings.rate_burst, service.clock.monotonic),
        metrics=service.metrics,
    )
    service.metrics.connections.inc()
    log.info("open user=%s room=%s role=%s", identity.user_id, room_key, role)
    watch_writable = websocket.scope.get("extensions", {}).get(DIRECT_WRITE)
    if watch_writable is not None:
        watch_writable(connection.writable)
    room: Room | None = None
    try:
        room = await service.rooms.join(room_key, kind, connection)
        await _pump(websocket, service, room, connection)
    except RoomUnavailable:
        connection.close(CLOSE_TRY_AGAIN, "chain not available right now; retrying helps")
    finally:
        if watch_writable is not None:
            watch_writable(None)
        if room is not None:
            service.rooms.leave(room, connection)
        service.metrics.connections.dec()
        code = connection.close_code or 1000
        service.metrics.closes.labels(code=str(code)).inc()
        await _close(websocket, code, connection.close_reason)
        log.info(
            "close user=%s room=%s code=%d reason=%r seconds=%.1f",
            identity.user_id,
            room_key,
            code,
            connection.close_reason,
            time.monotonic() - started,
        )


async def _pump(websocket: WebSocket, service: Service, room: Room, connection: Connection) -> None:
    """Run the reader and the writer until either ends or someone asks the connection to close."""

    async def send(message: bytes) -> None:
        try:
            await websocket.send({"type": "websocket.send", "bytes": message})
        except (WebSocketDisconnect, WebSocketDisconnected, OSError):
            # Mid-send, or after: Starlette refuses sends once the client has gone.
            connection.close(CLOSE_GOING_AWAY, "client left")

    reader = _Reader(service, room, connection)
    receive_now = websocket.scope.get("extensions", {}).get(RECEIVE_NOW)
    if receive_now is not None:
        receive_now(reader.receive_now)
    # System time, not the service clock: the token was verified against it.
    expires_in = connection.identity.expires_at + service.settings.auth_leeway_s - time.time()
    token_expiry = asyncio.create_task(asyncio.sleep(max(expires_in, 0)))
    tasks = [
        asyncio.create_task(reader.read_loop(websocket)),
        asyncio.create_task(connection.write_loop(send)),
        asyncio.create_task(connection.wait_closed()),
        token_expiry,
    ]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if token_expiry in done:
            connection.close(CLOSE_UNAUTHORIZED, "token expired")
        for task in done:
            if not task.cancelled() and (error := task.exception()) is not None:
                reader.failed(error)
    finally:
        if receive_now is not None:
            receive_now(None)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class _Reader:
    """Reads one client's frames into its room, message by message.

    Frames arrive two ways: from the server as soon as they are read (`receive_now`, the
    transport's extension: no queue, no task switch), or through ASGI `receive` (any server;
    and for what `receive_now` declines: frames that may hold a large update, which is read in a
    worker thread, and every frame after one until it is done, so that order is kept).
    """

    def __init__(self, service: Service, room: Room, connection: Connection) -> None:
        self._settings = service.settings
        self._metrics = service.metrics
        self._binary_in = service.metrics.messages_in["binary"]
        self._room = room
        self._connection = connection
        self._busy = False  # read_loop is handling a frame; later ones must wait their turn

    def receive_now(self, frame: bytes) -> bool:
        """A frame just read; False to have it come through `read_loop` instead."""
        connection = self._connection
        # Once the connection is to close, declining is what stops the reading: the server
        # queues the frame and pauses the socket, and read_loop no longer takes from the queue.
        if self._busy or len(frame) > LARGE_UPDATE_BYTES or connection.close_code is not None:
            return False
        try:
            for item in self._messages(frame):
                self._room.receive(connection, item)
        except ProtocolError as error:
            connection.close(CLOSE_UNDECODABLE, str(error)[:100])
        except Exception as error:
            # This runs inside the server's protocol: the error must end here, as it would
            # end the read loop's task.
            self.failed(error)
        return True

    async def read_loop(self, websocket: WebSocket) -> None:
        connection = self._connection
        while True:
            message = await websocket.receive()
            if connection.close_code is not None:
                return  # asked to close while waiting: nothing more is read
            if message["type"] == "websocket.disconnect":
                connection.close(message.get("code", 1000), "client left")
                return
            frame = message.get("bytes")
            if frame is None:
                self._metrics.messages_in["text"].inc()
                connection.close(CLOSE_UNDECODABLE, "text frames are not part of the protocol")
                return
            self._busy = True
            try:
                for item in self._messages(frame):
                    placed = None
                    if _is_large_update(item) and connection.can_edit:
                        assert isinstance(item, protocol.SyncMessage)
                        # Reading a large update takes a while: off the event loop.
                        placed = await asyncio.to_thread(self._room.check_update, item.payload)
                    self._room.receive(connection, item, placed)
            except ProtocolError as error:
                connection.close(CLOSE_UNDECODABLE, str(error)[:100])
            finally:
                self._busy = False
            if connection.close_code is not None:
                return

    def failed(self, error: BaseException) -> None:
        if not isinstance(error, OSError):
            log.error("room %s: connection failed", self._room.key, exc_info=error)
        self._connection.close(CLOSE_INTERNAL, "internal error")

    def _messages(self, frame: bytes) -> Iterator[protocol.Message]:
        """The frame's messages, each counted against the rate limit before it is handed out;
        nothing more of the frame is read once the connection is to close."""
        connection = self._connection
        self._metrics.bytes_in.inc(len(frame))
        if len(frame) > self._settings.max_message_bytes:
            connection.close(CLOSE_TOO_BIG, "message too big")
            return
        for item in protocol.iter_frame(frame):
            if not connection.rate.take():
                connection.close(CLOSE_RATE_LIMITED, "too many messages; slow down")
                return
            self._binary_in.inc()
            yield item
            if connection.close_code is not None:
                return


def _is_large_update(message: protocol.Message) -> bool:
    return (
        isinstance(message, protocol.SyncMessage)
        and message.kind != protocol.SYNC_STEP1
        and len(message.payload) > LARGE_UPDATE_BYTES
    )


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    # The peer may be gone or stalled; a close frame is a courtesy, not worth waiting long for.
    with contextlib.suppress(Exception):
        # A close reason may take at most 123 bytes.
        short = reason.encode()[:123].decode(errors="ignore")
        await asyncio.wait_for(websocket.close(code, short), CLOSE_SEND_TIMEOUT_S)


def _bearer(header: str | None) -> str | None:
    if header and header.lower().startswith("bearer "):
        return header[7:].strip()
    return None

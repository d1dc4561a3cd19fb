"""A Python Yjs client over a real websocket (pycrdt doc + the `websockets` library).

It answers the server's sync step 1, applies every update it receives, records every message,
and sends its own edits as update messages: what pycrdt's provider does, plus inspection.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from pycrdt import Doc, Map, TransactionEvent
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from mapper.core import protocol

ROOTS = ("meta", "systems", "connections", "signatures")


class WireClient:
    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.doc: Doc = Doc()
        for root in ROOTS:
            self.doc.get(root, type=Map)
        self.messages: list[protocol.Message] = []
        self.frames_in = 0
        self.awareness: dict[int, dict[str, Any] | None] = {}
        self.denied: list[str] = []
        self.synced = asyncio.Event()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._applying = False
        self.doc.observe(self._on_local_change)
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, base: str, path: str, token: str | None = None) -> WireClient:
        query = f"?token={token}" if token is not None else ""
        socket = await connect(f"{base}{path}{query}", max_size=None, ping_interval=None)
        client = cls(socket)
        await client.send(protocol.create_sync_step1_message(client.doc.get_state()))
        return client

    async def send(self, frame: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):
            await self.socket.send(frame)

    def edit(self, change: Callable[[Doc], None]) -> None:
        """Change the local doc; the update goes to the server."""
        with self.doc.transaction():
            change(self.doc)

    def map(self, root: str) -> Map:
        return self.doc.get(root, type=Map)

    async def set_awareness(self, client_id: int, clock: int, state: dict[str, Any] | None) -> None:
        entry = protocol.AwarenessEntry(client_id, clock, state)
        await self.send(protocol.encode_awareness([entry]))

    async def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            await asyncio.sleep(0.01)

    async def wait_closed(self, timeout: float = 5.0) -> int | None:
        await asyncio.wait_for(self.closed.wait(), timeout)
        return self.close_code

    async def close(self) -> None:
        await self.socket.close()
        self._reader.cancel()
        with contextlib.suppress(BaseException):
            await self._reader

    def _on_local_change(self, event: TransactionEvent) -> None:
        if not self._applying:
            frame = protocol.create_update_message(event.update)
            asyncio.get_running_loop().create_task(self.send(frame))

    def _apply(self, update: bytes) -> None:
        self._applying = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying = False

    async def _read(self) -> None:
        try:
            async for frame in self.socket:
                assert isinstance(frame, bytes), "server sent a text frame"
                self.frames_in += 1
                for message in protocol.read_frame(frame):
                    self.messages.append(message)
                    await self._handle(message)
        except ConnectionClosed:
            pass
        finally:
            self.close_code = self.socket.close_code
            self.closed.set()

    async def _handle(self, message: protocol.Message) -> None:
        match message:
            case protocol.SyncMessage(kind=protocol.SYNC_STEP1, payload=state):
                reply = protocol.create_sync_step2_message(self.doc.get_update(state))
                await self.send(reply)
            case protocol.SyncMessage(kind=protocol.SYNC_STEP2, payload=update):
                self._apply(update)
                self.synced.set()
            case protocol.SyncMessage(payload=update):
                self._apply(update)
            case protocol.AwarenessMessage(entries=entries):
                for entry in entries:
                    self.awareness[entry.client_id] = entry.state
            case protocol.AuthMessage(reason=reason):
                self.denied.append(reason)


def updates_received(client: WireClient) -> int:
    return sum(
        1
        for m in client.messages
        if isinstance(m, protocol.SyncMessage) and m.kind == protocol.SYNC_UPDATE
    )

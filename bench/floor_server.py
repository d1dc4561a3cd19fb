"""The least a Yjs websocket server in Python can do per update: a floor for `bench/run.py`.

    python bench/floor_server.py --port 1234        # or: bench/run.py --targets node,floor,mapper

One process on uvloop; a room per path, each a pycrdt document; the y-websocket sync protocol
(step 1 answered with step 2 and the server's own step 1, updates applied and broadcast from the
document's observer, framed once for every receiver) and awareness relayed as it came. Frames
are read by hand, unmasked by websockets' C helper. No authentication, limits, rate limits,
nesting check, schema guard, store or metrics: it is not a server to run, only the measure of
what mapper's CPU per update could come down to while it stays Python, uvloop and pycrdt.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib

import uvloop
from pycrdt import Doc, TransactionEvent
from websockets.frames import apply_mask

from mapper.core.protocol import (
    create_sync_step1_message,
    create_sync_step2_message,
    create_update_message,
)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_REQUEST_BYTES = 8192
MAX_FRAME_BYTES = 1 << 20


def read_var_uint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def frame(opcode: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 126:
        return bytes((0x80 | opcode, size)) + payload
    if size < 1 << 16:
        return bytes((0x80 | opcode, 126)) + size.to_bytes(2, "big") + payload
    return bytes((0x80 | opcode, 127)) + size.to_bytes(8, "big") + payload


class Room:
    def __init__(self) -> None:
        self.doc: Doc = Doc()
        self.peers: dict[Peer, None] = {}
        self.doc.observe(self._on_change)

    def _on_change(self, event: TransactionEvent) -> None:
        self.broadcast(create_update_message(event.update))

    def broadcast(self, message: bytes) -> None:
        data = frame(2, message)
        for peer in self.peers:
            peer.transport.write(data)


class Peer(asyncio.Protocol):
    def __init__(self, rooms: dict[str, Room]) -> None:
        self.rooms = rooms
        self.room: Room | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.WriteTransport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if self.room is not None:
            self.room.peers.pop(self, None)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data if self.buffer else data
        if self.room is None:
            buffer = self._handshake(buffer)
        pos, end = 0, len(buffer)
        while end - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            size, head = second & 0x7F, pos + 2
            if size == 126:
                size, head = int.from_bytes(buffer[head : head + 2], "big"), head + 2
            elif size == 127:
                size, head = int.from_bytes(buffer[head : head + 8], "big"), head + 8
            if size > MAX_FRAME_BYTES or not second & 0x80:
                self.transport.close()
                return
            if end < head + 4 + size:
                break
            payload = apply_mask(buffer[head + 4 : head + 4 + size], buffer[head : head + 4])
            pos = head + 4 + size
            opcode = first & 0x0F
            if opcode == 2:
                self._message(payload)
            elif opcode == 8:
                self.transport.write(frame(8, payload[:2]))
                self.transport.close()
                return
            elif opcode == 9:
                self.transport.write(frame(10, payload))
        self.buffer = buffer[pos:]

    def _handshake(self, buffer: bytes) -> bytes:
        head, found, rest = buffer.partition(b"\r\n\r\n")
        if not found:
            if len(buffer) > MAX_REQUEST_BYTES:
                self.transport.close()
            self.buffer = buffer
            return b""
        lines = head.decode("latin-1").split("\r\n")
        path = lines[0].split(" ")[1]
        headers = dict(line.split(":", 1) for line in lines[1:] if ":" in line)
        key = {name.lower(): value.strip() for name, value in headers.items()}["sec-websocket-key"]
        accept = base64.b64encode(hashlib.sha1(key.encode() + GUID).digest())
        self.transport.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        self.room = self.rooms.setdefault(path, Room())
        self.room.peers[self] = None
        self.transport.write(frame(2, create_sync_step1_message(self.room.doc.get_state())))
        return rest

    def _message(self, message: bytes) -> None:
        room = self.room
        assert room is not None
        if message[0] == 1:  # awareness: relayed to everyone, as it came
            room.broadcast(message)
            return
        if message[0] != 0:
            return
        kind = message[1]
        size, start = read_var_uint(message, 2)
        payload = message[start : start + size]
        if kind == 0:
            self.transport.write(frame(2, create_sync_step2_message(room.doc.get_update(payload))))
        else:
            room.doc.apply_update(payload)


async def serve(port: int) -> None:
    rooms: dict[str, Room] = {}
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Peer(rooms), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=1234)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()

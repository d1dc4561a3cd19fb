"""The y-protocols wire format (sync, awareness, auth), read strictly.

Websocket bytes come from outside: every read is bounds-checked and a malformed frame raises
`ProtocolError`, never `IndexError` or a pycrdt panic. pycrdt's own decoder trusts its input,
which is why the reading half lives here; the writing half reuses pycrdt's encoders. Also
the websocket frame that carries a message to clients, built once per broadcast.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any, Final, final

from pycrdt import create_awareness_message, write_message, write_var_uint

from mapper.core import native

MESSAGE_SYNC: Final = 0
MESSAGE_AWARENESS: Final = 1
MESSAGE_AUTH: Final = 2
MESSAGE_QUERY_AWARENESS: Final = 3

SYNC_STEP1: Final = 0
SYNC_STEP2: Final = 1
SYNC_UPDATE: Final = 2

AUTH_PERMISSION_DENIED: Final = 0

# A varUint past 2**53 cannot be a JS number, so no stock client sends one.
_MAX_VAR_UINT_BYTES: Final = 8
_FIN_BINARY: Final = 0x82  # a websocket frame's FIN bit and binary opcode

__all__ = [
    "AwarenessEntry",
    "ProtocolError",
    "RawAwarenessEntry",
    "binary_frame",
    "create_awareness_message",
    "create_sync_step1_message",
    "create_sync_step2_message",
    "create_update_message",
    "encode_awareness",
    "iter_frame",
    "permission_denied_message",
    "read_awareness",
    "read_frame",
]


class ProtocolError(ValueError):
    """A frame that does not decode as y-protocols messages."""


# Messages and entries are plain classes with their `__init__` written out: the native build
# compiles such an `__init__`, where a dataclass's generated one stays interpreted (400 ns a
# message, set attribute by attribute).


@final
class SyncMessage:
    __slots__ = ("kind", "payload")

    def __init__(self, kind: int, payload: bytes) -> None:
        self.kind: Final = kind  # SYNC_STEP1, SYNC_STEP2 or SYNC_UPDATE
        self.payload: Final = payload  # state vector for step 1, update otherwise


@final
class AwarenessMessage:
    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload: Final = payload

    @property
    def entries(self) -> tuple[AwarenessEntry, ...]:
        """Every entry, its state decoded (for clients; the service decodes only what it
        accepts, see `read_awareness`)."""
        _, entries = read_awareness(self.payload)
        return tuple(AwarenessEntry(e.client_id, e.clock, e.state()) for e in entries)


@final
class QueryAwarenessMessage:
    __slots__ = ()


@final
class AuthMessage:
    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason: Final = reason


@final
class AwarenessEntry:
    __slots__ = ("client_id", "clock", "state")

    def __init__(self, client_id: int, clock: int, state: dict[str, Any] | None) -> None:
        self.client_id: Final = client_id
        self.clock: Final = clock
        self.state: Final = state  # None: the client left


@final
class RawAwarenessEntry:
    """An entry as it came: its JSON is decoded only if it is accepted."""

    __slots__ = ("client_id", "clock", "json")

    def __init__(self, client_id: int, clock: int, json: bytes) -> None:
        self.client_id: Final = client_id
        self.clock: Final = clock
        self.json: Final = json

    @property
    def leaves(self) -> bool:
        return self.json == b"null"

    def state(self) -> dict[str, Any] | None:
        try:
            state = json.loads(self.json)
        except (ValueError, RecursionError):
            raise ProtocolError("awareness state is not JSON") from None
        if state is not None and not isinstance(state, dict):
            raise ProtocolError("awareness state is not a JSON object")
        return state


Message = SyncMessage | AwarenessMessage | QueryAwarenessMessage | AuthMessage


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def var_uint(self) -> int:
        pos = self.pos
        if pos < len(self.data) and (byte := self.data[pos]) < 0x80:
            self.pos = pos + 1  # message types and short lengths: one byte
            return byte
        value = 0
        shift = 0
        for _ in range(_MAX_VAR_UINT_BYTES):
            if self.pos >= len(self.data):
                raise ProtocolError("truncated varUint")
            byte = self.data[self.pos]
            self.pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise ProtocolError("varUint too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self.pos + length
        if end > len(self.data):
            raise ProtocolError("byte array runs past the end of the frame")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("string is not UTF-8") from None


def read_frame(frame: bytes) -> list[Message]:
    """Decode every message in one websocket frame (stock clients may send several)."""
    return list(iter_frame(frame))


def iter_frame(frame: bytes) -> Iterator[Message]:
    """The messages of one frame, one at a time: a reader may stop at any of them (a limit
    reached) without having decoded the rest."""
    reader = _Reader(frame)
    if reader.at_end():
        raise ProtocolError("empty frame")
    while not reader.at_end():
        yield _read_message(reader)


def _read_message(reader: _Reader) -> Message:
    message_type = reader.var_uint()
    if message_type == MESSAGE_SYNC:
        kind = reader.var_uint()
        if kind not in (SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE):
            raise ProtocolError(f"unknown sync message type {kind}")
        payload = reader.var_bytes()
        if kind == SYNC_STEP1:
            _check_state_vector(payload)
        return SyncMessage(kind, payload)
    if message_type == MESSAGE_AWARENESS:
        return AwarenessMessage(reader.var_bytes())
    if message_type == MESSAGE_QUERY_AWARENESS:
        return QueryAwarenessMessage()
    if message_type == MESSAGE_AUTH:
        if reader.var_uint() != AUTH_PERMISSION_DENIED:
            raise ProtocolError("unknown auth message type")
        return AuthMessage(reader.var_string())
    raise ProtocolError(f"unknown message type {message_type}")


def _check_state_vector(payload: bytes) -> None:
    """A state vector as yrs reads it: a count, then that many (client, clock) pairs, nothing
    after. yrs reserves room for the count before it reads a pair, so 11 bytes announcing 244
    million entries cost it half a second and 500 MB; here such a count fails at the first
    pair the bytes do not hold."""
    reader = _Reader(payload)
    for _ in range(reader.var_uint()):
        reader.var_uint()
        reader.var_uint()
    if not reader.at_end():
        raise ProtocolError("trailing bytes after the state vector")


def read_awareness(payload: bytes) -> tuple[int, Iterator[RawAwarenessEntry]]:
    """The number of entries an awareness payload announces, and the entries one at a time
    (each read is bounds-checked; the last one checks that nothing trails)."""
    reader = _Reader(payload)
    count = reader.var_uint()
    # Each entry takes at least 3 bytes, so a huge count in a small payload is a lie.
    if count * 3 > len(payload):
        raise ProtocolError("awareness entry count exceeds the payload")

    def entries() -> Iterator[RawAwarenessEntry]:
        for _ in range(count):
            client_id = reader.var_uint()
            clock = reader.var_uint()
            yield RawAwarenessEntry(client_id, clock, reader.var_bytes())
        if not reader.at_end():
            raise ProtocolError("trailing bytes after awareness entries")

    return count, entries()


def encode_awareness(entries: list[AwarenessEntry] | tuple[AwarenessEntry, ...]) -> bytes:
    """A complete awareness message (type byte included) carrying `entries`."""
    parts = [write_var_uint(len(entries))]
    for entry in entries:
        state = json.dumps(entry.state, separators=(",", ":"), ensure_ascii=False).encode()
        parts += [write_var_uint(entry.client_id), write_var_uint(entry.clock)]
        parts += [write_var_uint(len(state)), state]
    return create_awareness_message(b"".join(parts))


def create_sync_step1_message(state_vector: bytes) -> bytes:
    return _sync_message(SYNC_STEP1, state_vector)


def create_sync_step2_message(update: bytes) -> bytes:
    return _sync_message(SYNC_STEP2, update)


def create_update_message(update: bytes) -> bytes:
    return _sync_message(SYNC_UPDATE, update)


def _sync_message(kind: int, payload: bytes) -> bytes:
    size = len(payload)
    if size < 0x80:  # a one-byte length: most updates, built without pycrdt's loop
        return bytes((MESSAGE_SYNC, kind, size)) + payload
    return bytes((MESSAGE_SYNC, kind)) + write_message(payload)


def permission_denied_message(reason: str) -> bytes:
    encoded = reason.encode()
    return bytes([MESSAGE_AUTH, AUTH_PERMISSION_DENIED]) + write_var_uint(len(encoded)) + encoded


def binary_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked, uncompressed binary websocket frame (RFC 6455 5.2): what a
    server sends. Masking is for clients, and the service turns deflate off, so the bytes are
    the same for every receiver."""
    size = len(payload)
    if size < 126:
        return bytes((_FIN_BINARY, size)) + payload
    if size < 1 << 16:
        return struct.pack("!BBH", _FIN_BINARY, 126, size) + payload
    return struct.pack("!BBQ", _FIN_BINARY, 127, size) + payload


# Every frame is read here: while the install compiled this very text, its build answers
# instead (mapper.core.native).
NATIVE = native.adopt(globals())

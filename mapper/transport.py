"""uvicorn's websocket protocol, plus a direct write and a synchronous receive offered to the app
as ASGI extensions.

ASGI sends are coroutines, so a room that broadcasts through them wakes one task per client per
update. When the socket can take more bytes, writing the frame at once costs a fraction of
that; and since server frames are never masked, one broadcast frames its message once and
writes the same bytes to every socket. The app hands a listener to
`scope["extensions"][DIRECT_WRITE]`; the protocol calls it with its transport whenever whole
frames (`mapper.core.protocol.binary_frame`) may be written to it directly, and with None when
they may not (writing paused, close frame sent, connection lost), so a frame costs the app one
check (`transport.is_closing()`: the transport may fail before the protocol hears of it) and
the write. While the listener holds None, the app queues its messages for the ordinary ASGI
send.

Likewise an ASGI receive goes through a queue, pauses and resumes reading, and wakes the app's
task for every message. The app may hand a callable to `scope["extensions"][RECEIVE_NOW]`; each
binary message is then given to it as soon as it is read, while nothing waits in the queue.
It returns False to have the message go through the queue after all (the app's reader is busy
with an earlier message, or the message is one to handle asynchronously), so order is kept.
Disconnects, text and whatever the app declines still take the ASGI path.

Reading, too, skips a layer on the common frame: once the handshake's request is read, the
protocol splits the bytes into frames itself. A whole, masked, unfragmented binary frame of
less than 64 KiB that the app's receiver takes is unmasked and handed over at once; every other
frame (control frames, text, fragments, anything while the app's queue is not empty) goes whole
to websockets' parser, which therefore always starts at a frame's first byte, and does what it
always did. A frame with a 64-bit length, or any frame once the connection is not open (closing,
or not accepted yet), hands the rest of the connection to websockets.

Under another server the extensions are absent and only the ASGI path is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import apply_mask
from websockets.http11 import Request
from websockets.protocol import State

DIRECT_WRITE = "mapper.direct_write"
RECEIVE_NOW = "mapper.receive_now"

# Told the transport while frames may be written to it directly, None while they may not.
WritableListener = Callable[[asyncio.WriteTransport | None], None]
# Takes a binary message; True when it was handled, False to receive it through ASGI instead.
Receiver = Callable[[bytes], bool]

_BINARY_FIN = 0x82  # the first byte of a whole binary frame, no extension bits
_MASKED = 0x80
_LENGTH_16 = 126  # the length follows in two bytes
_LENGTH_64 = 127  # in eight: such frames are left to websockets


class WebSocketProtocol(WebSocketsSansIOProtocol):
    # A handshake the app has not answered (accepted or refused) by then is dropped; None: no
    # deadline. Set per server with `with_handshake_timeout`.
    handshake_timeout_s: ClassVar[float | None] = None
    _handshake_deadline: asyncio.TimerHandle | None = None
    _receiver: Receiver | None = None
    _writable_listener: WritableListener | None = None
    _told: asyncio.WriteTransport | None = None  # what the listener was last told
    # None: websockets reads every byte; else the start of a frame not whole yet.
    _unread: bytes | None = None

    @classmethod
    def with_handshake_timeout(cls, timeout_s: float) -> type[WebSocketProtocol]:
        return type("TimedWebSocketProtocol", (cls,), {"handshake_timeout_s": timeout_s})

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if self.handshake_timeout_s is not None:
            self._handshake_deadline = self.loop.call_later(
                self.handshake_timeout_s, self._handshake_too_slow
            )

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_handshake_deadline()
        self._receiver = None
        super().connection_lost(exc)
        self._tell_writable()

    async def send(self, message: ASGISendEvent) -> None:
        try:
            await super().send(message)
        finally:
            if self.handshake_complete:
                self._end_handshake_deadline()
            self._tell_writable()

    # Every way the protocol may start closing, or stop or resume writing, ends in one of
    # these (a frame the app takes at once changes nothing here: the app closes through
    # send); each tells the listener whether frames may still go straight to the socket.
    def data_received(self, data: bytes) -> None:
        if self._unread is not None:
            self._read_frames(self._unread + data if self._unread else data)
            return
        self._parse(data)
        # uvicorn hands over the upgrade request alone, rebuilt from its headers: once it is
        # read and nothing follows it, websockets' parser waits at a frame's first byte.
        if self.handshake_initiated and not self.close_sent and not self.conn.reader.buffer:
            self._unread = b"" if data.endswith(b"\r\n\r\n") else None

    def _parse(self, data: bytes) -> None:
        """Let websockets read `data`: whatever it does, the listener hears of it."""
        super().data_received(data)
        self._tell_writable()

    def _read_frames(self, data: bytes) -> None:
        pos, end = 0, len(data)
        while end - pos >= 2:
            first, second = data[pos], data[pos + 1]
            size = second & 0x7F
            if size == _LENGTH_64 or not second & _MASKED:
                # Larger than read here, or refused by websockets: it reads all that follows.
                self._unread = None
                self._parse(data[pos:])
                return
            head = pos + (6 if size < _LENGTH_16 else 8)
            if end < head:
                break
            if size == _LENGTH_16:
                size = int.from_bytes(data[pos + 2 : pos + 4], "big")
            stop = head + size
            if stop > end:
                break
            receiver = self._receiver
            if (
                first == _BINARY_FIN
                and receiver is not None
                and not self.frames  # not inside a fragmented message
                and not self.close_sent
                and self.queue.empty()
                and receiver(apply_mask(data[head:stop], data[head - 4 : head]))
            ):
                pos = stop
                continue
            self._parse(data[pos:stop])
            pos = stop
            if self.conn.state is not State.OPEN:
                # Closing (or not open yet): websockets decides what the rest is worth.
                self._unread = None
                if pos < end:
                    self._parse(data[pos:])
                return
        self._unread = data[pos:]

    def pause_writing(self) -> None:
        super().pause_writing()
        self._tell_writable()

    def resume_writing(self) -> None:
        super().resume_writing()
        self._tell_writable()

    def keepalive_timeout(self) -> None:
        super().keepalive_timeout()
        self._tell_writable()

    def shutdown(self) -> None:
        super().shutdown()
        self._tell_writable()

    def _end_handshake_deadline(self) -> None:
        if self._handshake_deadline is not None:
            self._handshake_deadline.cancel()
            self._handshake_deadline = None

    def _handshake_too_slow(self) -> None:
        self._handshake_deadline = None
        if not self.handshake_complete and not self.transport.is_closing():
            self.transport.close()

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # the handshake goes on to the app
            extensions = self.scope["extensions"]
            extensions[DIRECT_WRITE] = self.watch_writable
            extensions[RECEIVE_NOW] = self.receive_now

    def watch_writable(self, listener: WritableListener | None) -> None:
        """Tell `listener` the transport now and whenever frames may or may not be written to
        it directly (None: stop telling)."""
        self._writable_listener = listener
        self._told = None
        if listener is not None:
            listener(None)
            self._tell_writable()

    def _tell_writable(self) -> None:
        listener = self._writable_listener
        if listener is None:
            return
        # websockets keeps no state about data frames sent unfragmented, so writing the bytes
        # around it leaves its protocol state as send_binary would.
        transport = (
            None
            if self.close_sent
            or not self.handshake_complete
            or self.disconnected
            or self.conn.state is not State.OPEN
            or not self.writable.is_set()
            or self.transport.is_closing()
            else self.transport
        )
        if transport is not self._told:
            self._told = transport
            listener(transport)

    def receive_now(self, receiver: Receiver | None) -> None:
        """Hand binary messages to `receiver` as they are read (None: back to the queue)."""
        self._receiver = receiver

    def send_receive_event_to_app(self) -> None:
        receiver = self._receiver
        if (
            receiver is not None
            and self.curr_msg_data_type == "bytes"
            and not self.close_sent
            and self.queue.empty()
        ):
            frames = self.frames
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            if receiver(data):
                self.frames = []
                return
            self.frames = [data]
        super().send_receive_event_to_app()

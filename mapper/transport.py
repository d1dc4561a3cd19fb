"""uvicorn's websocket protocol, plus a synchronous send and receive offered to the app as ASGI
extensions.

ASGI sends are coroutines, so a room that broadcasts through them wakes one task per client per
update. When the socket can take more bytes, writing the frame at once costs a fraction of
that; and since server frames are never masked, one broadcast frames its message once and
writes the same bytes to every socket. The app finds the callable under
`scope["extensions"][SEND_NOW]`; it takes a whole frame (`mapper.core.protocol.binary_frame`)
and returns False when the frame was not written (socket paused, closing, or closed), and the
app then queues the message for the ordinary ASGI send.

Likewise an ASGI receive goes through a queue, pauses and resumes reading, and wakes the app's
task for every message. The app may hand a callable to `scope["extensions"][RECEIVE_NOW]`; each
binary message is then given to it as soon as it is read, while nothing waits in the queue.
It returns False to have the message go through the queue after all (the app's reader is busy
with an earlier message, or the message is one to handle asynchronously), so order is kept.
Disconnects, text and whatever the app declines still take the ASGI path.

Under another server the extensions are absent and only the ASGI path is used.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import ClassVar

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

SEND_NOW = "mapper.send_now"
RECEIVE_NOW = "mapper.receive_now"

# Takes a binary message; True when it was handled, False to receive it through ASGI instead.
Receiver = Callable[[bytes], bool]


class WebSocketProtocol(WebSocketsSansIOProtocol):
    # A handshake the app has not answered (accepted or refused) by then is dropped; None: no
    # deadline. Set per server with `with_handshake_timeout`.
    handshake_timeout_s: ClassVar[float | None] = None
    _handshake_deadline: asyncio.TimerHandle | None = None
    _receiver: Receiver | None = None

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

    async def send(self, message: ASGISendEvent) -> None:
        try:
            await super().send(message)
        finally:
            if self.handshake_complete:
                self._end_handshake_deadline()

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
            extensions[SEND_NOW] = self.send_now
            extensions[RECEIVE_NOW] = self.receive_now

    def send_now(self, frame: bytes) -> bool:
        if (
            self.close_sent
            or not self.handshake_complete
            or self.disconnected
            or self.conn.state is not State.OPEN
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        # websockets keeps no state about data frames sent unfragmented, so writing the bytes
        # around it leaves its protocol state as send_binary would.
        self.transport.write(frame)
        return True

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

"""uvicorn's websocket protocol, plus a synchronous send offered to the app as an ASGI extension.

ASGI sends are coroutines, so a room that broadcasts through them wakes one task per client per
update. When the socket can take more bytes, writing the frame at once costs a fraction of
that; and since server frames are never masked, one broadcast frames its message once and
writes the same bytes to every socket. The app finds the callable under
`scope["extensions"][SEND_NOW]`; it takes a whole frame (`mapper.core.protocol.binary_frame`)
and returns False when the frame was not written (socket paused, closing, or closed), and the
app then queues the message for the ordinary ASGI send. Under another server the extension is
absent and only queues are used.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request
from websockets.protocol import State

SEND_NOW = "mapper.send_now"


class WebSocketProtocol(WebSocketsSansIOProtocol):
    # A handshake the app has not answered (accepted or refused) by then is dropped; None: no
    # deadline. Set per server with `with_handshake_timeout`.
    handshake_timeout_s: ClassVar[float | None] = None
    _handshake_deadline: asyncio.TimerHandle | None = None

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
            self.scope["extensions"][SEND_NOW] = self.send_now

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

"""uvicorn's websocket protocol, plus a synchronous send offered to the app as an ASGI extension.

ASGI sends are coroutines, so a room that broadcasts through them wakes one task per client per
update. When the socket can take more bytes, writing the frame at once costs a fraction of
that. The app finds the callable under `scope["extensions"][SEND_NOW]`; it returns False when
the frame was not written (socket paused, closing, or closed), and the app then queues it for
the ordinary ASGI send. Under another server the extension is absent and only queues are used.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from uvicorn._types import ASGISendEvent
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

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

    def send_now(self, data: bytes) -> bool:
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.conn.send_binary(data)
        self.transport.write(b"".join(self.conn.data_to_send()))
        return True

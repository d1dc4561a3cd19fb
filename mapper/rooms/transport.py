"""uvicorn's websocket protocol, plus a synchronous send offered to the app as an ASGI extension.

ASGI sends are coroutines, so a room that broadcasts through them wakes one task per client per
update. When the socket can take more bytes, writing the frame at once costs a fraction of
that. The app finds the callable under `scope["extensions"][SEND_NOW]`; it returns False when
the frame was not written (socket paused, closing, or closed), and the app then queues it for
the ordinary ASGI send. Under another server the extension is absent and only queues are used.
"""

from __future__ import annotations

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

SEND_NOW = "mapper.send_now"


class WebSocketProtocol(WebSocketsSansIOProtocol):
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

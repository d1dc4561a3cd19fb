"""One websocket client of a room: its identity, its role, its own bounded send queue.

Each connection drains its queue in its own task, so a slow or stalled client delays nobody
else. A client whose queue fills is dropped (and resyncs when it reconnects) rather than
silently missing updates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from mapper.auth import Identity
from mapper.metrics import Metrics

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_UNDECODABLE = 1007
CLOSE_RATE_LIMITED = 1008
CLOSE_TOO_BIG = 1009
CLOSE_INTERNAL = 1011
CLOSE_TRY_AGAIN = 1013
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404

Send = Callable[[bytes], Awaitable[None]]
SendNow = Callable[[bytes], bool]


class TokenBucket:
    """`rate` events a second with bursts of `burst`."""

    __slots__ = ("burst", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


class Connection:
    def __init__(
        self,
        identity: Identity,
        role: str,
        *,
        queue_size: int,
        metrics: Metrics,
        send_now: SendNow | None = None,
    ) -> None:
        self.identity = identity
        self.role = role
        self._metrics = metrics
        self._send_now = send_now
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(queue_size)
        self._sending = False  # the writer task is inside an ASGI send
        self._close_requested = asyncio.Event()
        self.close_code: int | None = None
        self.close_reason = ""

    @property
    def user(self) -> dict[str, str]:
        """The awareness `user` field, from the token."""
        return {"id": self.identity.user_id, "name": self.identity.name}

    @property
    def can_edit(self) -> bool:
        return self.role in ("editor", "owner")

    def send(self, message: bytes) -> bool:
        """Queue a message; False when the connection is closing or has just overflowed."""
        if self.close_code is not None:
            return False
        # Straight to the socket when nothing is ahead of this message; order is kept because
        # anything queued or in flight goes first.
        if (
            self._send_now is not None
            and not self._sending
            and self._queue.empty()
            and self._send_now(message)
        ):
            return True
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            self._metrics.queue_overflows.inc()
            self.close(CLOSE_TRY_AGAIN, "too far behind; reconnect to resync")
            return False
        return True

    def close(self, code: int, reason: str) -> None:
        """Ask for this connection to end; the first reason given wins."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self._close_requested.set()

    async def wait_closed(self) -> None:
        await self._close_requested.wait()

    async def write_loop(self, send: Send) -> None:
        while True:
            message = await self._queue.get()
            self._sending = True
            try:
                await send(message)
            finally:
                self._sending = False

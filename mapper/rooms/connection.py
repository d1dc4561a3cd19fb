"""One websocket client of a room: its identity, its role, its own bounded send queue, its
message rate.

Each connection drains its queue in its own task, so a slow or stalled client delays nobody
else. The queue is bounded in bytes: a client whose queue fills is dropped (and resyncs when
it reconnects) rather than silently missing updates, or making the service hold what it does
not read.

The rate limit counts protocol messages, not frames, with one exception: stock clients send
back every awareness message they receive, so each awareness message sent to a connection
lets it send one awareness message that changes nothing free of charge. Otherwise a flood in
the room would get the bystanders' tabs closed for echoing it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from mapper.core import roles
from mapper.core.identity import Identity
from mapper.core.metrics import Metrics
from mapper.core.protocol import binary_frame

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

RELAY_CREDIT_MAX = 64


class TokenBucket:
    """`rate` events a second with bursts of `burst`, on `clock` (a monotonic reading)."""

    __slots__ = ("burst", "clock", "rate", "tokens", "updated")

    def __init__(self, rate: float, burst: int, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.clock = clock
        self.updated = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    def refund(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1.0)


class Connection:
    def __init__(
        self,
        identity: Identity,
        role: str,
        *,
        queue_bytes: int,
        rate: TokenBucket,
        metrics: Metrics,
    ) -> None:
        self.identity = identity
        self.role = role
        self.rate = rate
        self._metrics = metrics
        # The server's transport, while whole frames (`binary_frame`) may be written to it.
        self._transport: asyncio.WriteTransport | None = None
        # The transport while a frame may go straight to it: nothing queued or in flight ahead
        # of it, and no close asked for. Kept up to date on every change of those, so that a
        # broadcast asks one question per receiver.
        self.direct: asyncio.WriteTransport | None = None
        self._queue: deque[bytes] = deque()
        self._queue_bytes = queue_bytes
        self._queued = 0  # bytes queued or being sent
        self._ready = asyncio.Event()
        self._sending = False  # the writer task is inside an ASGI send
        self._close_requested = asyncio.Event()
        self._relay_credits = 0
        self.close_code: int | None = None
        self.close_reason = ""
        # What this client was last answered, so that asking again costs nothing.
        self.last_step1: tuple[int, int] | None = None  # (hash of the state vector, version)
        self.last_awareness_answer = -1

    @property
    def user(self) -> dict[str, str]:
        """The awareness `user` field, from the token."""
        return {"id": self.identity.user_id, "name": self.identity.name}

    @property
    def can_edit(self) -> bool:
        return roles.at_least(self.role, roles.EDITOR)

    def writable(self, transport: asyncio.WriteTransport | None) -> None:
        """The server's word: frames may be written to `transport` directly (None: not)."""
        self._transport = transport
        self._update_direct()

    def _update_direct(self) -> None:
        clear = self.close_code is None and not self._sending and not self._queue
        self.direct = self._transport if clear else None

    def send(self, message: bytes, frame: bytes | None = None) -> bool:
        """Queue a message; False when the connection is closing or has just overflowed.
        `frame`: the message framed already (`binary_frame`), when a broadcast shares it."""
        # Straight to the socket when nothing is ahead of this message; order is kept because
        # anything queued or in flight goes first. The transport may fail before the server
        # tells us: then the message waits in the queue like any other.
        transport = self.direct
        if transport is not None and not transport.is_closing():
            transport.write(binary_frame(message) if frame is None else frame)
            return True
        if self.close_code is not None:
            return False
        # One message of any size may wait (a large document's sync answer); more only
        # within the byte bound.
        if self._queued and self._queued + len(message) > self._queue_bytes:
            self._metrics.queue_overflows.inc()
            self.close(CLOSE_TRY_AGAIN, "too far behind; reconnect to resync")
            return False
        self._queue.append(message)
        self._queued += len(message)
        self.direct = None
        self._ready.set()
        return True

    def expect_relay(self) -> None:
        """An awareness message went to this client: a stock client sends it back."""
        self._relay_credits = min(self._relay_credits + 1, RELAY_CREDIT_MAX)

    def relayed(self) -> None:
        """The client sent an awareness message that changed nothing: an echo, if expected."""
        if self._relay_credits:
            self._relay_credits -= 1
            self.rate.refund()

    def close(self, code: int, reason: str) -> None:
        """Ask for this connection to end; the first reason given wins."""
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
            self.direct = None
            self._close_requested.set()

    async def wait_closed(self) -> None:
        await self._close_requested.wait()

    async def write_loop(self, send: Send) -> None:
        while True:
            while not self._queue:
                self._ready.clear()
                await self._ready.wait()
            message = self._queue.popleft()
            self._sending = True
            try:
                await send(message)
            finally:
                self._sending = False
                self._queued -= len(message)
                self._update_direct()

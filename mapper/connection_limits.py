"""Deadlines and a cap for connections that owe the service a request (slowloris defence).

uvicorn closes an idle keep-alive connection after `timeout_keep_alive`, but a connection that
never finishes its first request is kept forever: enough silent sockets use up the process's
open files and lock real users out. Here every HTTP connection that is waiting for a request
(just opened, part-way through a request, or idle between keep-alive requests) is *waiting*:

- a request must be whole (headers and body, or the websocket upgrade) within the request
  timeout of its first byte, or of the connection's opening; else the connection is closed;
- at most `limit` connections wait at once; past it the one waiting longest is closed, so a
  flood of silent sockets evicts itself while a real client, whose request arrives at once,
  gets through.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("mapper.connections")

REPORT_INTERVAL_S = 10.0  # at most one line per kind this often, however hard the flood


class _Tally:
    """Counts events and logs at most one summary line per interval."""

    def __init__(self, level: int, message: str) -> None:
        self._level = level
        self._message = message
        self._count = 0
        self._reported_at = -REPORT_INTERVAL_S

    def add(self, *args: object) -> None:
        self._count += 1
        now = time.monotonic()
        if now - self._reported_at >= REPORT_INTERVAL_S:
            log.log(self._level, self._message, self._count, *args)
            self._count = 0
            self._reported_at = now


class WaitingConnections:
    """The connections waiting for a request, oldest first, at most `limit` of them."""

    def __init__(self, limit: int, request_timeout_s: float) -> None:
        self.limit = max(limit, 1)
        self.request_timeout_s = request_timeout_s
        self._waiting: dict[WaitingHttpProtocol, None] = {}  # insertion order: oldest first
        self.shed = 0
        self.timed_out = 0
        self._shed_log = _Tally(
            logging.WARNING,
            "closed %d connection(s) waiting for a request: %d were waiting at once "
            "(MAPPER_MAX_PENDING_CONNECTIONS); the longest-waiting go first",
        )
        self._timeout_log = _Tally(
            logging.INFO, "closed %d connection(s) that sent no whole request within %.0f s"
        )

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, protocol: WaitingHttpProtocol) -> None:
        if protocol in self._waiting:
            return
        self._waiting[protocol] = None
        while len(self._waiting) > self.limit:
            oldest = next(iter(self._waiting))
            self.discard(oldest)
            oldest.close_waiting()
            self.shed += 1
            self._shed_log.add(self.limit)

    def discard(self, protocol: WaitingHttpProtocol) -> None:
        self._waiting.pop(protocol, None)

    def timed_out_one(self) -> None:
        self.timed_out += 1
        self._timeout_log.add(self.request_timeout_s)


class WaitingHttpProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol with a request deadline and a place in `WaitingConnections`."""

    waiting: ClassVar[WaitingConnections]
    _deadline: asyncio.TimerHandle | None = None

    @classmethod
    def bound_to(cls, waiting: WaitingConnections) -> type[WaitingHttpProtocol]:
        """The protocol class for one server (uvicorn builds protocols from a class)."""
        return type("BoundWaitingHttpProtocol", (cls,), {"waiting": waiting})

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_waiting()

    def data_received(self, data: bytes) -> None:
        # Bytes on an idle connection begin a request, and its deadline.
        if self._deadline is None:
            self._start_waiting()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # a pipelined request after one just completed
            self._start_waiting()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._stop_waiting()

    def handle_websocket_upgrade(self) -> None:
        # The websocket protocol takes the connection over, with its own handshake deadline.
        self._stop_waiting()
        super().handle_websocket_upgrade()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # now idle, waiting for the next request
            self.waiting.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def close_waiting(self) -> None:
        """Evicted: the connection is closed without an answer."""
        self._cancel_deadline()
        if not self.transport.is_closing():
            self.transport.close()

    def _start_waiting(self) -> None:
        if self.transport.is_closing():
            return
        self._deadline = self.loop.call_later(self.waiting.request_timeout_s, self._too_slow)
        self.waiting.add(self)

    def _stop_waiting(self) -> None:
        self._cancel_deadline()
        self.waiting.discard(self)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        self.waiting.discard(self)
        if not self.transport.is_closing():
            self.waiting.timed_out_one()
            self.transport.close()

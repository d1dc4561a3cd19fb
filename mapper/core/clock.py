"""The service's one clock: the system's, or a hand-driven one for tests and simulations.

The service builds one and hands it to every part whose behaviour depends on time: the sync
engine's cadences, presence, awareness timeouts, room unloading, upkeep rounds, rate limits.
They never call `time` or `asyncio.sleep` themselves, so ten simulated minutes of polling run
in a fraction of a second, and a test decides exactly when a timeout has passed. (Token expiry
stays on the system's time, as the JWT library checks it; and so do waits that only pace
input and output, like the writer's batching window.)
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch: for timestamps."""
        ...

    def monotonic(self) -> float:
        """Seconds that never go back (the epoch is arbitrary): for intervals and timeouts."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    # The C functions themselves: rate limits read the clock for every message.
    now = staticmethod(time.time)
    monotonic = staticmethod(time.monotonic)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))


class ManualClock:
    """Stands still until `advance` moves it; sleepers wake when their time has come."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time on, waking every sleeper on the way in order, and let them run."""
        target = self._now + seconds
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, future = heapq.heappop(self._sleepers)
            self._now = max(self._now, when)
            if not future.done():
                future.set_result(None)
            await _let_run()
        self._now = target
        await _let_run()


async def _let_run() -> None:
    for _ in range(5):
        await asyncio.sleep(0)

"""Token buckets on the engine's clock: `rate_per_minute` runs per key, bursts of `burst`."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

from mapper.core.clock import Clock


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    def __init__(self, clock: Clock, *, rate_per_minute: float, burst: int) -> None:
        self._clock = clock
        self._rate = rate_per_minute / 60.0
        self._burst = float(burst)
        self._buckets: dict[Hashable, _Bucket] = {}

    async def take(self, key: Hashable) -> None:
        """Wait until `key` may run once more, then count the run."""
        while True:
            wait = self._try(key)
            if wait <= 0:
                return
            await self._clock.sleep(wait)

    def allow(self, key: Hashable) -> bool:
        """Count a run of `key` now if it may run now; False (counting nothing) if not."""
        return self._try(key) <= 0

    def _try(self, key: Hashable) -> float:
        now = self._clock.now()
        bucket = self._buckets.setdefault(key, _Bucket(self._burst, now))
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self._rate

    def prune(self) -> None:
        """Forget buckets that have refilled: they hold nothing a new one would not."""
        now = self._clock.now()
        for key, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.updated) * self._rate >= self._burst:
                del self._buckets[key]

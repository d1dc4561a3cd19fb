"""Upkeep of stored chains, in the background: compaction of long update logs, periodic and
unload snapshots, and thinning of old snapshots.

Every job here works from the database alone (the log folded into the base), so it is right
whichever process of the service runs it, and several processes may run it at once: the
store's per-chain lock serializes them and "only if changed" keeps them from doubling up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any

from mapper.chains.diff import ENTRY_ROOTS
from mapper.core.clock import Clock
from mapper.core.tasks import Tasks
from mapper.persistence.folding import Folder
from mapper.persistence.records import SnapshotInfo
from mapper.persistence.retention import Retention, expired
from mapper.persistence.store import Store, now_ms

log = logging.getLogger("mapper.chains.maintenance")


class ChainMaintenance:
    def __init__(
        self,
        store: Store,
        flush: Callable[[str], Awaitable[None]],
        *,
        clock: Clock,
        tasks: Tasks,
        snapshot_interval_s: float,
        compact_rows: int,
        compact_bytes: int,
        retention: Retention,
    ) -> None:
        self._store = store
        self._flush = flush  # makes a chain's accepted updates durable
        self._clock = clock
        self._fold = Folder(ENTRY_ROOTS)
        self._interval_s = snapshot_interval_s
        self._compact_rows = compact_rows
        self._compact_bytes = compact_bytes
        self._retention = retention
        # Rows and bytes this process logged per chain since it last compacted the chain.
        self._logged: dict[str, tuple[int, int]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._jobs = tasks.group("jobs")
        self._tasks = tasks
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = self._tasks.spawn(self._run(), name="chain-maintenance")

    async def close(self) -> None:
        """Stop; jobs under way finish (each is one transaction, so stopping is always safe)."""
        if self._loop is not None:
            self._loop.cancel()
            await asyncio.wait({self._loop})
        await self._jobs.wait()
        self._fold.close()

    def logged(self, batch: Mapping[str, Sequence[bytes]]) -> None:
        """The writer stored these rows: compact a chain once its log passes the threshold."""
        for chain_id, rows in batch.items():
            count, size = self._logged.get(chain_id, (0, 0))
            count, size = count + len(rows), size + sum(len(row) for row in rows)
            if count >= self._compact_rows or size >= self._compact_bytes:
                self._logged.pop(chain_id, None)
                self._spawn(self.fold(chain_id))
            else:
                self._logged[chain_id] = (count, size)

    def unloaded(self, chain_id: str) -> None:
        """A room was unloaded: once its changes are stored, snapshot it if it changed."""
        self._spawn(self._snapshot_unloaded(chain_id))

    async def _snapshot_unloaded(self, chain_id: str) -> None:
        await self._flush(chain_id)
        await self.fold(chain_id, snapshot_reason="unload")

    async def fold(
        self,
        chain_id: str,
        *,
        snapshot_reason: str | None = None,
        actor: str | None = None,
        label: str | None = None,
    ) -> SnapshotInfo | None:
        """Compact the chain's log; with a reason, also snapshot it. Automatic snapshots
        (periodic, unload) are only taken when the chain changed since its last snapshot."""
        automatic = snapshot_reason in ("periodic", "unload")
        async with self._locks.setdefault(chain_id, asyncio.Lock()):
            started = time.perf_counter()
            snapshot = await self._store.fold(
                chain_id,
                self._fold,
                snapshot_reason=snapshot_reason,
                actor=actor,
                label=label,
                only_if_changed=automatic,
            )
            log.debug(
                "chain %s: folded%s in %.1f ms",
                chain_id,
                f" with a {snapshot_reason} snapshot" if snapshot else "",
                (time.perf_counter() - started) * 1000,
            )
        lock = self._locks.get(chain_id)
        if lock is not None and not lock.locked():
            del self._locks[chain_id]
        return snapshot

    async def snapshot_changed_chains(self) -> int:
        """A periodic snapshot of every chain changed since its last snapshot."""
        taken = 0
        for chain_id in await self._store.changed_since_snapshot():
            if await self.fold(chain_id, snapshot_reason="periodic") is not None:
                taken += 1
        return taken

    async def compact_long_logs(self) -> int:
        """Compact every chain whose log is past the threshold (say, after a restart)."""
        long_logs = [
            chain_id
            for chain_id, (rows, size) in (await self._store.log_sizes()).items()
            if rows >= self._compact_rows or size >= self._compact_bytes
        ]
        for chain_id in long_logs:
            await self.fold(chain_id)
        return len(long_logs)

    async def thin_snapshots(self) -> int:
        now = now_ms()
        candidates = await self._store.thinning_candidates(now - self._retention.keep_all_ms)
        doomed = [
            snapshot_id
            for snapshots in candidates.values()
            for snapshot_id in expired(snapshots, now, self._retention)
        ]
        return await self._store.thin_snapshots(doomed)

    async def _run(self) -> None:
        await self._guarded(self.compact_long_logs)
        while True:
            await self._clock.sleep(self._interval_s)
            await self._guarded(self.snapshot_changed_chains)
            await self._guarded(self.thin_snapshots)

    async def _guarded(self, job: Callable[[], Awaitable[int]]) -> None:
        name = job.__name__.replace("_", " ")
        try:
            done = await job()
        except Exception:
            # The database may be away; the next round tries again.
            log.warning("%s failed; trying again next round", name, exc_info=True)
        else:
            if done:
                log.info("%s: %d", name, done)

    def _spawn(self, job: Coroutine[Any, Any, object]) -> None:
        self._jobs.spawn(_logging_failure(job))


async def _logging_failure(job: Coroutine[Any, Any, object]) -> None:
    try:
        await job
    except Exception:
        # Nothing is lost: the log stays as it was and the next threshold or round retries.
        log.warning("chain upkeep failed", exc_info=True)

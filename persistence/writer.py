"""Write-behind buffer between the live rooms and the store.

Rooms hand over every accepted update with `add()`, which only appends to memory. A background
task writes what has gathered after a short batching window, one merged row per chain, all
chains in one transaction. Nothing leaves the buffer before its transaction has committed, so a
failed write (Postgres away) is retried with backoff until it succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from mapper.core.clock import Clock
from mapper.core.tasks import Tasks
from mapper.persistence.folding import merge
from mapper.persistence.store import Store

log = logging.getLogger(__name__)

OnFlush = Callable[[float, int, int], None]
"""Called after each write with (seconds, rows written, updates they hold)."""
OnStored = Callable[[Mapping[str, Sequence[bytes]]], None]
"""Called after each write with the rows it stored, per chain."""


class UpdateWriter:
    retry_first_s = 0.1
    retry_max_s = 5.0

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock,
        tasks: Tasks,
        flush_ms: int = 250,
        on_flush: OnFlush | None = None,
        on_stored: OnStored | None = None,
    ):
        self._store = store
        self._tasks = tasks
        self._clock = clock
        self._on_stored = on_stored
        # Half the budget for gathering (fewer, larger writes); the rest for the round trip.
        self._window_s = flush_ms / 2 / 1000
        self._on_flush = on_flush
        # Per chain, in arrival order: (sequence number, update). Numbers grow across all
        # chains, so flush() can tell what was pending when it was called.
        self._pending: dict[str, list[tuple[int, bytes]]] = {}
        self._seq = 0
        self._count = 0
        self._wake = asyncio.Event()
        self._hurry = asyncio.Event()
        self._written = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._healthy = True
        self._failing_since = 0.0

    @property
    def healthy(self) -> bool:
        """False from a failed write until the next successful one."""
        return self._healthy

    @property
    def pending_count(self) -> int:
        """Updates accepted but not yet committed."""
        return self._count

    def add(self, chain_id: str, update: bytes) -> None:
        if self._closed:
            raise RuntimeError("the update writer is closed; this update would be lost")
        self._seq += 1
        self._pending.setdefault(chain_id, []).append((self._seq, update))
        self._count += 1
        self._wake.set()

    def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the update writer is already started")
        self._task = self._tasks.spawn(self._run(), name="update-writer")

    async def flush(self, chain_id: str | None = None) -> None:
        """Return once every update pending now (for `chain_id`, or all) is committed.

        Skips the batching window, and waits through retries for as long as it takes; wrap it
        in a timeout to bound it.
        """
        if chain_id is None:
            target = self._seq
        else:
            entries = self._pending.get(chain_id)
            target = entries[-1][0] if entries else 0
        if self._written_through(chain_id, target):
            return
        task = self._task
        if task is None:
            raise RuntimeError("start() the update writer before flushing it")
        self._hurry.set()
        async with self._written:
            await self._written.wait_for(
                lambda: task.done() or self._written_through(chain_id, target)
            )
        if not self._written_through(chain_id, target):
            raise RuntimeError("the update writer stopped before these updates were written")

    async def close(self, timeout: float = 10.0) -> None:
        """Write everything still pending, retrying for up to `timeout` seconds; then stop."""
        if self._closed:
            return
        if self._task is None and self._pending:
            self.start()
        self._closed = True
        task = self._task
        if task is None:
            return
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.error(
                "gave up writing after %.1f s: %d updates for %d chains are LOST",
                timeout,
                self._count,
                len(self._pending),
            )
        finally:
            task.cancel()
            # wait() rather than awaiting the task: it does not swallow a cancel of close().
            await asyncio.wait({task})
            async with self._written:
                self._written.notify_all()

    async def _run(self) -> None:
        delay = self.retry_first_s
        while True:
            await self._wake.wait()
            # Let a burst gather into one write, unless someone waits in flush().
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._hurry.wait(), self._window_s)
            self._hurry.clear()
            self._wake.clear()
            try:
                await self._write()
            except Exception as error:
                self._failed(error)
                self._wake.set()  # everything is still pending
                await self._clock.sleep(delay)
                delay = min(delay * 2, self.retry_max_s)
            else:
                delay = self.retry_first_s
                self._recovered()

    async def _write(self) -> None:
        taken = {chain_id: len(entries) for chain_id, entries in self._pending.items()}
        if not taken:
            return
        started = time.perf_counter()
        batch = {
            chain_id: merge([update for _, update in self._pending[chain_id][:count]])
            for chain_id, count in taken.items()
        }
        await self._store.append_updates(batch)
        seconds = time.perf_counter() - started
        # Updates added while the transaction ran sit behind the taken ones; they stay.
        for chain_id, count in taken.items():
            entries = self._pending[chain_id]
            del entries[:count]
            if not entries:
                del self._pending[chain_id]
        updates = sum(taken.values())
        self._count -= updates
        async with self._written:
            self._written.notify_all()
        try:
            if self._on_flush is not None:
                self._on_flush(seconds, sum(len(rows) for rows in batch.values()), updates)
            if self._on_stored is not None:
                self._on_stored(batch)
        except Exception:
            log.exception("a hook after the write failed")

    def _written_through(self, chain_id: str | None, target: int) -> bool:
        """True when no update of the chain (or of any chain) numbered up to target is pending."""
        if chain_id is None:
            return all(entries[0][0] > target for entries in self._pending.values())
        entries = self._pending.get(chain_id)
        return not entries or entries[0][0] > target

    def _failed(self, error: Exception) -> None:
        if self._healthy:
            self._healthy = False
            self._failing_since = self._clock.monotonic()
            log.warning(
                "database write failed; keeping %d updates and retrying: %s", self._count, error
            )
        else:
            log.debug("database write failed again: %s", error)

    def _recovered(self) -> None:
        if not self._healthy:
            self._healthy = True
            log.warning(
                "database writes recovered after %.1f s",
                self._clock.monotonic() - self._failing_since,
            )

"""The presence-gated sync engine: refresh a user's characters from ESI only while the user
is present, per dataset cadence, within ESI's rules and our own rate limits.

How work flows:
- A user becoming present marks their subjects (one per dataset) wanted and dispatches the
  ones whose data is stale.
- A finished run is due again after the dataset's cadence (never before ESI's `Expires`); if
  the user is still present here, a timer dispatches it then.
- A scanner pass every `sync_scan_interval_s` renews the wanted mark of users present here,
  picks up due subjects (those of other processes' users too, and runs that died), and
  deletes subjects unseen for `sync_forget_after_s`.
- Dispatched subjects queue for a pool of `sync_workers`; each run waits for its user's
  token bucket, claims the subject in the database (so two processes never run it at
  once), fetches every character and hands the answers to `LiveStatus`.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from mapper.core.clock import Clock
from mapper.core.metrics import Metrics
from mapper.core.tasks import Tasks
from mapper.persistence.sync_store import Subject, SyncStore
from mapper.presence.tracker import PresenceTracker
from mapper.sync.datasets import Dataset, Fetched
from mapper.sync.esi import EsiClient, EsiError, TokenRefused
from mapper.sync.live import LiveStatus
from mapper.sync.ratelimit import RateLimiter
from mapper.sync.tokens import Grant, TokenProviderError, Tokens

log = logging.getLogger("mapper.sync")

MAX_BACKOFF_S = 300.0
FORGET_EVERY_S = 3600.0

Key = tuple[str, str]  # (dataset, user id)


def ms(seconds: float) -> int:
    return int(seconds * 1000)


@dataclass(frozen=True)
class SyncSettings:
    """The engine's share of the service's settings (`MAPPER_SYNC_*`, `MAPPER_COLD_AFTER_S`)."""

    workers: int
    scan_interval_s: float
    scan_limit: int
    cold_after_s: float
    stale_run_s: float
    forget_after_s: float
    rate_per_minute: float
    rate_burst: int


class SyncEngine:
    def __init__(
        self,
        settings: SyncSettings,
        *,
        datasets: dict[str, Dataset],
        store: SyncStore,
        tracker: PresenceTracker,
        live: LiveStatus,
        tokens: Tokens,
        esi: EsiClient,
        clock: Clock,
        metrics: Metrics,
        tasks: Tasks,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._datasets = datasets
        self._store = store
        self._tracker = tracker
        self._live = live
        self._tokens = tokens
        self._esi = esi
        self._clock = clock
        self._limiter = RateLimiter(
            clock, rate_per_minute=settings.rate_per_minute, burst=settings.rate_burst
        )
        self._queue: asyncio.Queue[Key] = asyncio.Queue()
        self._queued: set[Key] = set()
        self._timers: dict[Key, asyncio.Task[None]] = {}
        self._tasks = tasks  # workers, the scanner, timers
        self._jobs = tasks.group("jobs")  # work dispatched outside the queue
        self._hot: set[str] = set()
        # Tokens ESI refused: not tried again (each refusal costs ESI error budget) until the
        # provider grants a new one. Memory only, like every token.
        self._refused: dict[str, float] = {}  # token -> when it expires anyway
        self._forgotten_at = 0.0
        self.runs = 0
        self.last_scan_s = 0.0  # how long the last scanner pass took (wall time)

    def start(self) -> None:
        self._tracker.listen(self._presence_changed)
        for number in range(self._settings.workers):
            self._tasks.spawn(self._work(), name=f"sync-worker-{number}")
        self._tasks.spawn(self._scan_loop(), name="sync-scanner")

    async def close(self) -> None:
        await self._tasks.close()
        await self._tokens.aclose()

    async def settled(self) -> None:
        """Wait until nothing dispatched is left to run (for tests and simulations)."""
        while self._jobs or self._queued:
            await self._jobs.wait()
            await self._queue.join()

    # Presence

    def _presence_changed(self, user_id: str) -> None:
        if self._tracker.is_present(user_id):
            if user_id not in self._hot:
                self._hot.add(user_id)
                self._spawn(self._welcome(user_id))
        elif user_id in self._hot:
            self._hot.discard(user_id)
            for key in [key for key in self._timers if key[1] == user_id]:
                self._timers.pop(key).cancel()
            self._live.unload_user(user_id)
        self._live.refresh_pilots(user_id)

    async def _welcome(self, user_id: str) -> None:
        try:
            await self._live.load_user(user_id)
            await self._store.request(user_id, self._datasets, ms(self._clock.now()))
        except Exception:
            log.exception("sync: could not start live status for user %s", user_id)
            return
        self._live.refresh_pilots(user_id)
        for dataset in self._datasets:
            self.dispatch(dataset, user_id)

    # Scanner

    async def _scan_loop(self) -> None:
        while True:
            await self._clock.sleep(self._settings.scan_interval_s)
            try:
                await self.scan()
            except Exception:
                log.exception("sync: scanner pass failed; the next one tries again")

    async def scan(self) -> int:
        """One scanner pass; how many subjects it dispatched."""
        started = time.perf_counter()
        settings = self._settings
        now = self._clock.now()
        self._tracker.sweep()
        present = self._tracker.present_users()
        self._metrics.present_users.set(len(present))
        await self._store.touch(present, ms(now))
        due = await self._store.due(
            ms(now),
            hot_since=ms(now - settings.cold_after_s),
            stale_before=ms(now - settings.stale_run_s),
            limit=settings.scan_limit,
        )
        for dataset, user_id in due:
            self.dispatch(dataset, user_id)
        if now - self._forgotten_at >= FORGET_EVERY_S:
            self._forgotten_at = now
            forgotten = await self._store.forget(ms(now - settings.forget_after_s))
            if forgotten:
                log.info("sync: forgot %d subject(s) of users unseen for long", forgotten)
            self._limiter.prune()
        self._refused = {token: at for token, at in self._refused.items() if at > now}
        self.last_scan_s = time.perf_counter() - started
        return len(due)

    # Dispatch and runs

    def dispatch(self, dataset: str, user_id: str) -> None:
        key = (dataset, user_id)
        if dataset not in self._datasets or key in self._queued:
            return
        self._queued.add(key)
        self._queue.put_nowait(key)

    async def _work(self) -> None:
        while True:
            key = await self._queue.get()
            try:
                await self._run(*key)
            except Exception:
                log.exception("sync: run of %s for user %s failed", *key)
            finally:
                self._queued.discard(key)
                self._queue.task_done()

    async def _run(self, name: str, user_id: str) -> None:
        if self._tracker.absent_here(user_id):
            # Gone idle or away since the run was armed, and the scanner's sweep has not told
            # us yet: cool the user now, or a return before that sweep would find them still
            # hot, with no timer left, and wait for the next scan.
            if user_id in self._hot:
                self._presence_changed(user_id)
            return
        dataset = self._datasets[name]
        await self._limiter.take((dataset.group, user_id))
        now = self._clock.now()
        work_id = uuid.uuid4().hex
        subject = await self._store.claim(
            name,
            user_id,
            work_id,
            ms(now),
            stale_before=ms(now - self._settings.stale_run_s),
        )
        if subject is None:
            # Not due yet (a page reloaded since the last read), or running elsewhere. A timer
            # for when it is due keeps a returning user's reads at their cadence; a subject
            # overdue and running elsewhere is the scanner's to hand out again.
            due_at = await self._store.next_due_at(name, user_id)
            if due_at is not None and due_at > ms(now) and user_id in self._hot:
                self._arm((name, user_id), due_at / 1000)
            return
        self.runs += 1
        self._metrics.sync_runs.labels(dataset=name).inc()
        next_due, min_expires, failures, synced = await self._fetch(dataset, subject)
        await self._store.finish(
            subject,
            work_id,
            next_due_at=ms(next_due),
            min_expires_at=ms(min_expires),
            failures=failures,
            synced_character_ids=synced,
        )
        if user_id in self._hot:
            self._arm((name, user_id), next_due)

    async def _fetch(
        self, dataset: Dataset, subject: Subject
    ) -> tuple[float, float, int, list[int]]:
        """Read every character of the subject's user; (next due, min expires, failures,
        synced character ids)."""
        user_id = subject.user_id
        now = self._clock.now()
        try:
            grants = await self._tokens.grants(user_id, dataset.group)
        except TokenProviderError as error:
            log.warning("sync: no tokens for user %s: %s", user_id, error)
            return self._backoff(dataset, subject, None)
        usable = [g for g in grants if g.access_token and g.access_token not in self._refused]
        results = await asyncio.gather(*(self._read(dataset, grant) for grant in usable))
        answers: dict[int, dict[str, Any] | None] = {}
        refused = [g.character_id for g in grants if g.access_token in self._refused]
        retry_at: list[float] = []
        expires: list[float] = []
        for grant, result in zip(usable, results, strict=True):
            if isinstance(result, Fetched):
                answers[grant.character_id] = result.fields
                expires.append(result.expires_at)
            elif isinstance(result, TokenRefused):
                log.warning("sync: ESI refused the token of character %s", grant.character_id)
                assert grant.access_token is not None
                self._refused[grant.access_token] = grant.expires_at
                refused.append(grant.character_id)
            elif result.retry_at is not None:
                retry_at.append(result.retry_at)
        done = self._clock.now()
        await self._live.apply(user_id, grants, answers, refused, done, located=dataset.locates)
        if usable and not answers and not refused:
            return self._backoff(dataset, subject, min(retry_at, default=None))
        # A character ESI asked to wait is held back by the ESI client itself; the others
        # keep their cadence.
        min_expires = min(expires, default=now)
        next_due = max(now + dataset.cadence_s, min_expires)
        return next_due, min_expires, 0, sorted(answers)

    async def _read(self, dataset: Dataset, grant: Grant) -> Fetched | EsiError:
        assert grant.access_token is not None
        try:
            return await dataset.read(self._esi, grant.character_id, grant.access_token)
        except EsiError as error:
            if not isinstance(error, TokenRefused):
                log.info("sync: %s of character %s: %s", dataset.name, grant.character_id, error)
            return error

    def _backoff(
        self, dataset: Dataset, subject: Subject, retry_at: float | None
    ) -> tuple[float, float, int, list[int]]:
        failures = subject.failures + 1
        now = self._clock.now()
        delay = min(dataset.cadence_s * 2**failures, MAX_BACKOFF_S)
        next_due = max(now + delay, retry_at or 0.0)
        return next_due, subject.min_expires_at / 1000, failures, subject.synced_character_ids

    def _arm(self, key: Key, at: float) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = self._tasks.spawn(self._dispatch_at(key, at))

    async def _dispatch_at(self, key: Key, at: float) -> None:
        await self._clock.sleep(at - self._clock.now())
        self._timers.pop(key, None)
        if key[1] in self._hot:
            self.dispatch(*key)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self._jobs.spawn(work)

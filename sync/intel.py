"""The intel document (`/ws/intel`): EVE-Scout's Thera and Turnur connections and the last
hour's activity of the systems on open chains, for every signed-in user.

Polled only while someone is present in this process, each source no faster than it allows
(EVE-Scout: every 5 minutes or its cache headers, whichever is longer; ESI: its `Expires`),
and ESI only while a present user has a chain open. The last good answers live in memory:
the data is public, the same for everyone and stale within the hour, so after a restart one
poll of each source rebuilds it, which is cheaper than keeping it in the database.

The document is a whiteboard: each round it is compared with what memory says it should
hold, and only the differences are written (an unchanged poll writes nothing and wakes
nobody). A room that loads starts from memory as it is then. Expired connections and
systems no longer open leave it at the next round, poll or not.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from pycrdt import Doc, Map

from mapper.core import ids
from mapper.core.clock import Clock
from mapper.core.metrics import Metrics
from mapper.core.tasks import Tasks
from mapper.presence.tracker import PresenceTracker
from mapper.sync.activity import (
    JUMPS_PATH,
    KILLS_PATH,
    Jumps,
    Kills,
    activity,
    parse_jumps,
    parse_kills,
)
from mapper.sync.esi import EsiClient, EsiError
from mapper.sync.evescout import MIN_INTERVAL_S, EveScoutClient, EveScoutError, ScoutConnection
from mapper.sync.live import LiveDocuments

log = logging.getLogger("mapper.sync.intel")

INTEL_ROOM = "intel"
EVE_SCOUT = "eveScout"
ACTIVITY = "activity"
ROUND_S = 5.0  # how often expiry and open systems are looked at (no network involved)
ESI_FLOOR_S = 60.0  # when ESI names no `Expires` or fails without saying when to retry

Fields = dict[str, Any]


class Intel:
    def __init__(
        self,
        *,
        rooms: LiveDocuments,
        tracker: PresenceTracker,
        esi: EsiClient | None,
        eve_scout: EveScoutClient | None,
        clock: Clock,
        metrics: Metrics,
        tasks: Tasks,
    ) -> None:
        self._rooms = rooms
        self._polls = metrics.intel_polls
        self._tracker = tracker
        self._esi = esi
        self._eve_scout = eve_scout
        self._clock = clock
        self._tasks = tasks
        self._scout: dict[str, ScoutConnection] = {}
        self._scout_due = 0.0
        self._kills: Kills | None = None
        self._jumps: Jumps | None = None
        self._esi_due = {KILLS_PATH: 0.0, JUMPS_PATH: 0.0}
        self._anyone_present = False  # at the last round
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self.writes = 0  # changes written to the document, for tests

    def start(self) -> None:
        self._tracker.listen(self._presence_changed)
        self._tasks.spawn(self._loop(), name="intel")

    async def close(self) -> None:
        await self._tasks.close()
        if self._eve_scout is not None:
            await self._eve_scout.aclose()

    async def settled(self) -> None:
        """Wait until the current round is done (for tests and simulations)."""
        for _ in range(20):  # let a round that was just woken begin
            await asyncio.sleep(0)
        await self._idle.wait()

    def connections(self) -> list[ScoutConnection]:
        """The EVE-Scout connections that have not expired, for routes."""
        now_ms = self._clock.now() * 1000
        return [c for c in self._scout.values() if c.expires_at > now_ms]

    async def document(self, room_key: str) -> list[bytes]:
        """The document as memory has it now (the room's `load` hook)."""
        doc = Doc()
        with doc.transaction():
            for root, entries in self._wanted(self._open_systems()).items():
                target = doc.get(root, type=Map)
                for key, fields in entries.items():
                    target[key] = Map(fields)
        return [doc.get_update()]

    # The loop

    def _presence_changed(self, user_id: str) -> None:
        # The first present user is served at once; later changes wait for the next round.
        if not self._anyone_present and self._tracker.is_present(user_id):
            self._wake.set()

    async def _loop(self) -> None:
        while True:
            self._idle.clear()
            self._wake.clear()  # this round serves whoever woke it
            try:
                await self._round()
            except Exception:
                log.exception("intel: round failed; the next one tries again")
            self._idle.set()
            await self._wait(ROUND_S)

    async def _wait(self, seconds: float) -> None:
        """Sleep on the service's clock, or until presence changes."""
        sleeping = asyncio.ensure_future(self._clock.sleep(seconds))
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeping, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            woken.cancel()

    async def _round(self) -> None:
        self._anyone_present = bool(self._tracker.present_users())
        if self._anyone_present:
            if self._eve_scout is not None and self._clock.now() >= self._scout_due:
                await self._poll_eve_scout(self._eve_scout)
            if self._esi is not None and self._open_systems():
                await self._poll_activity(self._esi)
        self._publish()

    async def _poll_eve_scout(self, client: EveScoutClient) -> None:
        try:
            answer = await client.signatures(self._clock.now())
        except EveScoutError as error:
            log.warning("intel: %s; keeping the last good answer", error)
            self._polls.labels(source="evescout", result="refused").inc()
            self._scout_due = self._clock.now() + MIN_INTERVAL_S
            return
        changed = answer.connections != self._scout
        self._polls.labels(source="evescout", result="new" if changed else "unchanged").inc()
        self._scout = answer.connections
        self._scout_due = self._clock.now() + max(MIN_INTERVAL_S, answer.lasts_s)

    async def _poll_activity(self, esi: EsiClient) -> None:
        for path in (KILLS_PATH, JUMPS_PATH):
            now = self._clock.now()
            if now < self._esi_due[path]:
                continue
            try:
                read = await esi.get(path)
                self._esi_due[path] = max(read.expires_at, now + ESI_FLOOR_S)
                if not read.fresh:
                    self._polls.labels(source="esi", result="unchanged").inc()
                    continue
                if path == KILLS_PATH:
                    self._kills = parse_kills(read.body)
                else:
                    self._jumps = parse_jumps(read.body)
                self._polls.labels(source="esi", result="new").inc()
            except EsiError as error:
                log.info("intel: %s; keeping the last good answer", error)
                self._polls.labels(source="esi", result="refused").inc()
                self._esi_due[path] = max(
                    error.retry_at or 0.0, self._esi_due[path], now + ESI_FLOOR_S
                )

    # The document

    def _open_systems(self) -> set[int]:
        """The systems on the chains that present users here have open."""
        rooms: set[str] = set()
        for user_id in self._tracker.present_users():
            rooms |= self._tracker.connected_chain_rooms(user_id)
        systems: set[int] = set()
        for key in rooms:
            room = self._rooms.get(key)
            if room is not None:
                for system in room.doc.get("systems", type=Map).keys():
                    number = ids.number(system, ids.MAX_EVE_ID)
                    if number is not None:
                        systems.add(number)
        return systems

    def _wanted(self, systems: Iterable[int]) -> dict[str, dict[str, Fields]]:
        """What the document should hold now."""
        known = self._kills is not None or self._jumps is not None
        return {
            EVE_SCOUT: {
                key: connection.live_fields()
                for key, connection in self._scout.items()
                if connection.expires_at > self._clock.now() * 1000
            },
            ACTIVITY: {
                str(system): activity(system, self._kills, self._jumps).live_fields()
                for system in (sorted(systems) if known else ())
            },
        }

    def _publish(self) -> None:
        now_ms = self._clock.now() * 1000
        self._scout = {k: c for k, c in self._scout.items() if c.expires_at > now_ms}
        room = self._rooms.get(INTEL_ROOM)
        if room is None:
            return
        changes = {
            root: _changes(room.doc.get(root, type=Map), entries)
            for root, entries in self._wanted(self._open_systems()).items()
        }
        if not any(gone or fresh or edited for gone, fresh, edited in changes.values()):
            return

        def write(doc: Doc) -> None:
            with doc.transaction():
                for root, (gone, fresh, edited) in changes.items():
                    target = doc.get(root, type=Map)
                    for key in gone:
                        del target[key]
                    for key, fields in fresh.items():
                        target[key] = Map(fields)
                    for key, fields in edited.items():
                        entry = target[key]
                        assert isinstance(entry, Map)
                        for name, value in fields.items():
                            entry[name] = value

        room.edit(write)
        self.writes += 1


def _changes(
    current: Map, wanted: Mapping[str, Fields]
) -> tuple[list[str], dict[str, Fields], dict[str, Fields]]:
    """(keys to delete, entries to add, changed fields of entries to keep)."""
    gone = [key for key in current.keys() if key not in wanted]
    fresh: dict[str, Fields] = {}
    edited: dict[str, Fields] = {}
    for key, fields in wanted.items():
        entry = current.get(key)
        if not isinstance(entry, Map):
            fresh[key] = fields
            continue
        held = entry.to_py() or {}
        changed = {name: value for name, value in fields.items() if held.get(name, ...) != value}
        if changed:
            edited[key] = changed
    return gone, fresh, edited

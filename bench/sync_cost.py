"""What presence-gated sync costs: 10,000 linked characters across 3,000 users (10,000 sync
subjects in the database), 50 users present with 3 characters each, 10 simulated minutes.

The service runs in-process on a hand-driven clock against the tests' fake ESI and token
provider (real HTTP on loopback, real SQLite). Prints the ESI calls made (and for whom),
the shortest gap between two calls of one route for one character, the live writes, and
how long a scanner pass takes at 10,000 subjects.

    python -m bench.sync_cost [--minutes 10] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from mapper.core.clock import ManualClock
from mapper.persistence.sync_store import SyncStore
from mapper.service import Service
from mapper.settings import Settings
from tests.fake_eve import SECRET, FakeEve, Pilot

USERS, CHARACTERS, PRESENT, PER_PRESENT = 3000, 10_000, 50, 3
SUBJECT_USERS = 5000  # users seen this week: two subjects each


class Tab:
    """A browser tab, as far as presence is concerned."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id


async def main(minutes: float, database_url: str | None) -> None:
    clock = ManualClock()
    eve = FakeEve(clock)
    characters = itertools.count(90_000_000)
    # The present users have 3 characters each; the rest share what is left.
    for user in range(USERS):
        count = PER_PRESENT if user < PRESENT else 0
        for _ in range(count):
            eve.add(Pilot(next(characters), f"user{user}", "pilot"))
    rest = CHARACTERS - PRESENT * PER_PRESENT
    for n in range(rest):
        eve.add(Pilot(next(characters), f"user{PRESENT + n % (USERS - PRESENT)}", "pilot"))
    await eve.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            data_dir=Path(folder),
            database_url=database_url or f"sqlite+aiosqlite:///{folder}/bench.db",
            token_provider_url=eve.provider_url,
            token_provider_secret=SECRET,
            esi_base_url=eve.esi_url,
        )
        service = Service(settings, clock)
        await service.start()
        try:
            await run(service, eve, clock, minutes)
        finally:
            await service.stop()
            await eve.stop()


async def run(service: Service, eve: FakeEve, clock: ManualClock, minutes: float) -> None:
    assert service.sync is not None
    store = SyncStore(service.store.engine)
    long_ago = int((clock.now() - 3 * 86400) * 1000)
    for user in range(SUBJECT_USERS):
        await store.request(f"user{user}", ("onlineStatus", "location"), long_ago)
    present = [f"user{user}" for user in range(PRESENT)]
    for user_id in present:
        await service.rooms.open(f"user:{user_id}", service.user_rooms)
    tabs = [Tab(user_id) for user_id in present]

    def renew() -> None:
        for tab in tabs:
            service.presence.seen(
                tab,
                user_id=tab.user_id,
                room_key=f"user:{tab.user_id}",
                chain=False,
                can_edit=False,
                states=[{"visible": True}],
            )

    renew()
    scans: list[float] = []
    started = time.perf_counter()
    for second in range(int(minutes * 60)):
        if second % 15 == 0:
            renew()
        before = service.sync.last_scan_s
        await clock.advance(1)
        await service.sync.settled()
        if service.sync.last_scan_s != before:
            scans.append(service.sync.last_scan_s)
        if second == 30:
            writes_after_first_reads = service.live.live_writes
    elapsed = time.perf_counter() - started
    report(eve, service, minutes, elapsed, writes_after_first_reads, scans)
    timed = []
    for _ in range(20):
        begun = time.perf_counter()
        await service.sync.scan()
        timed.append(time.perf_counter() - begun)
    print(
        f"scanner pass at {SUBJECT_USERS * 2} subjects: median "
        f"{statistics.median(timed) * 1000:.2f} ms, max {max(timed) * 1000:.2f} ms "
        f"(during the run: median {statistics.median(scans) * 1000:.2f} ms, "
        f"max {max(scans) * 1000:.2f} ms over {len(scans)} passes)"
    )


def report(
    eve: FakeEve,
    service: Service,
    minutes: float,
    elapsed: float,
    writes_after_first_reads: int,
    scans: list[float],
) -> None:
    present_characters = {
        pilot.character_id
        for pilot in eve.pilots.values()
        if int(pilot.user_id.removeprefix("user")) < PRESENT
    }
    called = {call.character_id for call in eve.calls}
    times: dict[tuple[str, int], list[float]] = defaultdict(list)
    for call in eve.calls:
        times[(call.route, call.character_id)].append(call.at)
    shortest: dict[str, float] = {}
    most: dict[str, int] = {}
    for (route, _), at in times.items():
        gaps = [b - a for a, b in itertools.pairwise(at)]
        shortest[route] = min([*gaps, shortest.get(route, float("inf"))])
        most[route] = max(most.get(route, 0), len(at))
    print(
        f"{CHARACTERS} characters of {USERS} users linked; {PRESENT} users present with "
        f"{PER_PRESENT} characters each; {minutes:g} simulated minutes in {elapsed:.1f} s"
    )
    print(
        f"ESI calls: {len(eve.calls)} for {len(called)} characters "
        f"(all present: {called <= present_characters}); token provider asked "
        f"{len(eve.provider_calls)} times"
    )
    for route in ("online", "location", "ship"):
        print(
            f"  {route:8} most calls for one character {most.get(route, 0):4}, "
            f"shortest gap {shortest.get(route, 0):.0f} s"
        )
    statuses = defaultdict(int)
    for call in eve.calls:
        statuses[call.status] += 1
    print(f"  answers by status: {dict(sorted(statuses.items()))}")
    print(
        f"live writes: {writes_after_first_reads} for the first reads, "
        f"{service.live.live_writes - writes_after_first_reads} after (nothing changed); "
        f"sync runs {service.sync.runs if service.sync else 0}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--database-url", default=None)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.minutes, arguments.database_url))

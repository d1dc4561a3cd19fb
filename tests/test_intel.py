"""The intel document (`/ws/intel`) against a fake EVE-Scout and the fake ESI, on a clock the
test drives: Thera and Turnur connections and system activity, polled only while someone is
present, no faster than the sources allow, written only on change."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Map

from mapper.core.clock import ManualClock
from mapper.sync.intel import INTEL_ROOM
from mapper.universe.importer import import_sde
from tests import sde_export
from tests.chains import add_system, create_chain, join, system_ids
from tests.fake_eve import FakeEve, malformed
from tests.fake_evescout import THERA, TURNUR, FakeEveScout, iso, signature
from tests.live_server import LiveServer, until
from tests.sde_export import J123456, JITA, NIARJA, PERIMETER
from tests.server import MapperServer, node
from tests.wire import WireClient
from tests.yclient import YClient


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def eve(clock: ManualClock) -> AsyncIterator[FakeEve]:
    fake = await FakeEve(clock).start()
    yield fake
    await fake.stop()


@pytest.fixture
async def scout(clock: ManualClock) -> AsyncIterator[FakeEveScout]:
    fake = await FakeEveScout(clock).start()
    fake.signatures = [
        signature(46, JITA, clock=clock),
        signature(47, J123456, clock=clock, out_system=TURNUR, wh_type="k162", size="unknown"),
    ]
    yield fake
    await fake.stop()


@pytest.fixture
async def live(
    sqlite_url: str, tmp_path: Path, clock: ManualClock, eve: FakeEve, scout: FakeEveScout
) -> AsyncIterator[LiveServer]:
    settings = {
        "intel": True,
        "evescout_base_url": scout.url,
        "esi_base_url": eve.esi_url,
        "esi_timeout_s": 2.0,
    }
    server = await LiveServer(tmp_path / "data", sqlite_url, clock, settings).start()
    assert server.service is not None
    export = sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())
    await import_sde(server.service.store.engine, export, source="test")
    yield server
    await server.stop()


async def run_for(server: LiveServer, seconds: float, step: float = 5.0) -> None:
    """Let `seconds` of service time pass, a step at a time, each step's round done."""
    assert server.service is not None
    for _ in range(round(seconds / step)):
        await server.renew()
        await server.clock.advance(step)
        await server.service.intel.settled()


def entries(client: WireClient, root: str) -> dict[str, Any]:
    return client.doc.get(root, type=Map).to_py() or {}


async def intel_client(server: LiveServer, token: str) -> WireClient:
    client = await WireClient.connect(server.ws, "/ws/intel", token)
    await client.wait(client.synced.is_set)
    return client


async def chain_with(server: LiveServer, token: str, *systems: int) -> WireClient:
    """An editor's connection (not yet visible) to a new chain holding `systems`."""
    chain = await server.create_chain(token)
    writer = await server.present(f"/ws/chains/{chain}", token, visible=False, client_id=99)
    add_systems(writer, *systems)
    await until(lambda: str(systems[-1]) in chain_systems(server, chain))
    return writer


def add_systems(writer: WireClient, *systems: int) -> None:
    def add(doc: Any) -> None:
        for system_id in systems:
            doc.get("systems", type=Map)[str(system_id)] = Map(
                {"id": system_id, "x": 100, "y": 100, "alias": "", "status": "unknown"}
            )

    writer.edit(add)


def chain_systems(server: LiveServer, chain: str) -> set[str]:
    assert server.service is not None
    room = server.service.rooms.get(chain)
    return set(room.doc.get("systems", type=Map).keys()) if room is not None else set()


def writes(server: LiveServer) -> int:
    assert server.service is not None
    return server.service.intel.writes


async def test_a_present_user_gets_thera_and_turnur(
    live: LiveServer, scout: FakeEveScout, clock: ManualClock
) -> None:
    token = live.token("alice")
    intel = await intel_client(live, token)
    status = await live.present("/ws/users/me", token)
    await until(lambda: len(entries(intel, "eveScout")) == 2)
    now = clock.now()
    assert entries(intel, "eveScout") == {
        "46": {
            "inSystem": JITA,
            "outSystem": THERA,
            "whType": "Q063",
            "size": "medium",
            "inSig": "LPI-677",
            "outSig": "HMM-222",
            "expiresAt": (now + 14 * 3600) * 1000,
            "updatedAt": (now - 1800) * 1000,
        },
        "47": {
            "inSystem": J123456,
            "outSystem": TURNUR,
            "whType": "K162",
            "size": "",
            "inSig": "LPI-677",
            "outSig": "HMM-222",
            "expiresAt": (now + 14 * 3600) * 1000,
            "updatedAt": (now - 1800) * 1000,
        },
    }
    assert len(scout.calls) == 1
    # A tab that opens the document later gets it at once, from memory.
    late = await intel_client(live, live.token("bob"))
    assert entries(late, "eveScout") == entries(intel, "eveScout")
    assert len(scout.calls) == 1
    for client in (intel, status, late):
        await client.close()


@pytest.mark.usefixtures("node_modules")
async def test_an_unchanged_poll_writes_nothing_and_wakes_no_client(
    live: LiveServer, scout: FakeEveScout
) -> None:
    token = live.token("alice")
    async with YClient.start(f"{live.ws}/ws", "intel", token) as client:
        await client.wait_synced()
        status = await live.present("/ws/users/me", token)
        await client.wait_for(["eveScout", "46", "inSystem"], JITA)
        await run_for(live, 10)
        woken, written, calls = await client.updates_received(), writes(live), len(scout.calls)

        await run_for(live, 1200)
        assert len(scout.calls) >= calls + 3, "polling went on"
        gaps = [b - a for a, b in itertools.pairwise(scout.calls)]
        assert min(gaps) >= 300, "max-age=60 is shorter than the 5 minute floor"
        assert await client.updates_received() == woken, "an unchanged poll wakes nobody"
        assert writes(live) == written

        scout.signatures[0]["max_ship_size"] = "large"
        await run_for(live, 300)
        await client.wait_for(["eveScout", "46", "size"], "large")
        assert await client.updates_received() == woken + 1, "one update for one change"
        assert writes(live) == written + 1
        await status.close()


async def test_polling_follows_the_cache_headers_when_they_are_longer(
    live: LiveServer, scout: FakeEveScout
) -> None:
    scout.cache_control = "max-age=900"
    status = await live.present("/ws/users/me", live.token("alice"))
    await until(lambda: len(scout.calls) == 1)
    await run_for(live, 3000)
    gaps = [b - a for a, b in itertools.pairwise(scout.calls)]
    assert len(gaps) >= 2 and min(gaps) >= 900, gaps
    await status.close()


async def test_expired_connections_leave(
    live: LiveServer, scout: FakeEveScout, clock: ManualClock
) -> None:
    token = live.token("alice")
    scout.signatures[1] = signature(47, J123456, clock=clock, hours=0.5)
    intel = await intel_client(live, token)
    status = await live.present("/ws/users/me", token)
    await until(lambda: set(entries(intel, "eveScout")) == {"46", "47"})
    # EVE-Scout still lists it, stale: the service drops it all the same once it has expired.
    await run_for(live, 31 * 60, step=30)
    await until(lambda: set(entries(intel, "eveScout")) == {"46"})
    assert live.service is not None
    assert [c.in_system for c in live.service.intel.connections()] == [JITA]
    for client in (intel, status):
        await client.close()


async def test_nobody_present_no_poll(live: LiveServer, scout: FakeEveScout, eve: FakeEve) -> None:
    token = live.token("alice")
    eve.kills = {JITA: (1, 1, 1)}
    writer = await chain_with(live, token, JITA)
    intel = await intel_client(live, token)
    hidden = await live.present("/ws/users/me", token, visible=False, client_id=2)
    await run_for(live, 900)
    assert scout.calls == [] and eve.calls == [], "open but hidden tabs are not presence"
    assert entries(intel, "eveScout") == {} and entries(intel, "activity") == {}

    await live.show(writer, True)
    await until(lambda: len(entries(intel, "eveScout")) == 2)
    await until(lambda: len(entries(intel, "activity")) == 1)
    assert len(scout.calls) == 1 and len(eve.calls) == 2
    for client in (intel, hidden, writer):
        await client.close()


async def test_a_client_write_is_refused(live: LiveServer, scout: FakeEveScout) -> None:
    token = live.token("alice", admin=True)  # not even a service admin may write
    intel = await intel_client(live, token)
    status = await live.present("/ws/users/me", token)
    await until(lambda: len(entries(intel, "eveScout")) == 2)

    def forge(doc: Any) -> None:
        doc.get("eveScout", type=Map)["999"] = Map({"inSystem": JITA, "outSystem": NIARJA})
        del doc.get("eveScout", type=Map)["46"]

    intel.edit(forge)
    await until(lambda: len(intel.denied) == 1)
    assert live.service is not None
    room = live.service.rooms.get(INTEL_ROOM)
    assert room is not None
    assert set(room.doc.get("eveScout", type=Map).keys()) == {"46", "47"}
    later = await intel_client(live, live.token("bob"))
    assert set(entries(later, "eveScout")) == {"46", "47"}, "nothing was broadcast"
    for client in (intel, status, later):
        await client.close()


async def test_activity_of_open_chains_only(
    live: LiveServer, eve: FakeEve, clock: ManualClock
) -> None:
    eve.kills = {JITA: (3, 1, 10), PERIMETER: (5, 0, 0), J123456: (0, 0, 2)}
    eve.jumps = {JITA: 400, NIARJA: 20, PERIMETER: 7}
    token = live.token("alice")
    scout_tab = await chain_with(live, token, JITA, J123456)
    intel = await intel_client(live, token)
    await live.show(scout_tab, True)
    await until(lambda: len(entries(intel, "activity")) == 2)
    assert entries(intel, "activity") == {
        str(JITA): {"shipKills": 3, "podKills": 1, "npcKills": 10, "jumps": 400},
        str(J123456): {"shipKills": 0, "podKills": 0, "npcKills": 2, "jumps": 0},
    }
    assert {c.route for c in eve.calls} == {"system_kills", "system_jumps"}
    assert len(eve.calls) == 2, "one call each for the whole universe"

    add_systems(scout_tab, PERIMETER)  # on the map: it joins at the next round, no new call
    await run_for(live, 5)
    await until(lambda: str(PERIMETER) in entries(intel, "activity"))
    assert entries(intel, "activity")[str(PERIMETER)]["jumps"] == 7
    assert len(eve.calls) == 2

    # The chain is closed; its owner is still present elsewhere: its systems leave.
    status = await live.present("/ws/users/me", token, client_id=3)
    await scout_tab.close()
    await run_for(live, 5)
    await until(lambda: entries(intel, "activity") == {})
    for client in (intel, status):
        await client.close()


async def test_activity_is_read_no_faster_than_expires(live: LiveServer, eve: FakeEve) -> None:
    eve.kills = {JITA: (1, 0, 0)}
    token = live.token("alice")
    scout_tab = await chain_with(live, token, JITA)
    intel = await intel_client(live, token)
    await live.show(scout_tab, True)
    await until(lambda: len(eve.calls) == 2)
    await until(lambda: str(JITA) in entries(intel, "activity"))

    eve.kills = {JITA: (2, 0, 0)}
    await run_for(live, 3590, step=10)
    assert len(eve.calls) == 2, "ESI's Expires is an hour away"
    assert entries(intel, "activity")[str(JITA)]["shipKills"] == 1
    written = writes(live)

    await run_for(live, 20, step=10)
    await until(lambda: entries(intel, "activity")[str(JITA)]["shipKills"] == 2)
    kills = [c for c in eve.calls if c.route == "system_kills"]
    jumps = [c for c in eve.calls if c.route == "system_jumps"]
    assert [c.status for c in kills] == [200, 200]
    assert [c.status for c in jumps] == [200, 304], "unchanged: If-None-Match was sent"
    assert kills[1].at - kills[0].at >= 3600
    assert writes(live) == written + 1
    for client in (intel, scout_tab):
        await client.close()


async def test_a_bad_answer_keeps_the_last_good_data(
    live: LiveServer,
    scout: FakeEveScout,
    eve: FakeEve,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="mapper.sync")
    eve.kills = {JITA: (1, 0, 0)}
    eve.cache_s.update(system_kills=300, system_jumps=300)
    token = live.token("alice")
    scout_tab = await chain_with(live, token, JITA)
    intel = await intel_client(live, token)
    await live.show(scout_tab, True)
    await until(lambda: len(entries(intel, "eveScout")) == 2)
    await until(lambda: str(JITA) in entries(intel, "activity"))
    before = (entries(intel, "eveScout"), entries(intel, "activity"))
    good = signature(46, JITA, clock=clock)
    wrong = [
        {**good, "in_system_id": "Jita"},
        {**good, "expires_at": 12},
        {**good, "id": None},
        {**good, "max_ship_size": ["large"]},
        {**good, "in_signature": "<script>"},
    ]
    scout.scripted.extend(
        [
            b"{not json",
            b'{"signatures": []}',
            b"[" + b" " * (2 * 1024 * 1024) + b"]",  # over the 1 MiB bound
            json.dumps([good] * 1001).encode(),
            *(json.dumps([bad]).encode() for bad in wrong),
        ]
    )
    eve.scripted.extend([malformed(), (200, {}, '[{"system_id": "Jita"}]')])
    await run_for(live, 300 * (len(scout.scripted) + 1) - 10, step=10)
    assert len(scout.calls) == 1 + 9
    assert (entries(intel, "eveScout"), entries(intel, "activity")) == before
    for trouble in ("malformed JSON", "not a list", "too large", "over 1000", "invalid"):
        assert trouble in caplog.text, trouble
    assert "ESI answered /universe/system_kills/ with malformed JSON" in caplog.text
    assert "invalid system_id" in caplog.text
    assert live.service is not None
    metrics = live.service.metrics.render().decode()
    assert 'mapper_intel_polls_total{result="refused",source="evescout"} 9.0' in metrics
    assert 'mapper_intel_polls_total{result="refused",source="esi"} 2.0' in metrics

    scout.signatures = [{**good, "updated_at": iso(clock.now())}]  # good answers again
    eve.kills = {JITA: (9, 0, 0)}
    await run_for(live, 300, step=10)
    await until(lambda: set(entries(intel, "eveScout")) == {"46"})
    await until(lambda: entries(intel, "activity")[str(JITA)]["shipKills"] == 9)
    for client in (intel, scout_tab):
        await client.close()


async def test_a_route_through_thera(
    live: LiveServer, scout: FakeEveScout, clock: ManualClock
) -> None:
    scout.signatures = [
        signature(46, JITA, clock=clock),
        signature(48, J123456, clock=clock, in_sig="ABC-123", out_sig="XYZ-987"),
    ]
    token = live.token("alice")
    status = await live.present("/ws/users/me", token)
    service = live.service
    assert service is not None
    await until(lambda: len(service.intel.connections()) == 2)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=live.http, headers=headers) as client:
        to_j = f"/api/universe/route?from={PERIMETER}&to={J123456}"
        assert (await client.get(to_j)).status_code == 404, "no stargate leads there"
        answer = await client.get(to_j + "&eveScout")
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"jumps": 3, "path": [PERIMETER, JITA, THERA, J123456]}
        assert answer.headers["cache-control"] == "no-store"
        # Both are medium holes, as EVE-Scout says: too small for a battleship.
        assert (await client.get(to_j + "&eveScout&minSize=large")).status_code == 404
        assert (await client.get(to_j + "&eveScout=1&minSize=medium")).status_code == 200
    await status.close()


async def test_mapper_serve_fills_intel_from_its_settings(
    sqlite_url: str, tmp_path: Path, scout: FakeEveScout, eve: FakeEve
) -> None:
    env = {
        "MAPPER_INTEL": "1",
        "MAPPER_EVESCOUT_BASE_URL": scout.url,
        "MAPPER_ESI_BASE_URL": eve.esi_url,
    }
    server = await asyncio.to_thread(MapperServer(tmp_path / "data", sqlite_url, env=env).start)
    try:
        token = server.token("alice")
        intel = await WireClient.connect(server.ws, "/ws/intel", token)
        status = await WireClient.connect(server.ws, "/ws/users/me", token)
        await status.set_awareness(1, 1, {"visible": True})
        await intel.wait(lambda: set(entries(intel, "eveScout")) == {"46", "47"})
        for client in (intel, status):
            await client.close()
        refused = await WireClient.connect(server.ws, "/ws/intel", "not-a-token")
        assert await refused.wait_closed() == 4401
    finally:
        await asyncio.to_thread(server.stop)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_each_process_keeps_its_own_intel(
    tmp_path: Path,
    database_url: str,
    redis_url: str,
    clock: ManualClock,
    scout: FakeEveScout,
    eve: FakeEve,
) -> None:
    """With several processes (Redis), each polls and serves its own intel: a process never
    takes in another's writes, so two processes with different polls never undo each other."""
    other = await FakeEveScout(clock).start()
    other.signatures = [signature(99, NIARJA, clock=clock)]
    common = {"MAPPER_INTEL": "1", "MAPPER_ESI_BASE_URL": eve.esi_url}
    servers = [
        node(tmp_path / "data", database_url, redis_url, MAPPER_EVESCOUT_BASE_URL=url, **common)
        for url in (scout.url, other.url)
    ]
    a, b = servers
    try:
        for server in servers:  # in a thread: the fakes answer from this event loop
            await asyncio.to_thread(server.start)
        token = a.token("alice")
        intel_a = await WireClient.connect(a.ws, "/ws/intel", token)
        intel_b = await WireClient.connect(b.ws, "/ws/intel", token)
        chain = create_chain(a, token)
        chain_a, chain_b = await join(a, chain, token), await join(b, chain, token)
        for client_id, client in enumerate((chain_a, chain_b), 1):  # two tabs, two Yjs clients
            await client.set_awareness(client_id, 1, {"visible": True})
        await intel_a.wait(lambda: set(entries(intel_a, "eveScout")) == {"46", "47"})
        await intel_b.wait(lambda: set(entries(intel_b, "eveScout")) == {"99"})
        # A barrier both ways: edits published after those intel writes have arrived.
        add_system(chain_a, JITA)
        await chain_b.wait(lambda: str(JITA) in system_ids(chain_b))
        add_system(chain_b, PERIMETER)
        await chain_a.wait(lambda: str(PERIMETER) in system_ids(chain_a))
        assert set(entries(intel_a, "eveScout")) == {"46", "47"}
        assert set(entries(intel_b, "eveScout")) == {"99"}
        for client in (intel_a, intel_b, chain_a, chain_b):
            await client.close()
    finally:
        for server in servers:
            await asyncio.to_thread(server.stop)
        await other.stop()

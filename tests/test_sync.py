"""The presence-gated sync engine against a fake ESI and a fake token provider, on a clock the
test drives: who gets polled, how often, what gets written, and which jumps get mapped."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from pycrdt import Doc, Map
from sqlalchemy import select

from mapper.core import protocol
from mapper.core.clock import ManualClock
from mapper.persistence.models import CharacterStatus
from mapper.sync import jumps
from mapper.universe.importer import import_sde
from tests import sde_export
from tests.browser import TIMEOUT_MS, artifact, chromium, open_map
from tests.fake_eve import SECRET, FakeEve, Pilot, error, malformed
from tests.live_server import LiveServer, until
from tests.sde_export import J100001, J123456, J200000, JITA, NIARJA, PERIMETER
from tests.server import MapperServer
from tests.wire import WireClient, updates_received
from tests.yclient import YClient

ALICE_MAIN, ALICE_ALT, BOB_MAIN = 90000001, 90000002, 90000003
RIFTER_KG = 1067000.0  # the test universe's Rifter (type 587), every pilot's ship
# Pilots follow presence in well under a second; the bound leaves room for a loaded machine.
PILOTS_WITHIN_S = 30.0


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def eve(clock: ManualClock) -> AsyncIterator[FakeEve]:
    fake = await FakeEve(clock).start()
    fake.add(
        Pilot(ALICE_MAIN, "alice", "Alice Main"),
        Pilot(ALICE_ALT, "alice", "Alice Alt", online=False, system_id=J123456),
        Pilot(BOB_MAIN, "bob", "Bob", system_id=JITA),
    )
    yield fake
    await fake.stop()


def sync_settings(eve: FakeEve, **more: Any) -> dict[str, Any]:
    return {
        "token_provider_url": eve.provider_url,
        "token_provider_secret": SECRET,
        "esi_base_url": eve.esi_url,
        "esi_timeout_s": 2.0,
        **more,
    }


async def serve(
    tmp_path: Path, url: str, clock: ManualClock, eve: FakeEve, **more: Any
) -> LiveServer:
    server = await LiveServer(tmp_path / "data", url, clock, sync_settings(eve, **more)).start()
    assert server.service is not None
    export = sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())
    await import_sde(server.service.store.engine, export, source="test")
    return server


@pytest.fixture
async def live(
    sqlite_url: str, tmp_path: Path, clock: ManualClock, eve: FakeEve
) -> AsyncIterator[LiveServer]:
    server = await serve(tmp_path, sqlite_url, clock, eve)
    yield server
    await server.stop()


async def run_for(server: LiveServer, seconds: float, step: float = 1.0) -> None:
    """Let `seconds` of engine time pass, a step at a time, each step's work done."""
    assert server.service is not None and server.service.sync is not None
    for _ in range(round(seconds / step)):
        await server.renew()
        await server.clock.advance(step)
        await server.service.sync.settled()


async def settle(server: LiveServer) -> None:
    await run_for(server, 0.001, 0.001)


def pilots_seen(client: WireClient) -> list[dict[str, Any]]:
    return [
        pilot
        for state in client.awareness.values()
        if state is not None
        for pilot in state.get("pilots", [])
    ]


def wakeups(client: WireClient) -> int:
    """Document updates and awareness changes the client received (an awareness renewal,
    the same state again, wakes nobody)."""
    changes = updates_received(client)
    last: dict[int, Any] = {}
    for message in client.messages:
        if isinstance(message, protocol.AwarenessMessage):
            for entry in message.entries:
                if entry.client_id in last and last[entry.client_id] != entry.state:
                    changes += 1
                last[entry.client_id] = entry.state
    return changes


def characters(client: WireClient) -> dict[str, Any]:
    return client.doc.get("characters", type=Map).to_py() or {}


async def projection(server: LiveServer) -> dict[int, dict[str, Any]]:
    assert server.service is not None
    async with server.service.store.engine.connect() as conn:
        rows = await conn.execute(select(CharacterStatus))
        return {row.character_id: row._asdict() for row in rows}


async def chain_with(server: LiveServer, token: str, *systems: int) -> str:
    chain = await server.create_chain(token)
    writer = await server.present(f"/ws/chains/{chain}", token, visible=False, client_id=99)

    def add(doc: Any) -> None:
        for system_id in systems:
            doc.get("systems", type=Map)[str(system_id)] = Map(
                {"id": system_id, "x": 100, "y": 100, "alias": "", "status": "unknown"}
            )

    writer.edit(add)
    await until(lambda: _has_systems(server, chain, systems))
    await writer.close()
    return chain


def _has_systems(server: LiveServer, chain: str, systems: tuple[int, ...]) -> bool:
    assert server.service is not None
    room = server.service.rooms.get(chain)
    return room is not None and all(str(s) in room.doc.get("systems", type=Map) for s in systems)


async def test_nobody_present_no_calls_then_a_visible_tab_polls_at_once(
    live: LiveServer, eve: FakeEve
) -> None:
    token = live.token("alice")
    hidden = await live.present("/ws/users/me", token, visible=False)
    await run_for(live, 120, step=5)
    assert eve.calls == [] and eve.provider_calls == []

    await live.show(hidden, True)
    await until(lambda: len(eve.calls) >= 5)
    await settle(live)
    assert eve.provider_calls == [{"userId": "alice", "group": "char-location"}]
    assert {(c.route, c.character_id) for c in eve.calls} == {
        (route, character)
        for route in ("online", "location", "ship")
        for character in (ALICE_MAIN, ALICE_ALT)
    }
    assert not eve.esi_calls(character_id=BOB_MAIN), "bob is not present"
    await until(lambda: len(characters(hidden)) == 2)
    assert characters(hidden)[str(ALICE_ALT)] == {
        "online": False,
        "systemId": J123456,
        "shipTypeId": 587,
    }
    assert (await projection(live))[ALICE_MAIN]["system_id"] == 31000001
    await hidden.close()


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_cadence_and_expires_are_honoured(
    database_url: str, tmp_path: Path, clock: ManualClock, eve: FakeEve
) -> None:
    server = await serve(tmp_path, database_url, clock, eve)
    try:
        eve.cache_s["location"] = 12  # ESI's cache outlasts our 5 s cadence
        client = await server.present("/ws/users/me", server.token("alice"))
        await until(lambda: len(eve.calls) >= 6)
        await run_for(server, 180)
        for character in (ALICE_MAIN, ALICE_ALT):
            for route, floor in (("online", 60), ("location", 12), ("ship", 5)):
                times = [c.at for c in eve.esi_calls(route, character)]
                gaps = [b - a for a, b in itertools.pairwise(times)]
                assert gaps and min(gaps) >= floor, (route, gaps)
            assert len(eve.esi_calls("online", character)) <= 180 / 60 + 1
            assert len(eve.esi_calls("ship", character)) <= 180 / 5 + 1
            # Unchanged answers came back as 304s: the stored ETag was sent.
            assert {c.status for c in eve.esi_calls("location", character)[1:]} == {304}
        await client.close()
    finally:
        await server.stop()


async def test_unchanged_reads_write_and_broadcast_nothing(live: LiveServer, eve: FakeEve) -> None:
    token = live.token("alice")
    chain = await chain_with(live, token, 31000001)
    status = await live.present("/ws/users/me", token)
    watcher = await live.present(f"/ws/chains/{chain}", token, client_id=2)
    await until(lambda: len(characters(status)) == 2)
    expected = [
        {"characterId": ALICE_MAIN, "userId": "alice", "systemId": 31000001, "online": True},
        {"characterId": ALICE_ALT, "userId": "alice", "systemId": J123456, "online": False},
    ]
    await until(lambda: sorted(pilots_seen(watcher), key=lambda p: p["characterId"]) == expected)
    await run_for(live, 10)
    assert live.service is not None
    writes = live.service.live.live_writes
    woken = (wakeups(status), wakeups(watcher))
    stored = await projection(live)
    calls = len(eve.calls)

    await run_for(live, 130)
    assert len(eve.calls) > calls + 40, "polling went on"
    assert live.service.live.live_writes == writes
    assert (wakeups(status), wakeups(watcher)) == woken, "nobody was woken"
    assert await projection(live) == stored, "the projection was not rewritten"

    eve.pilots[ALICE_ALT].online = True
    await run_for(live, 61)
    await until(lambda: characters(status)[str(ALICE_ALT)]["online"] is True)
    await until(lambda: wakeups(watcher) == woken[1] + 1)
    assert wakeups(status) == woken[0] + 1, "one update for one change"
    assert live.service.live.live_writes == writes + 2, "the document and the pilots"
    await status.close()
    await watcher.close()


async def test_failed_reads_keep_the_last_known_state(
    live: LiveServer, eve: FakeEve, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mapper.sync")
    status = await live.present("/ws/users/me", live.token("alice"))
    await until(lambda: len(characters(status)) == 2)
    await run_for(live, 5)
    before = characters(status)
    eve.pilots[ALICE_MAIN].system_id = J200000
    for answer in (error(500), error(502), malformed(), error(503)):
        eve.scripted.append(answer)
    eve.slow_s = 2.5  # longer than the service's 2 s ESI timeout
    await run_for(live, 40, step=5)
    for trouble in ("answered /characters", "malformed JSON", "did not answer"):
        assert trouble in caplog.text
    assert characters(status) == before
    assert (await projection(live))[ALICE_MAIN]["system_id"] == 31000001

    eve.slow_s = 0.0
    await run_for(live, 300, step=5)
    await until(lambda: characters(status)[str(ALICE_MAIN)]["systemId"] == J200000)
    await status.close()


async def test_error_limit_and_rate_limits_stop_calls_until_their_reset(
    live: LiveServer, eve: FakeEve
) -> None:
    status = await live.present("/ws/users/me", live.token("alice"))
    await until(lambda: len(characters(status)) == 2)
    await run_for(live, 5)

    async def paused(quiet_s: float, why: str) -> None:
        """No call for `quiet_s` seconds, then calls again after 10 more."""
        calls = len(eve.calls)
        await run_for(live, quiet_s)
        assert len(eve.calls) == calls, why
        await run_for(live, 10)
        assert len(eve.calls) > calls

    eve.error_limit_remain = 3  # below the floor: pause for the 30 s reset
    await run_for(live, 5)
    eve.error_limit_remain = 100
    await paused(25, "no call while the error limit is low")

    eve.scripted.append(error(420, **{"X-ESI-Error-Limit-Reset": "40"}))
    await run_for(live, 5)
    await paused(35, "no call after a 420 until the reset")

    eve.scripted.append(error(429, **{"Retry-After": "30"}))
    await run_for(live, 5)
    limited = next(c.character_id for c in reversed(eve.calls) if c.status == 429)
    calls = len(eve.esi_calls(character_id=limited))
    await run_for(live, 25)
    assert len(eve.esi_calls(character_id=limited)) == calls, "429: that character waits"
    other = ALICE_ALT if limited == ALICE_MAIN else ALICE_MAIN
    assert eve.esi_calls(character_id=other)[-1].at > live.clock.now() - 10, "not the other"
    await status.close()


async def test_a_refused_token_untracks_one_character_only(live: LiveServer, eve: FakeEve) -> None:
    eve.revoked.add(ALICE_ALT)
    eve.pilots[ALICE_MAIN].online = True
    status = await live.present("/ws/users/me", live.token("alice"))
    await until(lambda: str(ALICE_MAIN) in characters(status))
    await settle(live)
    stored = await projection(live)
    assert stored[ALICE_ALT]["tracked"] is False
    assert stored[ALICE_MAIN]["tracked"] is True

    eve.ungranted.add(ALICE_MAIN)
    await run_for(live, 1300, step=10)  # the provider's tokens expire; new ones are asked
    eve.pilots[ALICE_MAIN].system_id = J200000
    await run_for(live, 60, step=5)
    stored = await projection(live)
    assert stored[ALICE_MAIN]["tracked"] is False
    assert stored[ALICE_MAIN]["system_id"] == 31000001, "no token, no read"

    eve.provider_status = 503
    eve.ungranted.clear()
    eve.revoked.clear()
    await run_for(live, 1300, step=10)
    assert (await projection(live))[ALICE_MAIN]["tracked"] is False
    eve.provider_status = 200
    await run_for(live, 400, step=10)
    await until(lambda: characters(status)[str(ALICE_MAIN)]["systemId"] == J200000)
    assert (await projection(live))[ALICE_ALT]["tracked"] is True
    await status.close()


async def test_an_unlinked_character_leaves_the_live_status(live: LiveServer, eve: FakeEve) -> None:
    token = live.token("alice")
    chain = await chain_with(live, token, J100001)
    status = await live.present("/ws/users/me", token)
    scout = await live.present(f"/ws/chains/{chain}", token, client_id=2)
    await until(lambda: len(characters(status)) == 2 and len(pilots_seen(scout)) == 2)
    del eve.pilots[ALICE_ALT]
    await run_for(live, 1200, step=10)  # until the provider is asked again
    await until(lambda: list(characters(status)) == [str(ALICE_MAIN)])
    await until(lambda: [p["characterId"] for p in pilots_seen(scout)] == [ALICE_MAIN])
    assert set(await projection(live)) == {ALICE_MAIN}
    await status.close()
    await scout.close()


async def test_a_hidden_tab_stops_polling_and_a_silent_one_goes_cold(
    live: LiveServer, eve: FakeEve
) -> None:
    tab = await live.present("/ws/users/me", live.token("alice"), renews=False)
    await until(lambda: len(eve.calls) >= 6)
    await run_for(live, 10)
    await live.show(tab, False)
    await until(lambda: live.service is not None and not live.service.presence.is_present("alice"))
    calls = len(eve.calls)
    await run_for(live, 120, step=5)
    assert len(eve.calls) == calls, "hidden: no polling at all"

    await live.show(tab, True)
    await until(lambda: len(eve.calls) > calls)
    # The tab stays open but never renews its awareness: cold after 60 s.
    await run_for(live, 65, step=5)
    calls = len(eve.calls)
    await run_for(live, 120, step=5)
    assert len(eve.calls) == calls, "cold: no polling"
    await tab.close()


async def test_a_hidden_tab_active_lately_keeps_reads_going_an_idle_one_stops_them(
    live: LiveServer, eve: FakeEve
) -> None:
    """A scout flies with the map in a background tab: `activeAt` a minute ago keeps the
    reads going; one two hours ago (a tab left open overnight) gets none."""
    idle = await live.present("/ws/users/me", live.token("bob"), visible=False)
    await live.update(idle, activeAt=(live.clock.now() - 7200) * 1000)
    scout = await live.present("/ws/users/me", live.token("alice"), visible=False, client_id=2)
    await live.update(scout, activeAt=(live.clock.now() - 60) * 1000)
    # Bounds for a loaded machine: the engine answers in well under a second alone.
    await until(lambda: len(eve.esi_calls("location")) >= 2, PILOTS_WITHIN_S)
    calls = len(eve.esi_calls("location"))
    await run_for(live, 60, step=5)
    assert len(eve.esi_calls("location")) > calls, "the hidden, recently active tab polls on"
    assert not eve.esi_calls(character_id=BOB_MAIN), "the idle tab's user is not present"

    # Nobody touches the scout's tab: 30 minutes after its activeAt it stops counting.
    await run_for(live, 1800, step=30)
    assert live.service is not None and not live.service.presence.is_present("alice")
    calls = len(eve.calls)
    await run_for(live, 300, step=30)
    assert len(eve.calls) == calls, "idle: no polling"
    await live.update(scout, activeAt=live.clock.now() * 1000)  # input in the hidden tab
    await until(lambda: len(eve.calls) > calls, PILOTS_WITHIN_S)
    for client in (idle, scout):
        await client.close()


async def test_a_tab_back_from_idle_before_the_sweep_is_read_at_once(
    sqlite_url: str, tmp_path: Path, clock: ManualClock, eve: FakeEve
) -> None:
    """The scout's reads, not the scanner's sweep (here: never), find them gone idle; input in
    the tab minutes later starts the reads again at once, not at the next scan."""
    live = await serve(tmp_path, sqlite_url, clock, eve, sync_scan_interval_s=86400.0)
    try:
        scout = await live.present("/ws/users/me", live.token("alice"), visible=False)
        await live.update(scout, activeAt=live.clock.now() * 1000)
        await until(lambda: len(eve.esi_calls("location")) >= 2, PILOTS_WITHIN_S)
        await run_for(live, 1800 + 600, step=30)  # idle after 1800 s; the reads due since see it
        assert live.service is not None and not live.service.presence.is_present("alice")
        calls = len(eve.calls)
        await live.update(scout, activeAt=live.clock.now() * 1000)
        await until(lambda: len(eve.calls) > calls, PILOTS_WITHIN_S)
        await scout.close()
    finally:
        await live.stop()


async def test_a_reloaded_page_is_read_again_when_due_not_at_the_next_scan(
    sqlite_url: str, tmp_path: Path, clock: ManualClock, eve: FakeEve
) -> None:
    """A scout reloads the map: back before the location is due again, its next read comes
    when it is due (5 s), not when the scanner next looks (here: never)."""
    live = await serve(tmp_path, sqlite_url, clock, eve, sync_scan_interval_s=86400.0)
    try:
        tab = await live.present("/ws/users/me", live.token("alice"))
        await until(lambda: len(eve.esi_calls("location")) >= 2, PILOTS_WITHIN_S)
        await settle(live)
        await tab.close()
        await until(
            lambda: live.service is not None and not live.service.presence.is_present("alice")
        )
        tab = await live.present("/ws/users/me", live.token("alice"))
        calls = len(eve.esi_calls("location"))
        await run_for(live, 6, step=1)
        await until(lambda: len(eve.esi_calls("location")) > calls, PILOTS_WITHIN_S)
        await tab.close()
    finally:
        await live.stop()


async def test_jumps_are_mapped_with_the_right_kind(live: LiveServer, eve: FakeEve) -> None:
    token = live.token("bob")
    chain = await chain_with(live, token, JITA, J100001)
    eve.pilots[BOB_MAIN].system_id = JITA
    watcher = await live.present(f"/ws/chains/{chain}", token)
    await until(lambda: len(eve.esi_calls("location")) >= 1)
    await run_for(live, 5)

    eve.pilots[BOB_MAIN].system_id = PERIMETER  # through a stargate
    await run_for(live, 5)
    await until(lambda: connections(watcher).get(f"{JITA}-{PERIMETER}") is not None)
    assert connections(watcher)[f"{JITA}-{PERIMETER}"]["kind"] == "stargate"
    assert str(PERIMETER) in watcher.map("systems")

    eve.pilots[BOB_MAIN].system_id = J123456  # out of Perimeter through a wormhole
    await run_for(live, 5)
    await until(lambda: f"{PERIMETER}-{J123456}" in connections(watcher))
    link = connections(watcher)[f"{PERIMETER}-{J123456}"]
    assert link["kind"] == "wormhole" and link["whType"] == "" and link["mass"] == "fresh"
    assert [(j["characterId"], j["shipTypeId"], j["mass"]) for j in link["jumps"]] == [
        (BOB_MAIN, 587, RIFTER_KG)
    ]
    assert "jumps" not in connections(watcher)[f"{JITA}-{PERIMETER}"], "no mass through gates"
    system = watcher.map("systems")[str(J123456)]
    assert system["addedBy"] == "bob" and system["status"] == "unknown"
    assert pilots_seen(watcher)[0]["systemId"] == J123456
    await watcher.close()


def connections(client: WireClient) -> dict[str, Any]:
    return client.map("connections").to_py() or {}


async def test_a_jump_through_a_known_connection_counts_the_ship(
    live: LiveServer, eve: FakeEve
) -> None:
    token = live.token("bob")
    chain = await chain_with(live, token, J100001, J123456)
    key = f"{J100001}-{J123456}"
    writer = await live.present(f"/ws/chains/{chain}", token, visible=False, client_id=98)
    writer.edit(
        lambda doc: doc.get("connections", type=Map).__setitem__(
            key, Map({"a": J100001, "b": J123456, "kind": "wormhole", "whType": "B274"})
        )
    )
    eve.pilots[BOB_MAIN].system_id = J100001
    watcher = await live.present(f"/ws/chains/{chain}", token)
    await until(lambda: key in connections(watcher))
    await until(lambda: len(eve.esi_calls("location")) >= 1)
    await run_for(live, 5)

    eve.pilots[BOB_MAIN].system_id = J123456
    await run_for(live, 5)
    await until(lambda: len(connections(watcher)[key].get("jumps", [])) == 1)
    eve.pilots[BOB_MAIN].system_id = J100001  # and back again
    await run_for(live, 5)
    await until(lambda: len(connections(watcher)[key].get("jumps", [])) == 2)
    jumps = connections(watcher)[key]["jumps"]
    assert [(j["characterId"], j["shipTypeId"], j["mass"]) for j in jumps] == [
        (BOB_MAIN, 587, RIFTER_KG)
    ] * 2
    assert jumps[0]["at"] < jumps[1]["at"] <= live.clock.now() * 1000
    assert set(connections(watcher)) == {key}, "nothing new mapped"
    assert set(watcher.map("systems").keys()) == {str(J100001), str(J123456)}
    for client in (writer, watcher):
        await client.close()


async def test_gate_travel_between_two_polls_adds_nothing(
    sqlite_url: str,
    tmp_path: Path,
    clock: ManualClock,
    eve: FakeEve,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Two gate jumps (Jita, Perimeter, Niarja) between two reads 15 s apart no longer become
    a wormhole, nor an offer."""
    caplog.set_level(logging.INFO, logger="mapper.sync")
    live = await serve(tmp_path, sqlite_url, clock, eve, location_cadence_s=15.0)
    try:
        token = live.token("bob")
        chain = await chain_with(live, token, JITA)
        status = await live.present("/ws/users/me", token, client_id=2)
        watcher = await live.present(f"/ws/chains/{chain}", token)
        await until(lambda: len(eve.esi_calls("location")) >= 1)
        await run_for(live, 15)
        reads = len(eve.esi_calls("location"))
        eve.pilots[BOB_MAIN].system_id = NIARJA
        await run_for(live, 15)
        assert len(eve.esi_calls("location")) == reads + 1, "one read, 15 s after the last"
        await until(lambda: "not mapped as a jump" in caplog.text)
        assert (await projection(live))[BOB_MAIN]["system_id"] == NIARJA
        await run_for(live, 30)
        assert connections(watcher) == {}
        assert set(watcher.map("systems").keys()) == {str(JITA)}
        assert offers(status) == {}
        for client in (status, watcher):
            await client.close()
    finally:
        await live.stop()


def offers(client: WireClient) -> dict[str, Any]:
    return client.doc.get("offers", type=Map).to_py() or {}


async def test_a_known_space_move_gates_do_not_explain_is_offered_not_written(
    live: LiveServer, eve: FakeEve
) -> None:
    """Jita to Niarja (two gates apart) within one 5 s poll: a jump bridge, a jump drive, a
    titan bridge or a wormhole. The chain gets nothing; the user's page gets an offer."""
    token = live.token("bob")
    chain = await chain_with(live, token, JITA)
    status = await live.present("/ws/users/me", token, client_id=2)
    watcher = await live.present(f"/ws/chains/{chain}", token)
    await until(lambda: len(eve.esi_calls("location")) >= 1)
    await run_for(live, 5)
    updates = updates_received(watcher)

    eve.pilots[BOB_MAIN].system_id = NIARJA
    await run_for(live, 5)
    await until(lambda: f"{JITA}>{NIARJA}" in offers(status))
    offer = offers(status)[f"{JITA}>{NIARJA}"]
    assert (offer["from"], offer["to"], offer["characterId"], offer["mass"]) == (
        JITA,
        NIARJA,
        BOB_MAIN,
        RIFTER_KG,
    )
    await run_for(live, 30)
    assert connections(watcher) == {}
    assert set(watcher.map("systems").keys()) == {str(JITA)}
    assert updates_received(watcher) == updates, "the chain document is untouched"
    for client in (status, watcher):
        await client.close()


@pytest.mark.usefixtures("node_modules")
async def test_concurrent_jumps_from_two_stock_clients_both_count(live: LiveServer) -> None:
    token = live.token("alice")
    chain = await chain_with(live, token, J100001, J123456)
    key = f"{J100001}-{J123456}"
    jumps = ["connections", key, "jumps"]
    jump = {"at": 1.7e12, "shipTypeId": 587, "mass": RIFTER_KG}

    async def scouts(client: YClient) -> list[int]:
        document = await client.get()
        return sorted(j["characterId"] for j in document["connections"][key].get("jumps", []))

    async with (
        YClient.start(f"{live.ws}/ws/chains", chain, token) as one,
        YClient.start(f"{live.ws}/ws/chains", chain, token) as two,
    ):
        await one.wait_synced()
        await two.wait_synced()
        await one.set_map("connections", key, {"a": J100001, "b": J123456, "kind": "wormhole"})
        await one.push(jumps, [])
        await two.wait_for(jumps, [])
        await two.disconnect()  # both append while apart: two scouts on a flaky link
        await one.push(jumps, [{**jump, "characterId": 1}])
        await two.push(jumps, [{**jump, "characterId": 2}])
        await two.connect()
        for _ in range(250):
            if await scouts(one) == await scouts(two) == [1, 2]:
                break
            await asyncio.sleep(0.02)
        assert await scouts(one) == await scouts(two) == [1, 2]
    assert live.service is not None
    room = live.service.rooms.get(chain)
    assert room is not None
    stored = room.doc.get("connections", type=Map)[key]["jumps"]
    assert sorted(j["characterId"] for j in stored) == [1, 2]


@pytest.mark.parametrize(
    ("case", "start", "move"),
    [
        ("gap", {"system_id": JITA}, {"system_id": J100001}),
        ("capsule", {"system_id": JITA}, {"system_id": J100001, "ship_type_id": 670}),
        ("abyssal", {"system_id": JITA}, {"system_id": 12000005}),
        (
            "clone jump",
            {"system_id": JITA, "station_id": 60003760},
            {"system_id": NIARJA, "station_id": 60000001},
        ),
        ("viewer", {"system_id": JITA}, {"system_id": J100001}),
    ],
)
async def test_false_jumps_are_refused(
    live: LiveServer,
    eve: FakeEve,
    caplog: pytest.LogCaptureFixture,
    case: str,
    start: dict[str, Any],
    move: dict[str, Any],
) -> None:
    caplog.set_level(logging.INFO, logger="mapper.sync")
    owner = live.token("carol")
    chain = await chain_with(live, owner, JITA)
    await live.grant(owner, chain, "user:bob", "viewer" if case == "viewer" else "editor")
    pilot = eve.pilots[BOB_MAIN]
    for name, value in start.items():
        setattr(pilot, name, value)
    watcher = await live.present(f"/ws/chains/{chain}", live.token("bob"))
    await until(lambda: len(eve.esi_calls("location")) >= 1)
    await run_for(live, 5)

    if case == "gap":
        eve.down_until = live.clock.now() + 80  # the last sighting grows old
        await run_for(live, 80, step=5)
    for name, value in move.items():
        setattr(pilot, name, value)
    await run_for(live, 400, step=5)
    assert (await projection(live))[BOB_MAIN]["system_id"] == move["system_id"]
    if case != "viewer":  # a viewer's moves are sighted, but never edit the chain
        assert "not mapped as a jump" in caplog.text
    assert connections(watcher) == {}
    assert set(watcher.map("systems").keys()) == {str(JITA)}
    await watcher.close()


async def test_pilots_follow_presence(live: LiveServer, eve: FakeEve) -> None:
    """A member's pilots show on a chain they have open while they are present anywhere."""
    alice = live.token("alice")
    chain = await chain_with(live, alice, J100001)
    await live.grant(alice, chain, "user:bob", "viewer")
    scout = await live.present(f"/ws/chains/{chain}", alice, visible=False)
    status = await live.present("/ws/users/me", alice, client_id=2)
    watcher = await live.present(f"/ws/chains/{chain}", live.token("bob"), client_id=3)
    await until(
        lambda: {p["userId"] for p in pilots_seen(watcher)} == {"alice", "bob"}, PILOTS_WITHIN_S
    )

    await live.show(status, False)  # alice is now present nowhere
    await until(lambda: {p["userId"] for p in pilots_seen(watcher)} == {"bob"}, PILOTS_WITHIN_S)
    await live.show(scout, True)
    await until(
        lambda: {p["userId"] for p in pilots_seen(watcher)} == {"alice", "bob"}, PILOTS_WITHIN_S
    )
    await scout.close()
    await until(lambda: {p["userId"] for p in pilots_seen(watcher)} == {"bob"}, PILOTS_WITHIN_S)
    for client in (status, watcher):
        await client.close()


@pytest.mark.usefixtures("node_modules")
async def test_stock_yjs_clients_see_characters_and_pilots(live: LiveServer, eve: FakeEve) -> None:
    token = live.token("alice")
    chain = await chain_with(live, token, 31000001)
    async with (
        YClient.start(f"{live.ws}/ws/users", "me", token) as status,
        YClient.start(f"{live.ws}/ws/chains", chain, token) as scout,
    ):
        await status.wait_synced()
        await scout.wait_synced()
        await status.awareness_set({"visible": True})
        await scout.awareness_set({"visible": True, "selected": None, "characters": []})
        await status.wait_for(["characters", str(ALICE_MAIN), "systemId"], 31000001)
        await status.wait_for(["characters", str(ALICE_ALT), "online"], False)

        async def pilots() -> list[dict[str, Any]]:
            states = await scout.awareness_states()
            return [p for state in states.values() if state for p in state.get("pilots", [])]

        for _ in range(200):
            if len(await pilots()) == 2:
                break
            await asyncio.sleep(0.02)
        assert {p["characterId"] for p in await pilots()} == {ALICE_MAIN, ALICE_ALT}

        eve.pilots[ALICE_MAIN].system_id = J200000
        await run_for(live, 5)
        await status.wait_for(["characters", str(ALICE_MAIN), "systemId"], J200000)


async def test_the_map_shows_characters_pilots_and_a_mapped_jump(
    live: LiveServer, eve: FakeEve
) -> None:
    token = live.token("alice", name="Alice")
    chain = await chain_with(live, token, J100001)
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), live, chain, token)
        dots = page.locator(".characters .dot")
        await expect(dots).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(page.locator(f'[data-character="{ALICE_MAIN}"]')).to_have_class(
            re.compile("online")
        )
        await expect(page.locator(f'[data-character="{ALICE_ALT}"]')).to_have_class(
            re.compile("offline")
        )
        origin = page.locator(f'[data-system="{J100001}"]')
        await expect(origin.locator(".pilots")).to_have_text("1✈", timeout=TIMEOUT_MS)

        await run_for(live, 5)
        eve.pilots[ALICE_MAIN].system_id = J123456
        await run_for(live, 5)
        target = page.locator(f'[data-system="{J123456}"]')
        await expect(target.locator(".pilots")).to_have_text("2✈", timeout=TIMEOUT_MS)
        await expect(origin.locator(".pilots")).to_have_count(0)
        await expect(page.locator(f'[data-key="{J100001}-{J123456}"]')).to_have_count(1)
        await page.screenshot(path=artifact("live-status.png"))


async def test_mapper_serve_runs_the_sync_loop(
    sqlite_url: str, tmp_path: Path, eve: FakeEve
) -> None:
    env = {
        "MAPPER_TOKEN_PROVIDER_URL": eve.provider_url,
        "MAPPER_TOKEN_PROVIDER_SECRET": SECRET,
        "MAPPER_ESI_BASE_URL": eve.esi_url,
    }
    server = await asyncio.to_thread(MapperServer(tmp_path / "data", sqlite_url, env=env).start)
    try:
        status = await WireClient.connect(server.ws, "/ws/users/me", server.token("alice"))
        await status.set_awareness(1, 1, {"visible": True})
        await status.wait(
            lambda: (
                len(characters(status)) == 2
                and all(c["systemId"] is not None for c in characters(status).values())
            )
        )
        assert {c.character_id for c in eve.calls} == {ALICE_MAIN, ALICE_ALT}
        await status.close()
        async with httpx.AsyncClient() as client:
            metrics = await client.get(
                f"{server.http}/metrics",
                headers={"Authorization": f"Bearer {server.token('admin', admin=True)}"},
            )
        assert 'mapper_esi_answers_total{status="200"} 6.0' in metrics.text
        assert 'mapper_sync_runs_total{dataset="location"}' in metrics.text
    finally:
        await asyncio.to_thread(server.stop)


async def test_after_a_mapped_jump_the_page_asks_which_signature_it_was(
    live: LiveServer, eve: FakeEve
) -> None:
    token = live.token("alice", name="Alice")
    chain = await chain_with(live, token, J100001)
    writer = await live.present(f"/ws/chains/{chain}", token, visible=False, client_id=97)

    def scanned(doc: Any) -> None:
        signatures = doc.get("signatures", type=Map)
        for system_id, sig in ((J100001, "ABC-123"), (J100001, "GHI-789"), (J123456, "XYZ-999")):
            signatures[f"{system_id}:{sig}"] = Map(
                {"system": system_id, "sig": sig, "group": "wormhole", "connection": ""}
            )

    writer.edit(scanned)
    key = f"{J100001}-{J123456}"
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), live, chain, token)
        await expect(page.locator(".characters .dot")).to_have_count(2, timeout=TIMEOUT_MS)
        await run_for(live, 5)
        eve.pilots[ALICE_MAIN].system_id = J123456
        await run_for(live, 5)

        prompt = page.locator(f'.jump-prompt[data-connection="{key}"]')
        await expect(prompt).to_contain_text(
            "Which signature did you come through?", timeout=TIMEOUT_MS
        )
        await expect(prompt.locator("button[data-signature]")).to_have_count(3)
        await prompt.locator(f'[data-signature="{J100001}:ABC-123"]').click()
        await expect(prompt.locator("button[data-signature]")).to_have_count(1)
        await page.screenshot(path=artifact("jump-prompt.png"))
        await prompt.locator(f'[data-signature="{J123456}:XYZ-999"]').click()
        await expect(prompt).to_have_count(0)
        await until(lambda: connections(writer)[key].get("sigB") == "XYZ-999", TIMEOUT_MS / 1000)
        link = connections(writer)[key]
        assert (link["sigA"], link["sigB"]) == ("ABC-123", "XYZ-999")
        signatures = writer.map("signatures").to_py()
        assert signatures[f"{J100001}:ABC-123"]["connection"] == key
        assert signatures[f"{J100001}:GHI-789"]["connection"] == ""
    await writer.close()


async def test_an_offered_move_is_written_only_when_the_scout_confirms_it(
    live: LiveServer, eve: FakeEve
) -> None:
    token = live.token("bob", name="Bob")
    chain = await chain_with(live, token, JITA)
    watcher = await live.present(f"/ws/chains/{chain}", token, visible=False, client_id=96)
    key = f"{JITA}-{NIARJA}"
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), live, chain, token)
        await expect(page.locator(".characters .dot")).to_have_count(1, timeout=TIMEOUT_MS)
        await run_for(live, 5)
        eve.pilots[BOB_MAIN].system_id = NIARJA  # two gates away within one poll
        await run_for(live, 5)

        offer = page.locator(f'.offer[data-offer="{JITA}>{NIARJA}"]')
        await expect(offer).to_contain_text("without a stargate", timeout=TIMEOUT_MS)
        assert connections(watcher) == {}, "nothing written before the scout says so"
        await offer.get_by_role("button", name="A bridge").click()
        await expect(offer).to_have_count(0)
        await until(lambda: key in connections(watcher), TIMEOUT_MS / 1000)
        assert connections(watcher)[key]["kind"] == "bridge"
        assert "jumps" not in connections(watcher)[key], "no mass through a bridge"
        assert str(NIARJA) in watcher.map("systems")
    await watcher.close()


def _canvas_number(path: str, name: str) -> int:
    text = (Path(__file__).parent.parent / "web" / "src" / "canvas" / path).read_text()
    found = re.search(rf"const {name} = (\d+);", text)
    assert found, f"{name} in {path}"
    return int(found.group(1))


def test_systems_added_from_jumps_land_as_the_canvas_spaces_its_boxes() -> None:
    """Two jumps out of one system: each new system one canvas column right of it, the second
    one canvas row below the first, so their 168x64 boxes do not overlap."""
    box_w, box_h = _canvas_number("sizes.ts", "NODE_W"), _canvas_number("sizes.ts", "NODE_H")
    step_x = box_w + _canvas_number("layout.ts", "GAP_X")
    step_y = box_h + _canvas_number("layout.ts", "GAP_Y")
    assert (jumps.SPACING_X, jumps.SPACING_Y) == (step_x, step_y), "web/src/canvas/layout.ts"

    doc = Doc()
    systems = doc.get("systems", type=Map)
    systems[str(PERIMETER)] = Map({"id": PERIMETER, "x": 100, "y": 100})
    for target in (J123456, J100001):
        ship = jumps.passage(1, BOB_MAIN, 587, RIFTER_KG)
        assert jumps.map_jump(doc, PERIMETER, target, jumps.WORMHOLE, "bob", 1, ship)
    placed = [(systems[str(t)]["x"], systems[str(t)]["y"]) for t in (J123456, J100001)]
    assert placed == [(100 + step_x, 100), (100 + step_x, 100 + step_y)]

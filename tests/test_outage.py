"""Postgres briefly unreachable under a running `mapper serve`.

Rooms keep serving from memory, the writer keeps every update and retries, `/readyz` answers
503 until the database is back, a chain that is not loaded cannot load meanwhile (1013), and
nothing accepted before, during or after the outage is lost.

The outage is made without touching the shared Postgres server: the test database stops
accepting connections (`ALLOW_CONNECTIONS false`) and its open connections are terminated.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from pycrdt import Map, Text

from tests.chains import add_system, create_chain, document, join, system_ids
from tests.databases import POSTGRES
from tests.server import MapperServer
from tests.wire import WireClient

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


@contextlib.contextmanager
def outage(database_url: str) -> Iterator[None]:
    """The server's database refuses connections, and loses the ones it had, until the end of
    the block; it always comes back, so the database can be dropped afterwards."""
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


async def refused(server: MapperServer, chain: str, token: str) -> int | None:
    """Connect and return the close code; the client must never have been synced."""
    client = await WireClient.connect(server.ws, f"/ws/chains/{chain}", token)
    code = await client.wait_closed(timeout=10)
    assert not client.synced.is_set()
    return code


def ids(first: int, last: int) -> set[str]:
    return {str(system_id) for system_id in range(first, last + 1)}


def readyz(server: MapperServer) -> httpx.Response:
    return httpx.get(f"{server.http}/readyz", timeout=5)


async def eventually(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        await asyncio.sleep(0.1)


# Tests


async def test_rooms_keep_serving_and_nothing_is_lost(
    server: MapperServer, database_url: str
) -> None:
    token = server.token("owner")
    chain = create_chain(server, token, "Live")
    cold = create_chain(server, token, "Cold")  # never loaded before the outage
    alice, bob = await join(server, chain, token), await join(server, chain, token)
    for system_id in range(31000001, 31000006):
        add_system(alice, system_id)
    bob.edit(lambda doc: doc.get("meta", type=Map).__setitem__("home", 31000001))
    await bob.wait(lambda: system_ids(bob) == ids(31000001, 31000005))
    assert readyz(server).status_code == 200

    with outage(database_url):
        # The room serves on: edits from either side reach the other.
        for system_id in range(31000006, 31000011):
            add_system(alice, system_id)
        await bob.wait(lambda: system_ids(bob) == ids(31000001, 31000010))
        bob.edit(
            lambda doc: doc.get("systems", type=Map)["31000006"].__setitem__(
                "notes", Text("written while the database was away")
            )
        )
        await alice.wait(lambda: "notes" in alice.map("systems")["31000006"])

        await eventually(lambda: readyz(server).status_code == 503, 5, "/readyz says 503")
        body = readyz(server).json()
        assert body["database"] is False
        assert httpx.get(f"{server.http}/healthz").status_code == 200

        # A chain whose room is not loaded cannot load now; its client is told to retry.
        assert await refused(server, cold, token) == 1013

        await asyncio.sleep(1.0)  # the writer fails and retries a few times meanwhile
        for system_id in range(31000011, 31000013):
            add_system(bob, system_id)
        await alice.wait(lambda: system_ids(alice) == ids(31000001, 31000012))
        assert readyz(server).json()["pendingUpdates"] > 0
        assert not alice.closed.is_set() and not bob.closed.is_set()

    await eventually(lambda: readyz(server).status_code == 200, 10, "/readyz back to 200")
    await eventually(
        lambda: readyz(server).json()["pendingUpdates"] == 0, 5, "the pending updates written"
    )
    for system_id in range(31000013, 31000016):
        add_system(alice, system_id)
    await bob.wait(lambda: system_ids(bob) == ids(31000001, 31000015))
    late = await join(server, cold, token)
    assert late.map("meta")["name"] == "Cold"
    expected = {root: alice.map(root).to_py() for root in ("meta", "systems")}
    for client in (alice, bob, late):
        await client.close()
    log = server.log()
    assert "database write failed; keeping" in log
    assert "database writes recovered" in log

    # Everything, from before, during and after the outage, is in the database.
    assert server.stop(), server.log()
    server.start()
    stored = document(server, token, chain)
    assert set(stored["systems"]) == ids(31000001, 31000015)
    assert stored["meta"]["home"] == 31000001
    assert stored["systems"]["31000006"]["notes"] == "written while the database was away"
    assert {root: stored[root] for root in expected} == expected
    fresh = await join(server, chain, token)
    assert system_ids(fresh) == ids(31000001, 31000015)
    await fresh.close()


async def test_a_room_unloaded_during_the_outage_reloads_with_its_pending_edits(
    server: MapperServer, database_url: str
) -> None:
    token = server.token("owner")
    chain = create_chain(server, token, "Left alone")
    alice = await join(server, chain, token)
    add_system(alice, 31000001)
    await alice.wait(lambda: "31000001" in system_ids(alice))
    with outage(database_url):
        await eventually(lambda: readyz(server).status_code == 503, 5, "/readyz says 503")
        for system_id in range(31000002, 31000006):
            add_system(alice, system_id)
        await asyncio.sleep(0.3)  # the edits reach the server
        await alice.close()
        await asyncio.sleep(1.5)  # MAPPER_ROOM_IDLE_S is 1: the room unloads, still unwritten
        assert readyz(server).json()["pendingUpdates"] > 0
        # Reconnecting cannot work yet...
        assert await refused(server, chain, token) == 1013
    # ...and once the database is back, the room loads with what the writer kept.
    await eventually(lambda: readyz(server).status_code == 200, 10, "/readyz back to 200")
    bob = await join(server, chain, token)
    assert system_ids(bob) == ids(31000001, 31000005)
    await bob.close()
    assert set(document(server, token, chain)["systems"]) == ids(31000001, 31000005)

"""Several `mapper serve` processes as one service, joined by Redis (MAPPER_REDIS_URL).

Every test runs two or three real processes on one Postgres database and one data folder (so
they share the built-in issuer's signing key), joined through the machine's Redis. Chain ids
are fresh uuids, so the Redis channels (`mapper:room:<chain id>`) of different tests, and of
anyone else using the same Redis, never meet; nothing here flushes or restarts Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from pycrdt import Doc, Map, Text, get_state

from tests.chains import add_system, auth, create_chain, document, grant, join, system_ids
from tests.server import MapperServer, node, running
from tests.wire import WireClient
from tests.yclient import YClient

CONVERGE_S = 5.0


pytestmark = [
    pytest.mark.usefixtures("node_modules"),
    pytest.mark.parametrize("database_url", ["postgres"], indirect=True),
]


@pytest.fixture
def pair(
    tmp_path: Path, database_url: str, redis_url: str
) -> Iterator[tuple[MapperServer, MapperServer]]:
    """Two processes of one service; A writes to the database only every 20 s (or on demand),
    so what B's clients get from A travelled through Redis, not through the database."""
    a = node(tmp_path / "data", database_url, redis_url, MAPPER_FLUSH_MS="20s")
    b = node(tmp_path / "data", database_url, redis_url)
    with running(a, b):
        yield a, b


def set_field(client: WireClient, system_id: int, name: str, value: object) -> None:
    client.edit(lambda doc: doc.get("systems", type=Map)[str(system_id)].__setitem__(name, value))


def content(client: WireClient) -> dict[str, Any]:
    return {root: client.map(root).to_py() for root in ("meta", "systems", "connections")}


async def converged(*clients: WireClient) -> dict[str, Any]:
    """Wait until every client holds the same document; return it."""
    first = clients[0]
    for client in clients[1:]:
        await client.wait(lambda c=client: content(c) == content(first), CONVERGE_S)
    return content(first)


def database_rows(database_url: str, chain: str) -> list[bytes]:
    """The chain's update log, straight from Postgres, in id order."""
    url = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT data FROM chain_updates WHERE chain_id = %s ORDER BY id", [chain]
        ).fetchall()
    return [bytes(row[0]) for row in rows]


# Edits, both ways


async def test_wire_clients_on_two_processes_converge_both_ways(
    pair: tuple[MapperServer, MapperServer],
) -> None:
    a, b = pair
    token = a.token("alice")
    chain = create_chain(a, token)
    alice, bob = await join(a, chain, token), await join(b, chain, token)
    assert alice.map("meta")["name"] == bob.map("meta")["name"] == "Home chain"

    add_system(alice, 31000005)
    await bob.wait(lambda: system_ids(bob) == {"31000005"})
    add_system(bob, 31000006, x=3.0)
    await alice.wait(lambda: "31000006" in system_ids(alice))
    bob.edit(
        lambda doc: doc.get("systems", type=Map)["31000005"].__setitem__("notes", Text("hello"))
    )
    await alice.wait(lambda: "notes" in alice.map("systems")["31000005"])
    # Concurrent edits of the same text and the same field, from both sides at once.
    alice.edit(lambda doc: doc.get("systems", type=Map)["31000005"]["notes"].insert(0, "A:"))
    bob.edit(lambda doc: doc.get("systems", type=Map)["31000005"]["notes"].insert(5, "!"))
    set_field(alice, 31000006, "x", 1.0)
    set_field(bob, 31000006, "x", 2.0)
    final = await converged(alice, bob)
    assert set(final["systems"]) == {"31000005", "31000006"}
    assert sorted(final["systems"]["31000005"]["notes"]) == sorted("A:hello!")
    assert final["systems"]["31000006"]["x"] in (1.0, 2.0)

    # A schema correction made by B (alias too long) reaches A's client too.
    set_field(bob, 31000006, "alias", "x" * 100)
    await alice.wait(lambda: len(alice.map("systems")["31000006"].get("alias", "")) == 64)
    # A third client, joining on A afterwards, gets the same document.
    carol = await join(a, chain, token)
    assert await converged(alice, bob, carol) == content(bob)
    for client in (alice, bob, carol):
        await client.close()


async def test_stock_yjs_clients_on_two_processes_converge(
    pair: tuple[MapperServer, MapperServer],
) -> None:
    a, b = pair
    token = a.token("alice")
    chain = create_chain(a, token)
    system = {"id": 31000005, "x": 10, "y": 20, "alias": "home", "status": "friendly"}
    async with (
        YClient.start(f"{a.ws}/ws/chains", chain, token, client="v3") as on_a,
        YClient.start(f"{b.ws}/ws/chains", chain, token, client="v4") as on_b,
    ):
        await on_a.wait_synced(timeout=10)
        await on_b.wait_synced(timeout=10)
        await on_a.set_map("systems", "31000005", {**system, "notes": "first"})
        await on_b.wait_for(["systems", "31000005", "notes"], "first")
        await on_b.set(["systems", "31000005", "x"], 99)
        await on_b.text_insert(["systems", "31000005", "notes"], 0, ">> ")
        await on_a.set_map("systems", "31000006", {**system, "id": 31000006})
        for client in (on_a, on_b):
            await client.wait_for(["systems", "31000005", "x"], 99)
            await client.wait_for(["systems", "31000005", "notes"], ">> first")
            await client.wait_for(["systems", "31000006", "alias"], "home")
        await on_b.delete(["systems", "31000006"])
        await on_a.wait_for(["systems", "31000006"], None)
        assert await on_a.get() == await on_b.get()
        # A wire client joining on B now sees it all.
        late = await join(b, chain, token)
        assert system_ids(late) == {"31000005"}
        assert str(late.map("systems")["31000005"]["notes"]) == ">> first"
        await late.close()


async def test_joiner_on_b_gets_edits_a_has_not_stored_yet(
    pair: tuple[MapperServer, MapperServer], database_url: str
) -> None:
    a, b = pair
    token = a.token("alice")
    chain = create_chain(a, token)
    alice = await join(a, chain, token)
    for system_id in range(31000001, 31000011):
        add_system(alice, system_id)
    await alice.wait(lambda: len(system_ids(alice)) == 10)
    await asyncio.sleep(0.2)  # the updates have reached A (it echoes them)
    # B has no room for the chain yet: it loads it from the database, which only holds the
    # chain's creation (A writes every 20 s), and asks the other processes for the rest.
    assert len(database_rows(database_url, chain)) == 1
    bob = await join(b, chain, token)
    await bob.wait(lambda: len(system_ids(bob)) == 10, timeout=3)
    assert len(database_rows(database_url, chain)) == 1, "the database carried the edits"
    # And edits keep flowing both ways through B's freshly loaded room.
    add_system(bob, 31000011)
    await alice.wait(lambda: "31000011" in system_ids(alice))
    await alice.close()
    await bob.close()


# Awareness


async def test_awareness_crosses_processes_with_user_from_the_token(
    pair: tuple[MapperServer, MapperServer],
) -> None:
    a, b = pair
    token = a.token("alice", name="Alice")
    chain = create_chain(a, token)
    grant(a, token, chain, "user:bob", "editor")
    alice = await join(a, chain, token)
    forged = {"user": {"id": "bob", "name": "Bob"}, "visible": True, "selected": None}
    await alice.set_awareness(111, 1, forged)
    await asyncio.sleep(0.2)
    # Bob joins on B after Alice set her state: B's room is new, so it learns A's presence
    # through the state exchange when it loads.
    bob = await join(b, chain, b.token("bob", name="Bob"))
    await bob.wait(lambda: 111 in bob.awareness)
    assert bob.awareness[111]["user"] == {"id": "alice", "name": "Alice"}
    assert bob.awareness[111]["visible"] is True
    # A change made on A while B's room is live arrives as it happens.
    await alice.set_awareness(111, 2, {**forged, "selected": 31000005})
    await bob.wait(lambda: bob.awareness[111].get("selected") == 31000005)
    assert bob.awareness[111]["user"] == {"id": "alice", "name": "Alice"}
    # And the other way round: Bob's state on B reaches Alice on A, as Bob.
    await bob.set_awareness(222, 1, {"user": {"id": "alice"}, "visible": False})
    await alice.wait(lambda: 222 in alice.awareness)
    assert alice.awareness[222]["user"] == {"id": "bob", "name": "Bob"}
    # An abrupt close on A removes Alice's state on B.
    alice.socket.transport.abort()
    await bob.wait(lambda: bob.awareness.get(111, "gone") is None)
    await bob.close()


async def test_a_client_that_moves_to_another_process_keeps_its_presence(
    pair: tuple[MapperServer, MapperServer],
) -> None:
    a, b = pair
    token = a.token("alice", name="Alice")
    chain = create_chain(a, token)
    watch_a, watch_b = await join(a, chain, token), await join(b, chain, token)
    tab = await join(a, chain, token)
    await tab.set_awareness(111, 1, {"visible": True})
    await watch_b.wait(lambda: 111 in watch_b.awareness)
    await tab.close()
    await watch_b.wait(lambda: watch_b.awareness[111] is None)
    # The same Yjs client reconnects, through B this time (a restart, a load balancer):
    # y-websocket re-sends its state with the same clock, then renews it.
    tab = await join(b, chain, token)
    await tab.set_awareness(111, 1, {"visible": True, "selected": 31000005})
    await tab.set_awareness(111, 2, {"visible": True, "selected": 31000005})
    for watcher in (watch_b, watch_a):
        await watcher.wait(lambda w=watcher: (w.awareness[111] or {}).get("selected") == 31000005)
    for client in (watch_a, watch_b, tab):
        await client.close()


# Access changes made through one process apply on every process


async def test_revocation_and_deletion_on_a_close_sockets_on_b(
    pair: tuple[MapperServer, MapperServer],
) -> None:
    a, b = pair
    owner_token = a.token("owner")
    chain = create_chain(a, owner_token)
    grant(a, owner_token, chain, "user:eve", "editor")
    grant(a, owner_token, chain, "user:vic", "editor")
    eve = await join(b, chain, b.token("eve"))
    vic = await join(b, chain, b.token("vic"))
    owner_on_a = await join(a, chain, owner_token)
    owner_on_b = await join(b, chain, owner_token)

    # A downgrade through A applies to the open socket on B.
    grant(a, owner_token, chain, "user:vic", "viewer")
    await asyncio.sleep(1.0)
    add_system(vic, 31000007)
    await vic.wait(lambda: vic.denied != [])
    add_system(owner_on_b, 31000008)
    await owner_on_a.wait(lambda: "31000008" in system_ids(owner_on_a))
    assert "31000007" not in system_ids(owner_on_a)

    response = httpx.delete(
        f"{a.http}/api/chains/{chain}/members/user:eve", headers=auth(owner_token)
    )
    assert response.status_code == 204
    assert await eve.wait_closed(timeout=5) == 4403
    assert not vic.closed.is_set() and not owner_on_b.closed.is_set()

    response = httpx.delete(f"{a.http}/api/chains/{chain}", headers=auth(owner_token))
    assert response.status_code == 204
    for client in (owner_on_b, vic, owner_on_a):
        assert await client.wait_closed(timeout=5) == 4404
    # Coming back, on either process, is refused.
    for server in (a, b):
        again = await WireClient.connect(server.ws, f"/ws/chains/{chain}", owner_token)
        assert await again.wait_closed(timeout=5) == 4404


async def test_a_client_reconnecting_at_once_after_deletion_is_refused(
    pair: tuple[MapperServer, MapperServer],
) -> None:
    a, b = pair
    token = a.token("owner")
    chain = create_chain(a, token)
    on_a, on_b = await join(a, chain, token), await join(b, chain, token)
    for system_id in range(31000001, 31000051):
        add_system(on_a, system_id)  # still pending in A's writer when the deletion comes
    await on_b.wait(lambda: len(system_ids(on_b)) == 50)
    async with httpx.AsyncClient() as http:
        deletion = asyncio.create_task(
            http.delete(f"{a.http}/api/chains/{chain}", headers=auth(token))
        )
        # y-websocket reconnects after any close; do it the moment the 4404 arrives.
        assert await on_b.wait_closed(timeout=5) == 4404
        again_b = await WireClient.connect(b.ws, f"/ws/chains/{chain}", token)
        assert await on_a.wait_closed(timeout=5) == 4404
        again_a = await WireClient.connect(a.ws, f"/ws/chains/{chain}", token)
        assert (await deletion).status_code == 204
    for again in (again_b, again_a):
        with contextlib.suppress(TimeoutError):
            await again.wait_closed(timeout=3)
        assert not again.synced.is_set(), "admitted to a deleted chain"
        assert again.close_code == 4404
        await again.close()


# Durability


async def test_each_update_is_stored_exactly_once(
    tmp_path: Path, database_url: str, redis_url: str
) -> None:
    a, b, c = (node(tmp_path / "data", database_url, redis_url) for _ in range(3))
    with running(a, b, c):
        token = a.token("alice")
        chain = create_chain(a, token)
        clients = [await join(server, chain, token) for server in (a, b, c, a, b)]
        for round_ in range(8):
            for index, client in enumerate(clients):
                system_id = 31000000 + round_ * 10 + index
                add_system(client, system_id, x=float(round_))
                if round_ % 2:
                    set_field(client, 31000000 + index, "x", float(round_ * 100 + index))
            await asyncio.sleep(0.05)
        # A correction too: only the process whose client broke the schema fixes it.
        set_field(clients[1], 31000001, "status", "not-a-status")
        expected = await converged(*clients)
        assert len(expected["systems"]) == 40
        assert expected["systems"]["31000001"]["status"] == "unknown"
        for client in clients:
            await client.close()
        for server in (a, b, c):
            assert server.stop(), server.log()

    rows = database_rows(database_url, chain)
    seen: dict[int, list[tuple[int, int]]] = {}
    for row in rows:
        for client_id, start, end in struct_ranges(row):
            seen.setdefault(client_id, []).append((start, end))
    rebuilt: Doc = Doc()
    for row in rows:
        rebuilt.apply_update(row)
    # Every Yjs client's updates are in the log once: no overlapping ranges, and no gaps up
    # to what the rebuilt document holds.
    state = decode_state_vector(get_state(rebuilt.get_update()))
    assert set(seen) == set(state)
    for client_id, ranges in seen.items():
        ranges.sort()
        position = 0
        for start, end in ranges:
            assert start == position, f"client {client_id}: {ranges} overlap or leave a gap"
            position = end
        assert position == state[client_id]

    # A single process (no Redis) loading the chain from the database shows the same content.
    with running(MapperServer(tmp_path / "data", database_url)) as (single,):
        stored = document(single, token, chain)
        assert {root: stored[root] for root in expected} == expected
        fresh = await join(single, chain, token)
        assert content(fresh) == expected
        await fresh.close()


def decode_state_vector(state: bytes) -> dict[int, int]:
    reader = _Reader(state)
    return {reader.uint(): reader.uint() for _ in range(reader.uint())}


# A reader of Yjs update encoding v1, enough to list which (client, clock) ids an update holds
# (checked against Yjs's own decodeUpdate on random and merged updates).


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def byte(self) -> int:
        value = self.data[self.pos]
        self.pos += 1
        return value

    def uint(self) -> int:
        value, shift = 0, 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return value

    def skip(self, count: int) -> None:
        self.pos += count

    def string(self) -> str:
        length = self.uint()
        self.pos += length
        return self.data[self.pos - length : self.pos].decode()

    def any(self) -> None:
        """Skip one lib0 `any` value."""
        kind = self.byte()
        if kind == 125:  # varint
            while self.byte() & 0x80:
                pass
        elif kind == 124:  # float32
            self.skip(4)
        elif kind in (123, 122):  # float64, bigint64
            self.skip(8)
        elif kind == 119:
            self.string()
        elif kind == 118:  # object
            for _ in range(self.uint()):
                self.string()
                self.any()
        elif kind == 117:  # array
            for _ in range(self.uint()):
                self.any()
        elif kind == 116:  # bytes
            self.skip(self.uint())
        elif kind not in (127, 126, 121, 120):  # undefined, null, false, true
            raise ValueError(f"unknown lib0 any type {kind}")


def struct_ranges(update: bytes) -> list[tuple[int, int, int]]:
    """(client, first clock, end clock) of every struct in a v1 update, skips left out."""
    reader = _Reader(update)
    ranges = []
    for _ in range(reader.uint()):
        structs, client, clock = reader.uint(), reader.uint(), reader.uint()
        for _ in range(structs):
            info = reader.byte()
            ref = info & 0x1F
            if ref == 10:  # skip
                clock += reader.uint()
                continue
            if ref == 0:  # GC
                length = reader.uint()
            else:
                if info & 0x80:  # origin
                    reader.uint(), reader.uint()
                if info & 0x40:  # right origin
                    reader.uint(), reader.uint()
                if not info & 0xC0:  # parent: a root name or an item id, then a map key
                    if reader.uint() == 1:
                        reader.string()
                    else:
                        reader.uint(), reader.uint()
                    if info & 0x20:
                        reader.string()
                length = _content_length(reader, ref)
            ranges.append((client, clock, clock + length))
            clock += length
    return ranges


def _content_length(reader: _Reader, ref: int) -> int:
    if ref in (1, 2, 8):  # deleted, JSON, any: a count of values
        count = reader.uint()
        for _ in range(count if ref != 1 else 0):
            reader.string() if ref == 2 else reader.any()
        return count
    if ref == 3:  # binary
        reader.skip(reader.uint())
    elif ref == 4:  # string: its length counts UTF-16 code units
        return len(reader.string().encode("utf-16-le")) // 2
    elif ref == 5:  # embed
        reader.string()
    elif ref == 6:  # format
        reader.string()
        reader.string()
    elif ref == 7:  # type; XmlElement and XmlHook carry a name
        if reader.uint() in (3, 5):
            reader.string()
    elif ref == 9:  # subdocument
        reader.string()
        reader.any()
    else:
        raise ValueError(f"unknown struct content type {ref}")
    return 1

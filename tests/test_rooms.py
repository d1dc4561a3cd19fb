"""Websocket rooms against a real `mapper serve`: sync, roles, awareness, limits, lifecycle."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import httpx
import pytest
from pycrdt import Doc, Map, Text, merge_updates
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from mapper.core import protocol
from mapper.persistence.nesting import read_structs
from tests.chains import add_system, create_chain, grant, join, meta_edits, system_ids
from tests.server import MapperServer
from tests.wire import WireClient, updates_received


async def test_edits_converge_and_echo_to_sender(server: MapperServer) -> None:
    token = server.token("alice")
    chain = create_chain(server, token)
    alice, bob = await join(server, chain, token), await join(server, chain, token)
    before = updates_received(alice)
    add_system(alice, 31000005)
    await bob.wait(lambda: system_ids(bob) == {"31000005"})
    # Updates reach every connection, the sender included.
    await alice.wait(lambda: updates_received(alice) > before)
    bob.edit(lambda doc: doc.get("meta", type=Map).__setitem__("home", 31000005))
    await alice.wait(lambda: alice.map("meta").get("home") == 31000005)
    late = await join(server, chain, token)
    assert system_ids(late) == {"31000005"}
    assert late.map("meta")["name"] == "Home chain"
    for client in (alice, bob, late):
        await client.close()


async def test_edits_survive_restart(server: MapperServer) -> None:
    token = server.token("alice")
    chain = create_chain(server, token)
    alice = await join(server, chain, token)
    for system_id in range(31000001, 31000021):
        add_system(alice, system_id)
    alice.edit(
        lambda doc: doc.get("systems", type=Map)["31000001"].__setitem__("notes", Text("hi"))
    )
    await asyncio.sleep(0.1)
    await alice.close()
    assert server.stop()
    server.start()
    fresh = await join(server, chain, token)
    assert len(system_ids(fresh)) == 20
    assert str(fresh.map("systems")["31000001"]["notes"]) == "hi"
    await fresh.close()


async def test_several_messages_in_one_frame(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    watcher = await join(server, chain, token)
    socket = await connect(f"{server.ws}/ws/chains/{chain}?token={token}")
    doc: Doc = Doc()
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for system_id in (31000001, 31000002):
        with doc.transaction():
            doc.get("systems", type=Map)[str(system_id)] = Map({"id": system_id})
    frame = b"".join(protocol.create_update_message(update) for update in updates)
    await socket.send(frame)
    await watcher.wait(lambda: system_ids(watcher) == {"31000001", "31000002"})
    await socket.close()
    await watcher.close()


async def test_viewer_updates_are_refused(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner_token = server.token("owner")
    chain = create_chain(server, owner_token)
    grant(server, owner_token, chain, "user:vic", "viewer")
    owner = await join(server, chain, owner_token)
    viewer = await join(server, chain, server.token("vic"))
    before = updates_received(owner)
    add_system(viewer, 31000005)
    await viewer.wait(lambda: viewer.denied != [])
    await asyncio.sleep(0.2)
    assert updates_received(owner) == before
    assert system_ids(owner) == set()
    # The viewer still sees others' edits.
    add_system(owner, 31000006)
    await viewer.wait(lambda: "31000006" in system_ids(viewer))
    await owner.close()
    await viewer.close()


@pytest.mark.parametrize(
    ("token_kind", "code"),
    [("none", 4401), ("garbage", 4401), ("stranger", 4404), ("missing-chain", 4404)],
)
async def test_admission_close_codes(
    sqlite_server: MapperServer, token_kind: str, code: int
) -> None:
    server = sqlite_server
    chain = create_chain(server, server.token("owner"))
    token = {
        "none": None,
        "garbage": "not-a-jwt",
        "stranger": server.token("stranger"),
        "missing-chain": server.token("owner"),
    }[token_kind]
    path = "/ws/chains/no-such-chain" if token_kind == "missing-chain" else f"/ws/chains/{chain}"
    client = await WireClient.connect(server.ws, path, token)
    assert await client.wait_closed() == code


async def test_expired_token_is_refused(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    chain = create_chain(server, server.token("owner"))
    expired = server.token("owner", ttl_s=-120)
    client = await WireClient.connect(server.ws, f"/ws/chains/{chain}", expired)
    assert await client.wait_closed() == 4401


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        (b"\xff\xff\xff", 1007),  # truncated varint
        (b"\x07\x01\x02", 1007),  # unknown message type
        (b"\x00\x02\x05\x01\x02", 1007),  # byte array past the end
        (b"\x00\x02\x04\xff\xff\xff\x0f", 1007),  # update that does not decode
        (b"\x01\x06\x01\x01\x01\x02{x", 1007),  # awareness that is not JSON
        (b"\x00\x00\x01\xff", 1007),  # state vector that does not decode
    ],
)
async def test_bad_bytes_drop_only_that_client(
    sqlite_server: MapperServer, frame: bytes, code: int
) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    good = await join(server, chain, token)
    bad = await join(server, chain, token)
    await bad.send(frame)
    assert await bad.wait_closed() == code
    add_system(good, 31000007)
    other = await join(server, chain, token)
    await other.wait(lambda: "31000007" in system_ids(other))
    await good.close()
    await other.close()


async def test_text_frame_is_refused(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    async with connect(f"{server.ws}/ws/chains/{chain}?token={token}") as socket:
        await socket.send("hello")
        with pytest.raises(ConnectionClosed):
            while True:
                await socket.recv()
        assert socket.close_code == 1007


async def test_oversized_message_closes_1009(tmp_path, sqlite_url) -> None:
    server = MapperServer(tmp_path / "d", sqlite_url, env={"MAPPER_MAX_MESSAGE_BYTES": "10000"})
    server.start()
    try:
        token = server.token("alice")
        chain = create_chain(server, token)
        good = await join(server, chain, token)
        bad = await join(server, chain, token)
        await bad.send(protocol.create_update_message(b"\x00" * 20000))
        assert await bad.wait_closed() == 1009
        add_system(good, 31000008)
        await good.wait(lambda: "31000008" in system_ids(good))
        await good.close()
    finally:
        server.stop()


async def test_flood_closes_1008(tmp_path, sqlite_url) -> None:
    env = {"MAPPER_RATE_LIMIT": "10", "MAPPER_RATE_BURST": "20"}
    server = MapperServer(tmp_path / "d", sqlite_url, env=env).start()
    try:
        token = server.token("alice")
        chain = create_chain(server, token)
        good = await join(server, chain, token)
        bad = await join(server, chain, token)
        query = protocol.create_sync_step1_message(b"\x00")
        for _ in range(200):
            await bad.send(query)
        assert await bad.wait_closed() == 1008
        add_system(good, 31000009)
        await good.wait(lambda: "31000009" in system_ids(good))
        await good.close()
    finally:
        server.stop()


async def test_awareness_user_is_overwritten_and_joiners_see_everyone(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    token = server.token("alice", name="Alice")
    chain = create_chain(server, token)
    grant(server, token, chain, "user:bob", "editor")
    alice = await join(server, chain, token)
    bob = await join(server, chain, server.token("bob", name="Bob"))
    forged = {"user": {"id": "bob", "name": "Bob"}, "visible": True, "selected": None}
    await alice.set_awareness(111, 1, forged)
    await bob.wait(lambda: 111 in bob.awareness)
    assert bob.awareness[111]["user"] == {"id": "alice", "name": "Alice"}
    assert bob.awareness[111]["visible"] is True
    carol = await join(server, chain, token)
    await carol.wait(lambda: 111 in carol.awareness)
    # An abrupt close removes that client's state for everyone at once.
    alice.socket.transport.abort()
    await bob.wait(lambda: bob.awareness.get(111, "gone") is None)
    await carol.wait(lambda: carol.awareness.get(111, "gone") is None)
    await bob.close()
    await carol.close()


async def test_awareness_relays_are_not_amplified(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    clients = [await join(server, chain, token) for _ in range(4)]
    for index, client in enumerate(clients):
        await client.set_awareness(1000 + index, 1, {"visible": True})
    for client in clients:
        await client.wait(lambda c=client: len(c.awareness) == 3)  # everyone but itself
    counts = [client.frames_in for client in clients]
    # Stock clients re-send every entry they receive: such relays must go nowhere.
    await clients[1].set_awareness(1000, 1, {"visible": True})
    await clients[2].set_awareness(1000, 5, {"visible": False})
    await asyncio.sleep(0.3)
    assert [client.frames_in for client in clients] == counts
    # A renewal by the owner (newer clock) reaches the others, once each.
    await clients[0].set_awareness(1000, 2, {"visible": True})
    await asyncio.sleep(0.3)
    assert [c.frames_in - n for c, n in zip(clients, counts, strict=True)] == [0, 1, 1, 1]
    for client in clients:
        await client.close()


async def test_revocation_closes_socket(server: MapperServer) -> None:
    owner_token = server.token("owner")
    chain = create_chain(server, owner_token)
    grant(server, owner_token, chain, "user:eve", "editor")
    eve = await join(server, chain, server.token("eve"))
    response = httpx.delete(
        f"{server.http}/api/chains/{chain}/members/user:eve",
        headers={"Authorization": f"Bearer {owner_token}"},
    )
    assert response.status_code == 204
    assert await eve.wait_closed(timeout=5) == 4403


async def test_downgrade_to_viewer_takes_effect_live(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner_token = server.token("owner")
    chain = create_chain(server, owner_token)
    grant(server, owner_token, chain, "user:eve", "editor")
    eve = await join(server, chain, server.token("eve"))
    grant(server, owner_token, chain, "user:eve", "viewer")
    add_system(eve, 31000010)
    await eve.wait(lambda: eve.denied != [])
    await eve.close()


async def test_many_clients_join_a_loading_room_at_once(server: MapperServer) -> None:
    token = server.token("alice")
    chain = create_chain(server, token)
    first = await join(server, chain, token)
    add_system(first, 31000011)
    await asyncio.sleep(0.1)
    await first.close()
    await asyncio.sleep(1.6)  # the room unloads after MAPPER_ROOM_IDLE_S=1
    clients = await asyncio.gather(*(join(server, chain, token) for _ in range(20)))
    for client in clients:
        assert system_ids(client) == {"31000011"}
        await client.close()


async def stalled_client(server: MapperServer, path: str) -> socket.socket:
    """A websocket client that completes the handshake and then never reads again."""
    sock = socket.socket()
    # Small, fixed buffers: loopback autotuning would otherwise swallow 32 MB.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", server.port))
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await asyncio.to_thread(sock.recv, 1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def test_stalled_client_is_dropped_without_delaying_others(tmp_path, sqlite_url) -> None:
    server = MapperServer(
        tmp_path / "d", sqlite_url, env={"MAPPER_SEND_QUEUE_BYTES": "1000000"}
    ).start()
    try:
        token = server.token("alice")
        chain = create_chain(server, token)
        writer = await join(server, chain, token)
        reader = await join(server, chain, token)
        stalled = await stalled_client(server, f"/ws/chains/{chain}?token={token}")
        # Unknown fields are left alone by the schema: they make the megabytes.
        add_system(writer, 31000100)
        for index in range(100):
            writer.edit(
                lambda doc, i=index: doc.get("systems", type=Map)["31000100"].__setitem__(
                    "pad", f"{i:03}" + "x" * 200_000
                )
            )
            await asyncio.sleep(0.01)

        def last_pad() -> str:
            system = reader.map("systems").get("31000100")
            return system.get("pad", "")[:3] if system is not None else ""

        await reader.wait(lambda: last_pad() == "099", timeout=15)
        metrics = httpx.get(
            f"{server.http}/metrics",
            headers={"Authorization": f"Bearer {server.token('a', admin=True)}"},
        ).text
        assert "mapper_queue_overflows_total 1.0" in metrics
        stalled.close()
        await writer.close()
        await reader.close()
    finally:
        server.stop()


async def test_schema_corrections_reach_every_client(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    alice, bob = await join(server, chain, token), await join(server, chain, token)
    add_system(alice, 31000005)
    alice.edit(
        lambda doc: doc.get("connections", type=Map).__setitem__(
            "31000005-31000006", Map({"a": 31000005, "b": 31000006, "kind": "wormhole"})
        )
    )
    alice.edit(
        lambda doc: doc.get("systems", type=Map)["31000005"].update(
            {"status": "bogus", "alias": "x" * 100, "locked": 1}
        )
    )
    expected = {"status": "unknown", "alias": "x" * 64, "locked": False}

    def corrected(client: WireClient) -> bool:
        system = client.map("systems").get("31000005")
        return system is not None and all(system.get(k) == v for k, v in expected.items())

    for client in (alice, bob):
        await client.wait(lambda c=client: corrected(c))
        # The connection to a system not on the map was removed for everyone.
        await client.wait(lambda c=client: "31000005-31000006" not in c.map("connections"))
    await alice.close()
    await bob.close()


async def test_an_update_that_skips_clocks_is_refused_and_nothing_diverges(
    sqlite_server: MapperServer,
) -> None:
    """yrs shows a map entry whose writer's earlier clocks are missing at once, but leaves it
    out of the transaction's update (see tests/test_nesting.py): accepted, it would reach late
    joiners and never the database. The room refuses it, and the stored chain stays the live one."""
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    updates = meta_edits("first", "second", "third")
    bad = await join(server, chain, token)
    await bad.send(protocol.create_update_message(updates[0]))
    await bad.send(protocol.create_update_message(updates[2]))  # skips "second"
    assert await bad.wait_closed() == 1007
    late = await join(server, chain, token)
    assert "first" in late.map("meta") and "third" not in late.map("meta")
    await late.close()
    document = httpx.get(
        f"{server.http}/api/chains/{chain}/document",
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    assert "first" in document["meta"] and "third" not in document["meta"]


async def test_the_broadcast_is_the_senders_update_or_only_what_was_new(
    sqlite_server: MapperServer,
) -> None:
    """An update the document takes whole goes out as its sender wrote it (yrs need not encode
    it again); one that repeats what the document has goes out as only what was new."""
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    alice, bob = await join(server, chain, token), await join(server, chain, token)
    first, second = meta_edits("first", "second")

    def payloads() -> list[bytes]:
        return [
            m.payload
            for m in bob.messages
            if isinstance(m, protocol.SyncMessage) and m.kind == protocol.SYNC_UPDATE
        ]

    await alice.send(protocol.create_update_message(first))
    await bob.wait(lambda: "first" in bob.map("meta"))
    assert payloads()[-1] == first
    await alice.send(protocol.create_update_message(merge_updates(first, second)))
    await bob.wait(lambda: "second" in bob.map("meta"))
    (struct,) = read_structs(payloads()[-1])
    assert struct.clock == 1  # "second" alone
    for client in (alice, bob):
        await client.close()

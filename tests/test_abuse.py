"""What a spy in the corporation can try with a stock client and a few lines of Python: each
attack must cost only the attacker's own connection (contract section 4).

Nesting shared types deeper than yrs can walk, frames packed with thousands of messages,
awareness floods, and a flood that would get the same user's good tab closed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import httpx
from pycrdt import Doc, Map, write_var_uint

from mapper.core import protocol
from mapper.persistence.database import create_engine
from mapper.persistence.store import Store
from tests.chains import add_system, auth, create_chain, document, grant, join, system_ids
from tests.server import MapperServer
from tests.wire import WireClient
from tests.yclient import YClient

CLOSE_UNDECODABLE = 1007
CLOSE_RATE_LIMITED = 1008
CLOSE_TRY_AGAIN = 1013


def nested_update(depth: int, key: str = "31000001", root: str = "systems") -> bytes:
    """One update putting `depth` levels of Y.Map under `root` (the root is level 1)."""
    doc: Doc = Doc()
    current = doc.get(root, type=Map)
    with doc.transaction():
        for _ in range(depth - 1):
            current[key] = Map()
            current = current[key]
            key = "deep"
    return doc.get_update()


def healthz_ms(server: MapperServer) -> float:
    started = time.perf_counter()
    assert httpx.get(f"{server.http}/healthz", timeout=10).status_code == 200
    return (time.perf_counter() - started) * 1000


def rss_mb(server: MapperServer) -> float:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


async def test_nesting_past_16_levels_is_refused_before_it_is_applied(
    server: MapperServer,
) -> None:
    token = server.token("spy")
    chain = create_chain(server, token)
    bystander = await join(server, chain, token)
    for depth, key in ((40_000, "not-a-system"), (20_000, "31000001"), (17, "31000002")):
        spy = await join(server, chain, token)
        updates_before = bystander.frames_in
        await spy.send(protocol.create_update_message(nested_update(depth, key)))
        assert await spy.wait_closed(10) == CLOSE_UNDECODABLE, depth
        assert healthz_ms(server) < 1000
        assert bystander.frames_in == updates_before, "nothing of it was broadcast"
    content = document(server, token, chain)
    assert content["systems"] == {}
    # Not stored either: a restart finds nothing of it.
    assert server.stop()
    server.start()
    assert document(server, token, chain)["systems"] == {}
    await bystander.close()


async def test_16_levels_are_accepted_one_update_at_a_time(
    server: MapperServer,
) -> None:
    token = server.token("deep")
    chain = create_chain(server, token)
    client = await join(server, chain, token)
    watcher = await join(server, chain, token)
    current = client.map("systems")
    key = "31000001"
    for _ in range(15):  # levels 2 to 16, each in an update of its own
        client.edit(lambda doc, parent=current, k=key: parent.__setitem__(k, Map()))
        current = current[key]
        key = "deep"
    await watcher.wait(lambda: _depth(watcher.map("systems")) == 16)
    client.edit(lambda doc: current.__setitem__("deep", Map()))
    assert await client.wait_closed() == CLOSE_UNDECODABLE
    assert _depth(watcher.map("systems")) == 16
    await watcher.close()


def _depth(root: Map) -> int:
    """How deep nested maps go along the first map of each level (the root is level 1)."""
    depth, current = 1, root
    while True:
        inner = next((value for value in current.values() if isinstance(value, Map)), None)
        if inner is None:
            return depth
        depth, current = depth + 1, inner


async def _scout_watcher_and_spy(server: MapperServer) -> tuple[WireClient, ...]:
    """A scout who has mapped a system, a watcher who has seen it, and an editor who spies."""
    owner = server.token("scout")
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:spy", "editor")
    scout = await join(server, chain, owner)
    watcher = await join(server, chain, owner)
    add_system(scout, 31000001)
    await watcher.wait(lambda: "31000001" in system_ids(watcher))
    spy = await join(server, chain, server.token("spy"))
    await spy.wait(lambda: "31000001" in system_ids(spy))
    return scout, watcher, spy


async def test_a_spy_cannot_write_under_a_scouts_client_id(server: MapperServer) -> None:
    scout, watcher, spy = await _scout_watcher_and_spy(server)
    # The spy's items take the scout's next clock: without a check, the server would take the
    # scout's next edit for one it has and drop it.
    forged: Doc = Doc(client_id=scout.doc.client_id)
    forged.apply_update(spy.doc.get_update())
    before = forged.get_state()
    forged.get("systems", type=Map)["31000009"] = Map({"id": 31000009})
    await spy.send(protocol.create_update_message(forged.get_update(before)))
    assert await spy.wait_closed() == CLOSE_UNDECODABLE
    add_system(scout, 31000002)
    await watcher.wait(lambda: "31000002" in system_ids(watcher))
    assert "31000009" not in system_ids(watcher)
    await scout.close()
    await watcher.close()


async def test_a_spy_cannot_delete_a_scouts_next_edits_in_advance(server: MapperServer) -> None:
    scout, watcher, spy = await _scout_watcher_and_spy(server)
    # A delete set for clocks the scout has not used yet: yrs would keep it and delete
    # whatever the scout makes at those clocks.
    client = scout.doc.client_id
    deletes = write_var_uint(0) + write_var_uint(1) + write_var_uint(client) + write_var_uint(1)
    deletes += write_var_uint(0) + write_var_uint(10_000)  # clocks 0 to 9,999: past and future
    await spy.send(protocol.create_update_message(deletes))
    assert await spy.wait_closed() == CLOSE_UNDECODABLE
    add_system(scout, 31000002)
    await watcher.wait(lambda: "31000002" in system_ids(watcher))
    assert "31000001" in system_ids(watcher)
    await scout.close()
    await watcher.close()


async def test_content_an_older_version_stored_too_deep_is_repaired(
    database_url: str, tmp_path: Path
) -> None:
    server = MapperServer(tmp_path / "data", database_url)
    try:
        await _check_repair(server, database_url)
    finally:
        server.stop()


async def _check_repair(server: MapperServer, database_url: str) -> None:
    server.start()
    token = server.token("admin", admin=True)
    chain = create_chain(server, token)
    client = await join(server, chain, token)
    add_system(client, 31000005)
    await client.wait(lambda: "31000005" in document(server, token, chain)["systems"])
    await client.close()
    assert server.stop()
    # What an older version let in: 20,000 levels under a valid system key, in the log.
    store = Store(create_engine(database_url))
    try:
        stored: Doc = Doc()
        for update in await store.load_chain_updates(chain):
            stored.apply_update(update)
        before = stored.get_state()
        current = stored.get("systems", type=Map)
        key = "31000009"
        with stored.transaction():
            for _ in range(20_000):
                current[key] = Map()
                current = current[key]
                key = "deep"
        await store.append_updates({chain: [stored.get_update(before)]})
    finally:
        await store.close()

    server.start()
    assert set(document(server, token, chain)["systems"]) == {"31000005", "31000009"}
    client = await join(server, chain, token)
    assert 1 + _depth(client.map("systems")["31000009"]) == 16
    created = httpx.post(
        f"{server.http}/api/chains/{chain}/snapshots", json={}, headers=auth(token)
    )
    assert created.status_code == 201, created.text
    shown = httpx.get(
        f"{server.http}/api/chains/{chain}/snapshots/{created.json()['id']}",
        headers=auth(token),
    )
    assert shown.status_code == 200, shown.text
    verify = httpx.get(f"{server.http}/api/chains/{chain}/verify", headers=auth(token))
    assert verify.status_code == 200 and verify.json()["equal"] is True, verify.text
    assert "nested over the limits" in server.log()
    await client.close()


async def test_one_frame_of_many_messages_counts_as_many(server: MapperServer) -> None:
    owner = server.token("owner")
    chain = create_chain(server, owner)
    writer = await join(server, chain, owner)
    for system in range(200):
        add_system(writer, 31000100 + system)
    grant(server, owner, chain, "user:viewer", "viewer")
    viewer = server.token("viewer")
    step1 = protocol.create_sync_step1_message(b"\x00")
    for packed in (step1 * 50_000, b"\x03" * 20_000):
        spy = await WireClient.connect(server.ws, f"/ws/chains/{chain}", viewer)
        started = time.perf_counter()
        await spy.send(packed)
        assert await spy.wait_closed(10) == CLOSE_RATE_LIMITED
        assert time.perf_counter() - started < 2
        assert healthz_ms(server) < 100
        # Answered no more than the burst allows, and the same question once.
        assert len(spy.messages) < 10
    await writer.wait(lambda: len(system_ids(writer)) == 200)
    await writer.close()


async def test_a_client_that_never_reads_is_bounded_in_bytes(
    tmp_path: Path, database_url: str
) -> None:
    env = {"MAPPER_SEND_QUEUE_BYTES": "1000000", "MAPPER_RATE_BURST": "2000"}
    server = MapperServer(tmp_path / "data", database_url, env=env).start()
    try:
        owner = server.token("owner")
        chain = create_chain(server, owner)
        writer = await join(server, chain, owner)
        writer.edit(lambda doc: doc.get("meta", type=Map).__setitem__("pad", "x" * 200_000))
        await writer.wait(lambda: len(document(server, owner, chain)["meta"].get("pad", "")) > 0)
        grant(server, owner, chain, "user:viewer", "viewer")
        viewer = server.token("viewer")
        before = rss_mb(server)
        sockets = []
        for _ in range(4):
            # Distinct state vectors, so each asks for the whole document again.
            asks = b"".join(
                protocol.create_sync_step1_message(write_var_uint(1) + write_var_uint(c) + b"\x00")
                for c in range(1, 2_001)
            )
            sockets.append(await _silent_socket(server, f"/ws/chains/{chain}?token={viewer}"))
            sockets[-1].sendall(_masked_frame(asks))
        # Each is dropped once a megabyte waits for it; the service holds no more than that.
        await _until(lambda: "code=1013" in server.log() and server.log().count("code=1013") >= 4)
        assert rss_mb(server) - before < 100
        assert healthz_ms(server) < 100
        for sock in sockets:
            sock.close()
        await writer.close()
    finally:
        server.stop()


async def test_awareness_limits(server: MapperServer) -> None:
    token = server.token("spy")
    chain = create_chain(server, token)
    watcher = await join(server, chain, token)

    spy = await join(server, chain, token)
    for client_id in range(1, 9):
        await spy.set_awareness(client_id, 1, {"visible": True})
    await watcher.wait(lambda: len(watcher.awareness) == 8)
    await spy.set_awareness(9, 1, {"visible": True})
    assert await spy.wait_closed() == CLOSE_UNDECODABLE
    await watcher.wait(lambda: all(state is None for state in watcher.awareness.values()))

    spy = await join(server, chain, token)
    await spy.set_awareness(20, 1, {"note": "x" * (16 * 1024)})
    assert await spy.wait_closed() == CLOSE_UNDECODABLE

    spy = await join(server, chain, token)
    entries = b"".join(write_var_uint(i) + b"\x01\x04null" for i in range(100, 90_100))
    started = time.perf_counter()
    await spy.send(protocol.create_awareness_message(write_var_uint(90_000) + entries))
    assert await spy.wait_closed() == CLOSE_UNDECODABLE
    assert time.perf_counter() - started < 1

    # Nobody but the service shows pilots on the map.
    spy = await join(server, chain, token)
    fake = [{"characterId": 1, "userId": "spy", "systemId": 30000142, "online": True}]
    await spy.set_awareness(30, 1, {"visible": True, "pilots": fake})
    await watcher.wait(lambda: watcher.awareness.get(30) is not None)
    assert "pilots" not in watcher.awareness[30]
    assert watcher.awareness[30]["user"]["id"] == "spy"
    await spy.close()
    await watcher.close()


async def test_a_flooding_socket_does_not_get_the_same_users_tab_closed(
    server: MapperServer, node_modules: None
) -> None:
    token = server.token("scout")
    chain = create_chain(server, token)
    url = f"{server.ws}/ws/chains"
    async with YClient.start(url, chain, token) as tab:
        await tab.wait_synced()
        await tab.awareness_set({"visible": True})
        flooder = await join(server, chain, token)
        clock = 0
        while flooder.close_code is None and clock < 5_000:
            clock += 1
            await flooder.set_awareness(7, clock, {"visible": True, "n": clock})
            if clock % 50 == 0:
                await asyncio.sleep(0)
        assert await flooder.wait_closed(10) == CLOSE_RATE_LIMITED
        await tab.set(["systems", "31000001", "x"], 1)
        other = await join(server, chain, token)
        await other.wait(lambda: "31000001" in system_ids(other))
        assert not [event for event in tab.events if event.get("event") == "connection-close"]
        await other.close()


async def _silent_socket(server: MapperServer, path: str) -> socket.socket:
    """A websocket that completes the handshake and then never reads."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n"
    )
    sock.sendall(request.encode())
    response = b""
    while b"\r\n\r\n" not in response:
        response += await asyncio.to_thread(sock.recv, 1)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


def _masked_frame(payload: bytes) -> bytes:
    """One binary websocket frame as a client sends it (masked with a zero key)."""
    header = bytearray([0x82])
    if len(payload) < 126:
        header.append(0x80 | len(payload))
    elif len(payload) < 1 << 16:
        header += bytes([0x80 | 126]) + len(payload).to_bytes(2, "big")
    else:
        header += bytes([0x80 | 127]) + len(payload).to_bytes(8, "big")
    return bytes(header) + b"\x00\x00\x00\x00" + payload


async def _until(predicate: object, timeout: float = 15.0) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_a_state_vector_that_announces_millions_of_entries_is_refused_unread(
    server: MapperServer,
) -> None:
    """yrs reserves room for a state vector's announced count before reading it: 11 bytes
    claiming 244 million entries held the event loop for half a second or more (the fuzz
    test's unexplained pauses). The protocol reader refuses it first."""
    owner = server.token("owner")
    chain = create_chain(server, owner)
    bystander = await join(server, chain, owner)
    spy = await WireClient.connect(server.ws, f"/ws/chains/{chain}", owner)
    started = time.perf_counter()
    await spy.send(protocol.create_sync_step1_message(bytes.fromhex("c7d3da74581f8e6b917d6c")))
    assert await spy.wait_closed(10) == CLOSE_UNDECODABLE
    # Refused by the protocol reader (yrs would have said "CRDT data does not decode").
    assert spy.socket.close_reason == "truncated varUint"
    assert time.perf_counter() - started < 0.4
    assert healthz_ms(server) < 100
    add_system(bystander, 31000001)  # the room still works
    await bystander.wait(lambda: "31000001" in system_ids(bystander))
    await bystander.close()

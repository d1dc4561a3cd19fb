"""Self-check of the test harness (tests/yclient.py + tests/node/yclient.mjs), NOT of mapper.

Runs the stock Node server @y/websocket-server and checks that two y-websocket v3 clients and
one v4 client converge through it, and (against a stub) that auth rejections surface as events.
If these fail, the harness is broken, not mapper.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from tests.yclient import NODE_DIR, YClient, ensure_node_modules

pytestmark = pytest.mark.harness

SERVER_JS = NODE_DIR / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(proc: subprocess.Popen, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"y-websocket-server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"y-websocket-server not listening on {port} after {timeout}s")


@pytest.fixture(scope="module", autouse=True)
def node_modules() -> None:
    ensure_node_modules()


@pytest.fixture(scope="module")
def node_server_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        ["node", str(SERVER_JS)],
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_listening(proc, port)
        # Same shape as mapper's endpoint; the stock server just uses the path as room name.
        yield f"ws://127.0.0.1:{port}/ws/chains"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def room() -> str:
    return f"selfcheck-{uuid.uuid4().hex[:8]}"


async def test_harness_convergence_v3_v3_v4(node_server_url: str, room: str) -> None:
    async with (
        YClient.start(node_server_url, room, "t", client="v3") as a,
        YClient.start(node_server_url, room, "t", client="v3") as b,
        YClient.start(node_server_url, room, "t", client="v4") as c,
    ):
        for cl in (a, b, c):
            await cl.wait_synced()
        await a.set(["systems", "31000005", "x"], 10)
        await a.set(["systems", "31000005", "y"], 20)
        await b.set_map("systems", "31000006", {"name": "J123456", "notes": "static"})
        await c.set(["meta", "name"], "chain-1")
        for cl in (a, b, c):
            await cl.wait_for(["systems", "31000006", "notes"], "static")
            await cl.wait_for(["systems", "31000005", "y"], 20)
            await cl.wait_for(["meta", "name"], "chain-1")

        # Text edits from a v4 and a v3 client on the same Y.Text, then a delete from v3.
        await c.text_insert(["systems", "31000006", "notes"], 0, "C5 ")
        await a.wait_for(["systems", "31000006", "notes"], "C5 static")
        await a.text_insert(["systems", "31000006", "notes"], 9, " exit")
        await a.delete(["systems", "31000005", "y"])
        expected = {"x": 10}
        for cl in (a, b, c):
            await cl.wait_for(["systems", "31000006", "notes"], "C5 static exit")
            await cl.wait_for(["systems", "31000005"], expected)

        await b.text_delete(["systems", "31000006", "notes"], 0, 3)
        for cl in (a, b, c):
            await cl.wait_for(["systems", "31000006", "notes"], "static exit")

        docs = [await cl.get() for cl in (a, b, c)]
        assert docs[0] == docs[1] == docs[2]
        assert docs[0]["systems"]["31000006"] == {"name": "J123456", "notes": "static exit"}


async def test_harness_late_join(node_server_url: str, room: str) -> None:
    async with YClient.start(node_server_url, room, "t", client="v3") as a:
        await a.wait_synced()
        await a.set_map("systems", "1", {"name": "Jita", "notes": "hub"})
        await a.set(["connections", "1-2", "mass"], "fresh")
        for late_kind in ("v4", "v3"):
            async with YClient.start(node_server_url, room, "t", client=late_kind) as late:
                await late.wait_synced()
                await late.wait_for(["connections", "1-2", "mass"], "fresh")
                assert await late.get() == await a.get()


async def test_harness_offline_edits_merge(node_server_url: str, room: str) -> None:
    async with (
        YClient.start(node_server_url, room, "t", client="v3") as a,
        YClient.start(node_server_url, room, "t", client="v4") as c,
    ):
        await a.wait_synced()
        await c.wait_synced()
        await a.set_map("systems", "1", {"name": "J1", "notes": "ab"})
        await c.wait_for(["systems", "1", "notes"], "ab")

        await c.disconnect()
        # Concurrent edits while c is offline: both must survive the merge.
        await c.text_insert(["systems", "1", "notes"], 2, "C")
        await c.set(["systems", "2", "x"], 2)
        await a.text_insert(["systems", "1", "notes"], 0, "A")
        await a.set(["systems", "3", "x"], 3)
        await c.connect()
        await c.wait_synced()
        for cl in (a, c):
            await cl.wait_for(["systems", "1", "notes"], "AabC")
            await cl.wait_for(["systems", "2", "x"], 2)
            await cl.wait_for(["systems", "3", "x"], 3)
        assert await a.get() == await c.get()


async def test_harness_awareness(node_server_url: str, room: str) -> None:
    async with (
        YClient.start(node_server_url, room, "t", client="v3") as a,
        YClient.start(node_server_url, room, "t", client="v3") as b,
        YClient.start(node_server_url, room, "t", client="v4") as c,
    ):
        clients = {"a": a, "b": b, "c": c}
        ids = {name: await cl.client_id() for name, cl in clients.items()}
        for name, cl in clients.items():
            await cl.wait_synced()
            await cl.awareness_set({"user": {"name": name}})
        for cl in clients.values():
            for client_id in ids.values():
                await cl.wait_event(
                    lambda e, cid=client_id: (
                        e["event"] == "awareness" and cid in e["added"] + e["updated"]
                    )
                )
            states = await cl.awareness_states()
            assert {states.get(ids[n], {}).get("user", {}).get("name") for n in ids} == set(ids)

        # A client that leaves disappears from the others' awareness.
        await b.disconnect()
        # Each remaining client hears of it in its own time: wait for both, then look.
        for cl in (a, c):
            await cl.wait_event(lambda e: e["event"] == "awareness" and ids["b"] in e["removed"])
            assert ids["b"] not in await cl.awareness_states()


async def test_harness_surfaces_auth_rejection(room: str) -> None:
    """A `02 00 reason` auth message and a 4401 close reach `events` (stub server, not Node's).

    y-websocket 3.1 treats 4400-4499 as final and stops; @y/websocket 4.0.0-3 has no such rule
    and reconnects after every close, so mapper sees it come back about every 100 ms.
    """
    reason = b"token expired"

    async def reject(ws: ServerConnection) -> None:
        await ws.send(bytes([2, 0, len(reason)]) + reason)
        await ws.close(4401, "unauthorized")

    def is_event(name: str) -> Callable[[dict], bool]:
        return lambda e: e["event"] == name

    async with serve(reject, "127.0.0.1", 0) as stub:
        url = f"ws://127.0.0.1:{stub.sockets[0].getsockname()[1]}/ws/chains"
        async with YClient.start(url, room, "bad", client="v3") as v3:
            denied = await v3.wait_event(is_event("permission-denied"))
            closed = await v3.wait_event(is_event("closed"))
        async with YClient.start(url, room, "bad", client="v4") as v4:
            denied_v4 = await v4.wait_event(is_event("permission-denied"))
            first = await v4.wait_event(is_event("connection-close"))
            await v4.wait_event(is_event("connection-close"), since=v4.events.index(first) + 1)
    assert denied["reason"] == denied_v4["reason"] == reason.decode()
    assert (
        (closed["code"], closed["reason"])
        == (first["code"], first["reason"])
        == (4401, "unauthorized")
    )

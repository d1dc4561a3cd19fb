"""Stock Yjs clients (node yjs + y-websocket 3.x and 4.x) against a real `mapper serve`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.chains import create_chain
from tests.server import MapperServer
from tests.yclient import YClient

pytestmark = pytest.mark.usefixtures("node_modules")


@contextlib.asynccontextmanager
async def clients(
    server: MapperServer, chain: str, tokens: list[str], kinds: list[str]
) -> AsyncIterator[list[YClient]]:
    async with contextlib.AsyncExitStack() as stack:
        started = []
        for token, kind in zip(tokens, kinds, strict=True):
            client = await stack.enter_async_context(
                YClient.start(f"{server.ws}/ws/chains", chain, token, client=kind)
            )
            started.append(client)
        for client in started:
            await client.wait_synced(timeout=10)
        yield started


SYSTEM = {"id": 31000005, "x": 10, "y": 20, "alias": "home", "status": "friendly"}


async def test_v3_and_v4_clients_converge(server: MapperServer) -> None:
    token = server.token("alice")
    chain = create_chain(server, token)
    async with clients(server, chain, [token] * 3, ["v3", "v3", "v4"]) as (a, b, c):
        await a.set_map("systems", "31000005", {**SYSTEM, "notes": "first"})
        await c.set_map("systems", "31000006", {**SYSTEM, "id": 31000006})
        await c.wait_for(["systems", "31000005", "notes"], "first")
        await b.wait_for(["systems", "31000005", "notes"], "first")
        await b.set(["systems", "31000005", "x"], 99)
        await c.text_insert(["systems", "31000005", "notes"], 0, ">> ")
        for client in (a, b, c):
            await client.wait_for(["systems", "31000005", "x"], 99)
            await client.wait_for(["systems", "31000005", "notes"], ">> first")
            await client.wait_for(["systems", "31000006", "alias"], "home")
        await a.delete(["systems", "31000006"])
        for client in (a, b, c):
            await client.wait_for(["systems", "31000006"], None)
        docs = [await client.get() for client in (a, b, c)]
        assert docs[0] == docs[1] == docs[2]
    document = httpx.get(
        f"{server.http}/api/chains/{chain}/document", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert document["systems"]["31000005"]["notes"] == ">> first"


async def test_late_join_and_offline_edits_merge(server: MapperServer) -> None:
    token = server.token("alice")
    chain = create_chain(server, token)
    async with clients(server, chain, [token, token], ["v3", "v4"]) as (a, b):
        await a.set_map("systems", "31000005", SYSTEM)
        await b.wait_for(["systems", "31000005", "alias"], "home")
        await b.disconnect()
        await b.set(["systems", "31000005", "alias"], "offline edit")
        await a.set(["systems", "31000005", "x"], 55)
        await b.connect()
        await b.wait_synced(timeout=10)
        for client in (a, b):
            await client.wait_for(["systems", "31000005", "alias"], "offline edit")
            await client.wait_for(["systems", "31000005", "x"], 55)
        async with clients(server, chain, [token], ["v3"]) as (late,):
            await late.wait_for(["systems", "31000005", "alias"], "offline edit")


async def test_awareness_between_stock_clients(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice", name="Alice")
    chain = create_chain(server, token)
    async with clients(server, chain, [token, token], ["v3", "v4"]) as (a, b):
        await a.awareness_set({"user": {"id": "mallory", "name": "M"}, "visible": True})
        a_id = await a.client_id()

        async def seen_by_b() -> dict:
            for _ in range(200):
                states = await b.awareness_states()
                if str(a_id) in states or a_id in states:
                    return states.get(str(a_id)) or states.get(a_id)
                await asyncio.sleep(0.02)
            raise AssertionError("b never saw a's awareness")

        state = await seen_by_b()
        assert state["user"] == {"id": "alice", "name": "Alice"}
        assert state["visible"] is True


async def test_viewer_is_refused_by_stock_client(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    response = httpx.put(
        f"{server.http}/api/chains/{chain}/members/user:vic",
        json={"role": "viewer"},
        headers={"Authorization": f"Bearer {owner}"},
    )
    assert response.status_code == 200
    async with clients(server, chain, [owner, server.token("vic")], ["v3", "v3"]) as (o, v):
        await v.set_map("systems", "31000005", SYSTEM)
        await v.wait_event(lambda e: e["event"] == "permission-denied", timeout=5)
        await o.set_map("systems", "31000006", {**SYSTEM, "id": 31000006})
        await v.wait_for(["systems", "31000006", "id"], 31000006)
        assert "31000005" not in (await o.get())["systems"]


async def test_bad_token_closes_4401_for_stock_client(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    chain = create_chain(server, server.token("owner"))
    async with YClient.start(f"{server.ws}/ws/chains", chain, "bad-token") as client:
        await client.wait_event(
            lambda e: e["event"] == "connection-close" and e.get("code") == 4401, timeout=5
        )


async def test_sigkill_mid_stream_loses_nothing(server: MapperServer) -> None:
    """Kill the server during a stream of edits; reconnecting clients bring back what was lost."""
    token = server.token("alice")
    chain = create_chain(server, token)
    async with clients(server, chain, [token, token], ["v3", "v4"]) as (a, b):
        await a.set_map("systems", "31000001", SYSTEM | {"id": 31000001})
        await b.set_map("systems", "31000002", SYSTEM | {"id": 31000002})
        edits = 0
        most_sent = asyncio.Event()

        async def stream(client: YClient, system: str) -> None:
            nonlocal edits
            for value in range(1, 151):
                await client.set(["systems", system, "x"], value)
                edits += 1
                if edits == 120:
                    most_sent.set()
                await asyncio.sleep(0.005)

        streams = [
            asyncio.create_task(stream(a, "31000001")),
            asyncio.create_task(stream(b, "31000002")),
        ]
        await most_sent.wait()
        server.kill()
        await asyncio.gather(*streams)  # the rest are made offline
        server.start()  # same port, same data
        for client in (a, b):
            await client.wait_synced(timeout=20)
        for client in (a, b):
            await client.wait_for(["systems", "31000001", "x"], 150, timeout=10)
            await client.wait_for(["systems", "31000002", "x"], 150, timeout=10)
    await asyncio.sleep(0.5)  # within MAPPER_FLUSH_MS, and the room unloads
    server.stop()
    server.start()
    async with clients(server, chain, [token], ["v3"]) as (fresh,):
        document = await fresh.get()
        assert document["systems"]["31000001"]["x"] == 150
        assert document["systems"]["31000002"]["x"] == 150

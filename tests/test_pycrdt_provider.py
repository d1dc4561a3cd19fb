"""pycrdt's own provider (pycrdt.Provider over a websocket channel) against `mapper serve`."""

from __future__ import annotations

import asyncio

from pycrdt import Doc, Map, Provider
from websockets.asyncio.client import ClientConnection, connect

from tests.chains import create_chain
from tests.server import MapperServer


class WebsocketChannel:
    """pycrdt's Channel protocol over a `websockets` client connection."""

    def __init__(self, socket: ClientConnection, path: str) -> None:
        self._socket = socket
        self._path = path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> WebsocketChannel:
        return self

    async def __anext__(self) -> bytes:
        return await self.recv()

    async def send(self, message: bytes) -> None:
        await self._socket.send(message)

    async def recv(self) -> bytes:
        message = await self._socket.recv()
        assert isinstance(message, bytes)
        return message


async def test_pycrdt_providers_converge(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    url = f"{server.ws}/ws/chains/{chain}?token={token}"
    async with connect(url) as socket_a, connect(url) as socket_b:
        doc_a: Doc = Doc()
        doc_b: Doc = Doc()
        async with (
            Provider(doc_a, WebsocketChannel(socket_a, chain)) as provider_a,
            Provider(doc_b, WebsocketChannel(socket_b, chain)) as provider_b,
        ):
            await asyncio.wait_for(provider_a.synced.wait(), 5)
            await asyncio.wait_for(provider_b.synced.wait(), 5)
            systems_a = doc_a.get("systems", type=Map)
            systems_b = doc_b.get("systems", type=Map)
            assert doc_b.get("meta", type=Map)["name"] == "Home chain"
            systems_a["31000005"] = Map({"id": 31000005, "x": 1.0, "alias": "home"})
            for _ in range(500):
                if "31000005" in systems_b:
                    break
                await asyncio.sleep(0.01)
            assert systems_b["31000005"]["alias"] == "home"
            systems_b["31000005"]["x"] = 42.0
            for _ in range(500):
                if systems_a["31000005"]["x"] == 42.0:
                    break
                await asyncio.sleep(0.01)
            assert systems_a["31000005"]["x"] == 42.0

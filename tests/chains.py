"""Helpers shared by the tests: the HTTP calls and websocket joins a test makes most."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from pycrdt import Doc, Map

from tests.server import MapperServer
from tests.wire import WireClient


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_chain(server: MapperServer, token: str, name: str = "Home chain") -> str:
    response = httpx.post(f"{server.http}/api/chains", json={"name": name}, headers=auth(token))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def grant(server: MapperServer, token: str, chain: str, member: str, role: str) -> None:
    response = httpx.put(
        f"{server.http}/api/chains/{chain}/members/{member}",
        json={"role": role},
        headers=auth(token),
    )
    assert response.status_code == 200, response.text


def document(server: MapperServer, token: str, chain: str) -> dict[str, Any]:
    response = httpx.get(f"{server.http}/api/chains/{chain}/document", headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


async def join(server: MapperServer, chain: str, token: str) -> WireClient:
    """A Python client on the chain, synced."""
    client = await WireClient.connect(server.ws, f"/ws/chains/{chain}", token)
    await asyncio.wait_for(client.synced.wait(), 10)
    return client


def add_system(client: WireClient, system_id: int, x: float = 0.0) -> None:
    client.edit(
        lambda doc: doc.get("systems", type=Map).__setitem__(
            str(system_id), Map({"id": system_id, "x": x, "y": 0.0, "status": "unknown"})
        )
    )


def system_ids(client: WireClient) -> set[str]:
    return set(client.map("systems").keys())


def meta_edits(*keys: str) -> list[bytes]:
    """One scout's updates, one per key set in `meta`, each holding only that edit."""
    scout: Doc = Doc()
    meta = scout.get("meta", type=Map)
    updates = []
    for key in keys:
        before = scout.get_state()
        meta[key] = 1
        updates.append(scout.get_update(before))
    return updates

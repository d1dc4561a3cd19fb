"""Snapshots, restore and audit (contract section 7) against a real `mapper serve`."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import httpx
import pytest
from pycrdt import Map, Text

from tests.chains import add_system, auth, create_chain, document, grant, join, system_ids
from tests.server import MapperServer
from tests.wire import WireClient
from tests.yclient import YClient

pytestmark = pytest.mark.usefixtures("node_modules")


def api(server: MapperServer, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{server.http}{path}", headers=auth(token), **kwargs)


def snapshot(server: MapperServer, token: str, chain: str, label: str | None = None) -> dict:
    body = {} if label is None else {"label": label}
    response = api(server, "POST", f"/api/chains/{chain}/snapshots", token, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def restore(server: MapperServer, token: str, chain: str, snapshot_id: int) -> int:
    response = api(server, "POST", f"/api/chains/{chain}/snapshots/{snapshot_id}/restore", token)
    assert response.status_code == 200, response.text
    return response.json()["preRestoreSnapshotId"]


async def test_restore_reaches_connected_clients_and_can_be_undone(server: MapperServer) -> None:
    token = server.token("owner")
    chain = create_chain(server, token)
    alice, bob = await join(server, chain, token), await join(server, chain, token)
    for system_id in (31000001, 31000002, 31000003):
        add_system(alice, system_id)
    alice.edit(lambda doc: doc.get("systems", type=Map)["31000001"].__setitem__("notes", Text("a")))
    await bob.wait(lambda: len(system_ids(bob)) == 3)
    good = snapshot(server, token, chain, label="before the bad paste")
    assert good["counts"] == {"systems": 3, "connections": 0, "signatures": 0}
    assert good["reason"] == "manual" and good["label"] == "before the bad paste"
    saved = document(server, token, chain)

    # The mistakes: a system deleted, one changed, one added, notes rewritten.
    alice.edit(lambda doc: doc.get("systems", type=Map).pop("31000002"))
    alice.edit(lambda doc: doc.get("systems", type=Map)["31000003"].__setitem__("alias", "oops"))
    alice.edit(lambda doc: doc.get("systems", type=Map)["31000001"]["notes"].__iadd__(" b"))
    add_system(bob, 31000009)
    await alice.wait(lambda: "31000009" in system_ids(alice))
    mistaken = document(server, token, chain)

    async with YClient.start(f"{server.ws}/ws/chains", chain, token) as stock:
        await stock.wait_synced(timeout=10)
        undo_id = restore(server, token, chain, good["id"])
        for client in (alice, bob):
            await client.wait(lambda c=client: document_like(c) == saved)
        await stock.wait_for(["systems", "31000009"], None)
        await stock.wait_for(["systems", "31000002", "id"], 31000002)
        assert document(server, token, chain) == saved
        assert alice.close_code is None and bob.close_code is None

        # The pre-restore snapshot undoes the restore.
        restore(server, token, chain, undo_id)
        await bob.wait(lambda: document_like(bob) == mistaken)
        await stock.wait_for(["systems", "31000003", "alias"], "oops")

    listed = api(server, "GET", f"/api/chains/{chain}/snapshots", token).json()["items"]
    assert [s["reason"] for s in listed] == ["pre-restore", "pre-restore", "manual"]
    audit = api(server, "GET", f"/api/chains/{chain}/audit", token).json()["items"]
    restores = [entry for entry in audit if entry["action"] == "restore"]
    assert len(restores) == 2 and restores[-1]["detail"]["snapshotId"] == good["id"]
    assert restores[-1]["actor"] == "owner"
    await alice.close()
    await bob.close()


def document_like(client: WireClient) -> dict[str, Any]:
    """The client's doc in the JSON form of GET .../document."""
    return {
        root: client.map(root).to_py() or {}
        for root in ("meta", "systems", "connections", "signatures")
    }


async def test_restore_without_a_loaded_room(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("owner")
    chain = create_chain(server, token)
    client = await join(server, chain, token)
    add_system(client, 31000001)
    await asyncio.sleep(0.1)
    first = snapshot(server, token, chain)
    add_system(client, 31000002)
    await client.close()
    await asyncio.sleep(1.6)  # the room unloads (MAPPER_ROOM_IDLE_S=1)
    restore(server, token, chain, first["id"])
    assert set(document(server, token, chain)["systems"]) == {"31000001"}
    fresh = await join(server, chain, token)
    assert system_ids(fresh) == {"31000001"}
    await fresh.close()


def test_snapshot_content_and_errors(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("owner")
    chain = create_chain(server, token)
    taken = snapshot(server, token, chain)
    shown = api(server, "GET", f"/api/chains/{chain}/snapshots/{taken['id']}", token)
    assert shown.status_code == 200 and shown.json()["meta"]["name"] == "Home chain"
    for path in ("snapshots/999999", "snapshots/abc"):
        assert api(server, "GET", f"/api/chains/{chain}/{path}", token).status_code == 404
    assert (
        api(server, "POST", f"/api/chains/{chain}/snapshots/999999/restore", token).status_code
        == 404
    )
    bad_label = api(server, "POST", f"/api/chains/{chain}/snapshots", token, json={"label": 5})
    assert bad_label.status_code == 422


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_and_admins_manage_snapshots(sqlite_server: MapperServer, role: str) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    taken = snapshot(server, owner, chain)
    grant(server, owner, chain, "user:someone", role)
    someone = server.token("someone")
    base = f"/api/chains/{chain}"
    for method, path in [
        ("GET", "/snapshots"),
        ("POST", "/snapshots"),
        ("GET", f"/snapshots/{taken['id']}"),
        ("POST", f"/snapshots/{taken['id']}/restore"),
        ("GET", "/audit"),
    ]:
        assert api(server, method, base + path, someone).status_code == 403
    admin = server.token("root", admin=True)
    assert restore(server, admin, chain, taken["id"]) > 0
    actions = [e["action"] for e in api(server, "GET", f"{base}/audit", admin).json()["items"]]
    assert "restore" in actions and "grant" in actions


def test_snapshot_commands(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("owner")
    chain = create_chain(server, token)

    def mapper(*args: str) -> subprocess.CompletedProcess[str]:
        where = ["--url", server.http, "--data-dir", str(server.data_dir)]
        return subprocess.run(
            [sys.executable, "-m", "mapper", "snapshots", *args, *where],
            capture_output=True,
            text=True,
            timeout=60,
        )

    created = mapper("create", chain, "--label", "nightly")
    assert created.returncode == 0, created.stderr
    snapshot_id = int(created.stdout.split()[1])
    listed = mapper("list", chain)
    assert "manual" in listed.stdout and "nightly" in listed.stdout
    shown = mapper("show", chain, str(snapshot_id))
    assert json.loads(shown.stdout)["meta"]["name"] == "Home chain"
    restored = mapper("restore", chain, str(snapshot_id))
    assert restored.returncode == 0 and "to undo, restore snapshot" in restored.stdout
    missing = mapper("restore", chain, "999999")
    assert missing.returncode != 0 and "404" in missing.stderr
    assert "Traceback" not in missing.stderr

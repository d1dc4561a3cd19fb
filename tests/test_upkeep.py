"""Compaction, automatic snapshots, retention, diff, undelete and `mapper verify`, against a
real `mapper serve` (contract section 7)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from pycrdt import Map
from sqlalchemy import func, select

from mapper.persistence.database import create_engine
from mapper.persistence.models import ChainBase, ChainUpdate
from mapper.persistence.retention import DAY_MS, HOUR_MS, Retention, expired
from tests.chains import add_system, auth, create_chain, document, grant, join
from tests.server import MapperServer


def api(server: MapperServer, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{server.http}{path}", headers=auth(token), **kwargs)


def snapshots(server: MapperServer, token: str, chain: str) -> list[dict[str, Any]]:
    response = api(server, "GET", f"/api/chains/{chain}/snapshots", token)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def mapper(server: MapperServer, *args: str) -> subprocess.CompletedProcess[str]:
    where = ["--url", server.http, "--data-dir", str(server.data_dir)]
    return subprocess.run(
        [sys.executable, "-m", "mapper", *args, *where], capture_output=True, text=True, timeout=60
    )


async def stored_rows(server: MapperServer, chain: str) -> tuple[int, int | None]:
    """(log rows, base's last update id) as the database holds them."""
    engine = create_engine(server.database_url)
    try:
        async with engine.connect() as conn:
            rows = await conn.scalar(select(func.count()).where(ChainUpdate.chain_id == chain))
            base = await conn.scalar(
                select(ChainBase.last_update_id).where(ChainBase.chain_id == chain)
            )
    finally:
        await engine.dispose()
    return rows, base


async def eventually(check: Any, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def test_long_logs_compact_and_changed_chains_get_snapshots(
    compacting_server: MapperServer,
) -> None:
    server = compacting_server
    token = server.token("owner")
    chain = create_chain(server, token)
    client = await join(server, chain, token)
    for step in range(40):
        add_system(client, 31000001 + step % 8, x=float(step))
        await asyncio.sleep(0.03)  # one row per flush

    async def compacted() -> bool:
        rows, base = await stored_rows(server, chain)
        return base is not None and rows < 5

    await eventually(compacted)
    await eventually(lambda: _has(server, token, chain, "periodic"))
    content = document(server, token, chain)
    assert len(content["systems"]) == 8
    # Once a round has taken the last change, no more periodic snapshots.
    await asyncio.sleep(1.5)
    taken = len(snapshots(server, token, chain))
    await asyncio.sleep(2.2)
    assert len(snapshots(server, token, chain)) == taken

    server.stop()
    server.start()
    assert document(server, token, chain) == content
    await client.close()


async def test_an_unloaded_room_leaves_a_snapshot_if_it_changed(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    token = server.token("owner")
    chain = create_chain(server, token)
    client = await join(server, chain, token)
    add_system(client, 31000100)
    await eventually(lambda: _has_system(server, token, chain, "31000100"))
    await client.close()  # the room unloads after MAPPER_ROOM_IDLE_S=1
    await eventually(lambda: _has(server, token, chain, "unload"))
    [unload] = snapshots(server, token, chain)
    assert unload["counts"]["systems"] == 1 and unload["createdBy"] is None
    await (await join(server, chain, token)).close()  # a visit without a change
    await asyncio.sleep(2)
    assert len(snapshots(server, token, chain)) == 1


async def _has_system(server: MapperServer, token: str, chain: str, system: str) -> bool:
    return system in document(server, token, chain)["systems"]


async def _has(server: MapperServer, token: str, chain: str, reason: str) -> bool:
    return any(item["reason"] == reason for item in snapshots(server, token, chain))


def test_retention_keeps_recent_hourly_and_daily_snapshots() -> None:
    now = 100 * DAY_MS
    retention = Retention(keep_all_ms=DAY_MS, keep_hourly_ms=7 * DAY_MS, keep_daily_ms=90 * DAY_MS)
    # Every 10 minutes for 100 days, newest first.
    every_ten_minutes = [(index, now - index * 600_000) for index in range(100 * 24 * 6)]
    doomed = set(expired(every_ten_minutes, now, retention))
    kept = [(i, at) for i, at in every_ten_minutes if i not in doomed]
    ages = [now - at for _, at in kept]
    assert sum(age < DAY_MS for age in ages) == 24 * 6  # all of the last day
    hourly = [age for age in ages if DAY_MS <= age < 7 * DAY_MS]
    assert 6 * 24 <= len(hourly) <= 6 * 24 + 1  # one an hour
    daily = [age for age in ages if 7 * DAY_MS <= age < 90 * DAY_MS]
    assert 83 <= len(daily) <= 84  # one a day
    assert max(ages) < 90 * DAY_MS  # older ones go
    # The newest of each hour is the one kept (the hour that straddles a day's age aside).
    assert all((now - age) % HOUR_MS >= HOUR_MS - 600_000 for age in hourly if age > 25 * HOUR_MS)


async def test_diff_shows_what_a_restore_would_do(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("owner")
    chain = create_chain(server, token)
    client = await join(server, chain, token)
    add_system(client, 31000001)
    add_system(client, 31000002)
    await asyncio.sleep(0.1)
    taken = api(server, "POST", f"/api/chains/{chain}/snapshots", token, json={}).json()
    client.edit(lambda doc: doc.get("systems", type=Map).pop("31000002"))
    client.edit(lambda doc: doc.get("systems", type=Map)["31000001"].__setitem__("alias", "home"))
    add_system(client, 31000003)
    await asyncio.sleep(0.1)

    diff = api(server, "GET", f"/api/chains/{chain}/snapshots/{taken['id']}/diff", token).json()
    systems = diff["systems"]
    assert [entry["key"] for entry in systems["added"]] == ["31000002"]
    assert [entry["key"] for entry in systems["removed"]] == ["31000003"]
    [changed] = systems["changed"]
    assert changed == {"key": "31000001", "fields": {"alias": {"current": "home", "target": None}}}
    assert diff["connections"] == {"added": [], "removed": [], "changed": []}

    shown = mapper(server, "snapshots", "diff", chain, str(taken["id"]))
    assert shown.returncode == 0, shown.stderr
    assert "+ system 31000002" in shown.stdout and "- system 31000003" in shown.stdout
    assert "~ system 31000001  alias: 'home' -> None" in shown.stdout
    assert api(server, "GET", f"/api/chains/{chain}/snapshots/9999/diff", token).status_code == 404
    await client.close()


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_only_owners_diff_and_delete_snapshots(sqlite_server: MapperServer, role: str) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    taken = api(server, "POST", f"/api/chains/{chain}/snapshots", owner, json={}).json()
    grant(server, owner, chain, "user:someone", role)
    someone = server.token("someone")
    path = f"/api/chains/{chain}/snapshots/{taken['id']}"
    assert api(server, "GET", f"{path}/diff", someone).status_code == 403
    assert api(server, "DELETE", path, someone).status_code == 403
    assert api(server, "GET", f"/api/chains/{chain}/verify", owner).status_code == 403

    deleted = mapper(server, "snapshots", "delete", chain, str(taken["id"]))
    assert deleted.returncode == 0, deleted.stderr
    assert api(server, "DELETE", path, owner).status_code == 404
    audit = api(server, "GET", f"/api/chains/{chain}/audit", owner).json()["items"]
    assert audit[0]["action"] == "delete-snapshot" and audit[0]["actor"] == "admin"


async def test_admins_restore_a_deleted_chain(server: MapperServer) -> None:
    owner, admin = server.token("owner"), server.token("root", admin=True)
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:scout", "editor")
    client = await join(server, chain, owner)
    add_system(client, 31000001)
    await asyncio.sleep(0.1)
    early = api(server, "POST", f"/api/chains/{chain}/snapshots", owner, json={}).json()
    add_system(client, 31000002)
    await asyncio.sleep(0.1)
    final = document(server, owner, chain)
    assert api(server, "DELETE", f"/api/chains/{chain}", owner).status_code == 204
    await client.wait_closed()

    assert api(server, "GET", f"/api/chains/{chain}/snapshots", owner).status_code == 404
    listed = snapshots(server, admin, chain)
    assert [item["reason"] for item in listed] == ["delete", "manual"]
    shown = api(server, "GET", f"/api/chains/{chain}/snapshots/{listed[0]['id']}", admin)
    assert shown.json() == final
    diff = api(server, "GET", f"/api/chains/{chain}/snapshots/{early['id']}/diff", admin).json()
    assert [entry["key"] for entry in diff["systems"]["removed"]] == ["31000002"]

    undo = api(server, "POST", f"/api/chains/{chain}/snapshots/{early['id']}/restore", admin)
    assert undo.status_code == 200, undo.text
    assert set(document(server, owner, chain)["systems"]) == {"31000001"}
    scout = await join(server, chain, server.token("scout"))  # members are back
    assert set(scout.map("systems").keys()) == {"31000001"}
    actions = [
        e["action"] for e in api(server, "GET", f"/api/chains/{chain}/audit", owner).json()["items"]
    ]
    assert actions[:3] == ["restore", "undelete", "delete"]
    await scout.close()


async def test_wiping_every_room_and_restarting_reproduces_every_chain(
    compacting_server: MapperServer,
) -> None:
    server = compacting_server
    token = server.token("owner")
    chains = [create_chain(server, token, name=f"Chain {n}") for n in range(3)]
    clients = [await join(server, chain, token) for chain in chains]
    for step in range(30):
        for n, client in enumerate(clients):
            add_system(client, 31000001 + (step + n) % 10, x=float(step))
        await asyncio.sleep(0.02)
    clients[0].edit(lambda doc: doc.get("systems", type=Map).pop("31000001"))
    await asyncio.sleep(0.3)  # past MAPPER_FLUSH_MS: every edit is durable

    checked = mapper(server, "verify")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("identical to its live room") == 3
    before = {chain: document(server, token, chain) for chain in chains}
    server.kill()  # every room gone, no goodbye
    server.start()
    assert {chain: document(server, token, chain) for chain in chains} == before
    rebuilt = mapper(server, "verify", chains[0])
    assert rebuilt.returncode == 0 and "rebuilt from the database" in rebuilt.stdout
    for client in clients:
        await client.close()

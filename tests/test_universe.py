"""Static data (contract section 8): importing CCP's export, statics, lookups and routes."""

from __future__ import annotations

import asyncio
import http.server
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Map
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.database import create_engine
from persistence.migrations import upgrade_database
from persistence.models import UniverseGate
from tests import sde_export
from tests.chains import auth, create_chain, join
from tests.sde_export import AUNIA, J100001, J123456, J200000, JITA, NIARJA, PERIMETER, TAMA
from tests.server import MapperServer
from universe.importer import import_sde, import_statics, parse_statics
from universe.index import load_index
from universe.route import shortest_path
from universe.sde import SdeError


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


async def test_import_reads_every_field(engine: AsyncEngine, tmp_path: Path) -> None:
    export = sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())
    counts = await import_sde(engine, export, source="test")
    assert counts == {
        "universe_regions": 2,
        "universe_constellations": 3,
        "universe_systems": 8,
        "universe_gates": 5,
        "universe_wormholes": 2,
    }
    index = await load_index(engine, 1)
    assert index.systems[JITA] == {
        "id": JITA,
        "name": "Jita",
        "security": 0.9459,
        "regionId": 10000002,
        "region": "The Forge",
        "constellationId": 20000020,
        "constellation": "Kimotoro",
        "wormholeClass": None,
    }
    # The class: the system's own, else its constellation's, else its region's.
    classes = {key: index.systems[key]["wormholeClass"] for key in (J100001, J123456, J200000)}
    assert classes == {J100001: 2, J123456: 4, J200000: 5}
    assert index.neighbours[JITA] == [PERIMETER, AUNIA]
    assert index.neighbours[TAMA] == [NIARJA, AUNIA]
    assert index.wormholes == [
        {
            "typeId": 30583,
            "code": "B274",
            "targetClass": 7,
            "lifetimeMinutes": 1440.0,
            "maxMass": 2e9,
            "massRegeneration": 0.0,
            "maxJumpMass": 3e8,
        },
        {
            "typeId": 34439,
            "code": "K162",
            "targetClass": None,
            "lifetimeMinutes": 960.0,
            "maxMass": None,
            "massRegeneration": None,
            "maxJumpMass": None,
        },
    ]


async def test_the_previous_layout_and_an_unpacked_folder(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    folder = sde_export.write_folder(tmp_path / "sde", sde_export.records(previous=True))
    await import_sde(engine, folder, source="test")
    index = await load_index(engine, 1)
    assert index.systems[J200000]["name"] == "J200000"
    assert index.systems[J200000]["wormholeClass"] == 5
    assert index.systems[AUNIA]["constellation"] == "Kimotoro"
    assert [w["code"] for w in index.wormholes] == ["B274", "K162"]


async def test_reimport_updates_in_place_and_a_bad_export_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_sde(
        engine, sde_export.write_zip(tmp_path / "old.zip", sde_export.records()), source="old"
    )
    newer = sde_export.records()
    newer["mapSolarSystems.jsonl"][0]["name"]["en"] = "Jita IV"
    newer["mapStargates.jsonl"] = newer["mapStargates.jsonl"][2:]  # Jita-Perimeter is gone
    await import_sde(engine, sde_export.write_zip(tmp_path / "new.zip", newer), source="new")
    index = await load_index(engine, 2)
    assert index.systems[JITA]["name"] == "Jita IV"
    assert PERIMETER not in index.neighbours[JITA]

    good = (tmp_path / "new.zip").read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good[: len(good) // 2])
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(good[:200] + b"\x00" * 300 + good[500:])
    not_sde = sde_export.write_zip(tmp_path / "other.zip", {"readme.jsonl": [{"a": 1}]})
    bad_line = sde_export.write_folder(tmp_path / "bad", sde_export.records())
    with (bad_line / "mapStargates.jsonl").open("a") as file:
        file.write('{"_key": 1, "solarSys\n')
    for broken, message in [
        (truncated, "not a readable zip|truncated or damaged"),
        (corrupt, "not a readable zip|truncated or damaged"),
        (not_sde, "lacks mapRegions.jsonl"),
        (bad_line, "mapStargates.jsonl line 11 is not JSON"),
        (tmp_path / "missing.zip", "not a readable zip"),
    ]:
        with pytest.raises(SdeError, match=message):
            await import_sde(engine, broken, source="broken")
    async with engine.connect() as conn:
        gates = (await conn.execute(select(UniverseGate.from_system, UniverseGate.to_system))).all()
    assert len(gates) == 4
    assert (await load_index(engine, 3)).systems[JITA]["name"] == "Jita IV"


async def test_statics_csv(engine: AsyncEngine) -> None:
    assert parse_statics(
        "system_id,static_codes\n31000001,B274 c247\n\n# note\n31000002,K162;D382\n"
    ) == {
        31000001: ["B274", "C247"],
        31000002: ["K162", "D382"],
    }
    for bad, message in [
        ("31000001\n", "line 1"),
        ("x,y\nabc,B274\n", "line 2"),
        ("31000001,hello\n", "not wormhole codes"),
    ]:
        with pytest.raises(SdeError, match=message):
            parse_statics(bad)
    assert await import_statics(engine, "31000001,B274 C247\n", source="test") == 1
    assert (await load_index(engine, 1)).statics == {31000001: ["B274", "C247"]}


def test_routes_against_hand_computed_paths() -> None:
    gates = {
        JITA: [PERIMETER, AUNIA],
        PERIMETER: [JITA, NIARJA],
        NIARJA: [PERIMETER, TAMA],
        AUNIA: [JITA, TAMA],
        TAMA: [NIARJA, AUNIA],
    }

    def around(system: int) -> list[int]:
        return gates.get(system, [])

    assert shortest_path(JITA, TAMA, around) == [JITA, AUNIA, TAMA]
    assert shortest_path(JITA, TAMA, around, lambda s: s != AUNIA) == [
        JITA,
        PERIMETER,
        NIARJA,
        TAMA,
    ]
    assert shortest_path(JITA, JITA, around) == [JITA]
    assert shortest_path(JITA, J100001, around) is None
    assert shortest_path(JITA, TAMA, around, lambda s: False) is None


def api(server: MapperServer, path: str, token: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.http}{path}", headers={**auth(token), **headers})


def mapper(server: MapperServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mapper", *args, "--database-url", server.database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def served_export(tmp_path: Path) -> Iterator[str]:
    """The export on a local HTTP server (loopback), as CCP's site would serve it."""
    sde_export.write_zip(tmp_path / "eve-online-static-data-latest-jsonl.zip", sde_export.records())
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/eve-online-static-data-latest-jsonl.zip"
    httpd.shutdown()
    thread.join(5)


async def test_the_universe_api(server: MapperServer, served_export: str) -> None:
    token = server.token("scout")
    assert httpx.get(f"{server.http}/readyz").json()["staticData"] is False
    assert api(server, "/api/universe/systems?search=J1", token).json() == {"items": []}
    assert api(server, "/api/universe/wormholes", token).json() == {"items": []}

    imported = mapper(server, "sde", "import", served_export)
    assert imported.returncode == 0, imported.stderr
    assert (
        "imported 2 regions, 3 constellations, 8 systems, 5 gates, 2 wormholes" in imported.stderr
    )
    statics = server.data_dir / "statics.csv"
    statics.write_text("system_id,static_codes\n31000001,B274\n")
    assert mapper(server, "sde", "statics", str(statics)).returncode == 0

    found = await _eventually_found(server, token)
    assert [item["name"] for item in found] == ["J100001", "J123456"]
    assert [
        i["name"] for i in api(server, "/api/universe/systems?search=jI", token).json()["items"]
    ] == ["Jita"]
    by_id = api(server, f"/api/universe/systems?ids={TAMA},{JITA},99", token).json()["items"]
    assert [item["name"] for item in by_id] == ["Tama", "Jita"]
    one = api(server, f"/api/universe/systems/{J100001}", token)
    assert one.json()["neighbours"] == [] and one.json()["statics"] == ["B274"]
    assert api(server, f"/api/universe/systems/{JITA}", token).json()["neighbours"] == [
        PERIMETER,
        AUNIA,
    ]
    assert one.headers["cache-control"].startswith("private, max-age=")
    again = api(
        server, f"/api/universe/systems/{J100001}", token, **{"If-None-Match": one.headers["etag"]}
    )
    assert again.status_code == 304
    assert httpx.get(f"{server.http}/readyz").json()["staticData"] is True

    route = api(server, f"/api/universe/route?from={JITA}&to={TAMA}", token).json()
    assert route == {"jumps": 2, "path": [JITA, AUNIA, TAMA]}
    safe = api(server, f"/api/universe/route?from={JITA}&to={TAMA}&avoidLowNull=1", token).json()
    assert safe == {"jumps": 3, "path": [JITA, PERIMETER, NIARJA, TAMA]}
    assert api(server, f"/api/universe/route?from={JITA}&to={J100001}", token).status_code == 404

    chain = create_chain(server, token)
    client = await join(server, chain, token)
    client.edit(lambda doc: _connect(doc, JITA, J100001, eol=True))
    await client.wait(lambda: len(client.map("connections")) == 1)
    await _eventually_routed(server, token, chain)
    through = api(server, f"/api/universe/route?from={JITA}&to={J100001}&chain={chain}", token)
    assert through.json() == {"jumps": 1, "path": [JITA, J100001]}
    no_eol = f"/api/universe/route?from={JITA}&to={J100001}&chain={chain}&avoidEol=1"
    assert api(server, no_eol, token).status_code == 404
    stranger = server.token("stranger")
    assert (
        api(
            server, f"/api/universe/route?from={JITA}&to={J100001}&chain={chain}", stranger
        ).status_code
        == 404
    )
    await client.close()

    for path in [
        "/api/universe/systems",
        "/api/universe/systems?ids=1,x",
        "/api/universe/route?from=a&to=1",
        "/api/universe/systems?search=a&limit=500",
    ]:
        assert api(server, path, token).status_code == 400, path
    assert api(server, "/api/universe/systems/42", token).status_code == 404
    assert httpx.get(f"{server.http}/api/universe/wormholes").status_code == 401


def _connect(doc: Any, a: int, b: int, *, eol: bool) -> None:
    now = 1_760_000_000_000
    with doc.transaction():
        systems = doc.get("systems", type=Map)
        for system in (a, b):
            systems[str(system)] = Map({"id": system, "x": 0.0, "y": 0.0})
        doc.get("connections", type=Map)[f"{a}-{b}"] = Map(
            {
                "a": a,
                "b": b,
                "kind": "wormhole",
                "whType": "",
                "mass": "fresh",
                "eol": eol,
                "eolAt": now if eol else None,
                "size": "",
                "createdAt": now,
                "updatedAt": now,
            }
        )


async def _eventually_found(server: MapperServer, token: str) -> list[dict[str, Any]]:
    """A running service notices a new import within a few seconds."""
    for _ in range(100):
        items = api(server, "/api/universe/systems?search=j1", token).json()["items"]
        if items:
            return items
        await asyncio.sleep(0.1)
    raise AssertionError("the service never saw the import")


async def _eventually_routed(server: MapperServer, token: str, chain: str) -> None:
    for _ in range(50):
        if (
            api(
                server, f"/api/universe/route?from={JITA}&to={J100001}&chain={chain}", token
            ).status_code
            == 200
        ):
            return
        await asyncio.sleep(0.1)

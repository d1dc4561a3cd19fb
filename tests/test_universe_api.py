"""The universe API (contract section 8) on a real `mapper serve`, fed by `mapper sde import`
from a URL (a loopback HTTP server standing in for CCP's site) and `mapper sde statics`."""

from __future__ import annotations

import asyncio
import http.server
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest
from pycrdt import Map

from tests import sde_export
from tests.chains import auth, create_chain, grant, join
from tests.sde_export import AUNIA, J100001, J200000, JITA, NIARJA, PERIMETER, TAMA
from tests.server import MapperServer

EXPORT_NAME = "eve-online-static-data-latest-jsonl.zip"


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
    folder = tmp_path / "site"
    folder.mkdir()
    sde_export.write_zip(folder / EXPORT_NAME, sde_export.records())
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{EXPORT_NAME}"
    httpd.shutdown()
    thread.join(5)


async def test_the_universe_api(server: MapperServer, served_export: str) -> None:
    token = server.token("scout")
    # A fresh service knows the universe from the package's own file.
    ready = httpx.get(f"{server.http}/readyz").json()
    assert ready["staticData"] is True and ready["staticDataBuild"].startswith("built in: ")
    jita = api(server, "/api/universe/systems?search=jita", token).json()["items"]
    assert [(item["id"], item["name"], item["securityDisplay"]) for item in jita] == [
        (30000142, "Jita", 0.9)
    ]
    thera = api(server, "/api/universe/systems/31000005", token).json()
    assert (thera["name"], thera["wormholeClass"]) == ("Thera", 12)
    assert api(server, f"/api/universe/systems/{JITA}", token).status_code == 200  # Tanoo

    imported = mapper(server, "sde", "import", served_export)
    assert imported.returncode == 0, imported.stderr
    assert (
        "imported 2 regions, 3 constellations, 8 systems, 5 gates, 3 wormholes, 2 ships "
        f"of build {sde_export.BUILD}" in imported.stderr
    )
    statics = server.data_dir / "statics.csv"
    statics.write_text("system_id,static_codes\n31000001,B274\n")
    assert mapper(server, "sde", "statics", str(statics)).returncode == 0

    found = await _eventually_found(server, token)
    assert [item["name"] for item in found] == ["J100001", "J123456"]
    assert [
        i["name"] for i in api(server, "/api/universe/systems?search=jI", token).json()["items"]
    ] == ["Jita"]
    limited = api(server, "/api/universe/systems?search=J&limit=1", token).json()["items"]
    assert [item["name"] for item in limited] == ["J100001"]
    by_id = api(server, f"/api/universe/systems?ids={TAMA},{JITA},99", token).json()["items"]
    assert [item["name"] for item in by_id] == ["Tama", "Jita"]
    one = api(server, f"/api/universe/systems/{J100001}", token)
    assert one.json() == {
        "id": J100001,
        "name": "J100001",
        "security": -1.0,
        "securityDisplay": -1.0,
        "regionId": 11000001,
        "region": "A-R00001",
        "constellationId": 21000001,
        "constellation": "A-C00001",
        "wormholeClass": 2,
        "effect": None,
        "statics": [{"code": "B274", "targetClass": 7}],
        "neighbours": [],
    }
    j200000 = api(server, f"/api/universe/systems/{J200000}", token).json()
    assert (j200000["effect"], j200000["statics"]) == ("Pulsar", [])
    assert api(server, f"/api/universe/systems/{JITA}", token).json()["neighbours"] == [
        PERIMETER,
        AUNIA,
    ]
    wormholes = api(server, "/api/universe/wormholes", token).json()["items"]
    assert [(w["code"], w["size"]) for w in wormholes] == [
        ("B274", "large"),
        ("K162", None),
        ("Q003", None),
    ]

    ships = api(server, "/api/universe/ships?search=RIF", token).json()["items"]
    assert ships == [
        {"typeId": 587, "name": "Rifter", "mass": 1067000.0, "groupId": 25, "group": "Frigate"}
    ]
    by_ids = api(server, "/api/universe/ships?ids=670,587,34", token).json()["items"]
    assert [ship["name"] for ship in by_ids] == ["Capsule", "Rifter"]  # not a mineral
    assert api(server, "/api/universe/ships?search=%20", token).json() == {"items": []}

    # Cacheable: an ETag (strong, or sent back weak or among others) and Cache-Control.
    assert one.headers["cache-control"] == "private, max-age=300"
    etag = one.headers["etag"]
    for sent in (etag, f"W/{etag}", f'"other", {etag}'):
        again = api(server, f"/api/universe/systems/{J100001}", token, **{"If-None-Match": sent})
        assert again.status_code == 304, sent
        assert again.headers["etag"] == etag
    ready = httpx.get(f"{server.http}/readyz").json()
    assert ready["staticData"] is True
    assert ready["staticDataBuild"] == f"imported: {served_export} (build {sde_export.BUILD})"

    route = api(server, f"/api/universe/route?from={JITA}&to={TAMA}", token).json()
    assert route == {"jumps": 2, "path": [JITA, AUNIA, TAMA]}
    safe = api(server, f"/api/universe/route?from={JITA}&to={TAMA}&avoidLowNull=1", token).json()
    assert safe == {"jumps": 3, "path": [JITA, PERIMETER, NIARJA, TAMA]}
    assert api(server, f"/api/universe/route?from={JITA}&to={J100001}", token).status_code == 404

    await _routes_through_a_chain(server, token)
    _bad_requests(server, token)


async def _routes_through_a_chain(server: MapperServer, token: str) -> None:
    chain = create_chain(server, token)
    grant(server, token, chain, "user:viewer", "viewer")
    client = await join(server, chain, token)
    client.edit(lambda doc: _connect(doc, JITA, J100001, eol=True, wh_type="B274"))
    await client.wait(lambda: len(client.map("connections")) == 1)
    through = f"/api/universe/route?from={JITA}&to={J100001}&chain={chain}"
    await _eventually_ok(server, token, through)
    for user in ("scout", "viewer"):
        answer = api(server, through, server.token(user))
        assert answer.json() == {"jumps": 1, "path": [JITA, J100001]}
        assert answer.headers["cache-control"] == "no-store"
    assert api(server, through + "&avoidEol=1", token).status_code == 404
    # B274 takes ships up to 300,000 t: large, not xlarge; the connection's own size wins.
    assert api(server, through + "&minSize=large", token).status_code == 200
    assert api(server, through + "&minSize=xlarge", token).status_code == 404
    client.edit(
        lambda doc: doc.get("connections", type=Map)[f"{JITA}-{J100001}"].update({"size": "small"})
    )
    await _eventually_status(server, token, through + "&minSize=medium", 404)
    assert api(server, through + "&minSize=small", token).status_code == 200
    # Someone not on the chain learns nothing about it.
    assert api(server, through, server.token("stranger")).status_code == 404
    await client.close()


def _bad_requests(server: MapperServer, token: str) -> None:
    too_many = ",".join(str(30000000 + n) for n in range(1001))
    for path in [
        "/api/universe/systems",
        "/api/universe/systems?ids=1,x",
        "/api/universe/systems?ids=%C2%B2",  # a superscript two: a digit to str.isdigit
        f"/api/universe/systems?ids={too_many}",
        "/api/universe/systems?search=a&limit=500",
        "/api/universe/systems?search=a&limit=0",
        f"/api/universe/systems?search={'a' * 101}",
        "/api/universe/ships",
        "/api/universe/ships?search=a&limit=0",
        f"/api/universe/ships?search={'a' * 101}",
        "/api/universe/route?from=a&to=1",
        "/api/universe/route?to=1",
        f"/api/universe/route?from={'9' * 40}&to=1",
        "/api/universe/route?from=1&to=2&minSize=huge",
    ]:
        answer = api(server, path, token)
        assert answer.status_code == 400, path
        assert set(answer.json()["error"]) == {"code", "message"}
    for path in ["/api/universe/systems/42", "/api/universe/systems/abc"]:
        assert api(server, path, token).status_code == 404
    assert httpx.get(f"{server.http}/api/universe/wormholes").status_code == 401
    failed = mapper(server, "sde", "import", str(server.data_dir / "nothing.zip"))
    assert failed.returncode != 0
    assert "mapper: " in failed.stderr and "nothing.zip does not exist" in failed.stderr
    assert "Traceback" not in failed.stderr


def _connect(doc: Any, a: int, b: int, *, eol: bool, wh_type: str = "") -> None:
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
                "whType": wh_type,
                "mass": "fresh",
                "eol": eol,
                "eolAt": now if eol else None,
                "size": "",
                "createdAt": now,
                "updatedAt": now,
            }
        )


async def _eventually_found(server: MapperServer, token: str) -> list[dict[str, Any]]:
    """A running service notices new imports within a few seconds: the export's, then the
    statics."""
    for _ in range(100):
        one = api(server, f"/api/universe/systems/{J100001}", token).json()
        if one["name"] == "J100001" and one["statics"]:
            return api(server, "/api/universe/systems?search=j1", token).json()["items"]
        await asyncio.sleep(0.1)
    raise AssertionError("the service never saw the import")


async def _eventually_ok(server: MapperServer, token: str, path: str) -> None:
    await _eventually_status(server, token, path, 200)


async def _eventually_status(server: MapperServer, token: str, path: str, status: int) -> None:
    """The route reads the chain's content as stored, a flush after the edit."""
    for _ in range(50):
        if api(server, path, token).status_code == status:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{path} never answered {status}")

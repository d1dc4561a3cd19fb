"""The docs' screenshot of the map (mapper/docs/map.png): a realistic chain of 15 systems from a
C5 home, with pilots and kills from a fake ESI and a Thera connection from a fake EVE-Scout, so
every part of a system box and a connection line shows as a scout would see it.

    python bench/browser_map.py --screenshot mapper/docs/map.png
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from pycrdt import Doc, Map, Text

from mapper.core.clock import ManualClock
from tests.browser import chromium, open_map
from tests.chains import create_chain, grant, join
from tests.databases import database
from tests.fake_eve import SECRET, FakeEve, Pilot
from tests.fake_evescout import FakeEveScout, signature
from tests.server import MapperServer
from tests.wire import WireClient

HOME, STATIC, DEEP, C6, C4, C3 = 31001880, 31001881, 31001882, 31002367, 31001375, 31000880
SHATTERED, DRIFTER, THERA = 31002580, 31000001, 31000005
AMAMAKE, AHBAZON, HEK, PERIMETER, JITA, TURNUR = (
    30002537,
    30005196,
    30002053,
    30000144,
    30000142,
    30002086,
)
STATUS = {HOME: "friendly", DEEP: "occupied", C6: "hostile", AMAMAKE: "hostile", C4: "empty"}
ALIAS = {HOME: "home", STATIC: "static", DEEP: "farm", C3: "hs exit", AMAMAKE: "gank"}
MINUTE = 60_000
# (a, b, kind, whType, typed end, mass, eol minutes ago or None, size, age in minutes)
LINKS = [
    (HOME, STATIC, "wormhole", "H296", HOME, "fresh", None, "xlarge", 190),
    (STATIC, DEEP, "wormhole", "H296", STATIC, "reduced", 75, "xlarge", 700),
    (DEEP, C6, "wormhole", "V911", C6, "critical", None, "xlarge", 320),
    (C6, DRIFTER, "wormhole", "B735", C6, "fresh", 200, "large", 900),
    (HOME, C4, "wormhole", "C247", C4, "fresh", None, "large", 40),
    (C4, AMAMAKE, "wormhole", "N062", C4, "reduced", None, "large", 260),
    (AMAMAKE, AHBAZON, "bridge", "", None, "fresh", None, "", 30),
    (HOME, C3, "wormhole", "D845", HOME, "fresh", None, "xlarge", 15),
    (C3, PERIMETER, "wormhole", "B274", C3, "fresh", 12, "large", 980),
    (PERIMETER, JITA, "stargate", "", None, "fresh", None, "", 980),
    (C3, SHATTERED, "wormhole", "E004", SHATTERED, "fresh", None, "small", 55),
    (C4, HEK, "wormhole", "K162", None, "fresh", None, "medium", 100),
    (HEK, TURNUR, "stargate", "", None, "fresh", None, "", 100),
]
PILOTS = [
    Pilot(93000001, "kira", "Kira Vance", system_id=HOME),
    Pilot(93000002, "kira", "Kira Alt", system_id=DEEP),
    Pilot(93000003, "vex", "Vex Oran", system_id=HOME),
    Pilot(93000004, "morn", "Morn", system_id=AMAMAKE),
    Pilot(93000005, "morn", "Morn Scout", system_id=JITA),
]


def chain_document(doc: Doc, now: int) -> None:
    ids = sorted({end for link in LINKS for end in link[:2]} | {THERA})
    systems = doc.get("systems", type=Map)
    for index, system_id in enumerate(ids):
        systems[str(system_id)] = Map(
            {
                "id": system_id,
                "x": float(index * 40),
                "y": float(index * 30),
                "alias": ALIAS.get(system_id, ""),
                "status": STATUS.get(system_id, "unknown"),
                "locked": system_id == HOME,
                "notes": Text(""),
                "addedAt": now,
                "addedBy": "kira",
            }
        )
    connections = doc.get("connections", type=Map)
    for a, b, kind, wh_type, typed, mass, eol_ago, size, age in LINKS:
        low, high = min(a, b), max(a, b)
        side = "" if typed is None else ("a" if typed == low else "b")
        connections[f"{low}-{high}"] = Map(
            {
                "a": low,
                "b": high,
                "kind": kind,
                "whType": wh_type,
                "whSide": side,
                "mass": mass,
                "eol": eol_ago is not None,
                "eolAt": None if eol_ago is None else now - eol_ago * MINUTE,
                "size": size,
                "createdAt": now - age * MINUTE,
                "updatedAt": now,
            }
        )
    signatures = doc.get("signatures", type=Map)
    for index, system_id in enumerate(ids):
        for number in range(index % 5):
            sig = f"{'ABCDEFGHJK'[index % 10]}{'LMNPQ'[number]}X-{100 + index * 7 + number}"
            signatures[f"{system_id}:{sig}"] = Map(
                {"system": system_id, "sig": sig, "group": "wormhole", "type": "", "name": ""}
            )
    doc.get("meta", type=Map)["home"] = HOME


async def present(server: MapperServer, chain: str, user: str, selected: int | None) -> WireClient:
    """Another scout with the chain open (present, so the service tracks their pilots)."""
    client = await join(server, chain, server.token(user, name=user.title()))
    state = {"user": {"id": user, "name": user.title()}, "visible": True, "selected": None}
    if selected is not None:
        state["selected"] = str(selected)
    await client.set_awareness(client.doc.client_id, 1, state)
    return client


async def screenshot(path: Path) -> None:
    clock = ManualClock(time.time())
    eve = FakeEve(clock)
    eve.add(*PILOTS)
    eve.kills = {AMAMAKE: (6, 3, 0), AHBAZON: (14, 9, 2), C6: (2, 1, 40)}
    scout = FakeEveScout(clock)
    scout.signatures = [signature(46, HEK, clock=clock, wh_type="T458", hours=9)]
    await eve.start()
    await scout.start()
    env = {
        "MAPPER_INTEL": "1",
        "MAPPER_TOKEN_PROVIDER_URL": eve.provider_url,
        "MAPPER_TOKEN_PROVIDER_SECRET": SECRET,
        "MAPPER_ESI_BASE_URL": eve.esi_url,
        "MAPPER_EVESCOUT_BASE_URL": scout.url,
    }
    try:
        with tempfile.TemporaryDirectory() as folder, database("sqlite", Path(folder)) as url:
            server = MapperServer(Path(folder) / "data", url, env=env).start()
            try:
                await photograph(server, path)
            finally:
                server.stop()
    finally:
        await scout.stop()
        await eve.stop()


async def photograph(server: MapperServer, path: Path) -> None:
    kira = server.token("kira", name="Kira")
    chain = create_chain(server, kira, name="Home chain")
    for user in ("vex", "morn"):
        grant(server, kira, chain, f"user:{user}", "editor")
    writer = await join(server, chain, kira)
    writer.edit(lambda doc: chain_document(doc, int(time.time() * 1000)))
    others = [await present(server, chain, "vex", C4), await present(server, chain, "morn", None)]
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 1680, "height": 820})
        page = await open_map(context, server, chain, kira)
        await page.locator(f'[data-system="{HOME}"]').wait_for()
        await page.get_by_role("button", name="Tidy").click()
        await page.locator(f'[data-system="{HOME}"] .pilots').wait_for(timeout=30_000)
        await page.locator(f'[data-system="{AMAMAKE}"] .kills').wait_for(timeout=30_000)
        await page.locator(f'[data-system="{STATIC}"]').click()
        await page.get_by_role("button", name="Fit map").click()
        await asyncio.sleep(1.0)
        await page.screenshot(path=str(path))
        print(f"screenshot: {path}")
    for client in [writer, *others]:
        await client.close()

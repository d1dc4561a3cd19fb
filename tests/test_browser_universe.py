"""The browser app with static data (contract sections 1 and 8), in real Chromium: names where
ids used to show, class labels, security as EVE shows it, effect and statics, masses in
tonnes, batched lookups, and names and search after an offline reload."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import httpx
from playwright.async_api import Page, Request, expect

from tests import sde_export
from tests.browser import TIMEOUT_MS, artifact, chromium, open_map
from tests.chains import create_chain
from tests.sde_export import AUNIA, J123456, J200000, JITA, PERIMETER
from tests.server import MapperServer

# Names are joined by an en dash, as the page writes them.
DASH = "\N{EN DASH}"

# J200000 (class 5) has a static to high-sec; B274 is in the export's wormhole types.
STATICS = f"system_id,static_codes\n{J200000},B274\n"
WORMHOLE_SIGNATURE = "QLB-286\tCosmic Signature\tWormhole\tUnstable Wormhole\t100.0%\t2.34 AU\n"
IDS_LOOKUP = "/api/universe/systems?ids="


def mapper(server: MapperServer, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mapper", *args, "--database-url", server.database_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def universe_answer(server: MapperServer, token: str, path: str) -> httpx.Response:
    return httpx.get(f"{server.http}{path}", headers={"Authorization": f"Bearer {token}"})


async def import_universe(server: MapperServer, tmp_path: Path, token: str) -> dict:
    """The test export and statics, through `mapper sde import` and `mapper sde statics`,
    once the running service sees both (within 5 s, universe/index.py). Returns the service's
    answer for J200000."""
    mapper(
        server,
        "sde",
        "import",
        str(sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())),
    )
    statics = tmp_path / "statics.csv"
    statics.write_text(STATICS)
    mapper(server, "sde", "statics", str(statics))
    for _ in range(100):
        answer = universe_answer(server, token, f"/api/universe/systems/{J200000}")
        # The built-in universe answers first: wait for the export's system and statics.
        if answer.status_code == 200 and is_imported(answer.json()):
            return answer.json()
        await asyncio.sleep(0.1)
    raise AssertionError("the service never saw the import")


def is_imported(j200000: dict) -> bool:
    statics = [item if isinstance(item, str) else item["code"] for item in j200000["statics"]]
    return j200000["name"] == "J200000" and statics == ["B274"]


def system(page: Page, system_id: int):
    return page.locator(f'[data-system="{system_id}"]')


async def add_system(page: Page, text: str | int) -> None:
    await page.get_by_label("system id").fill(str(text))
    await page.get_by_label("system id").press("Enter")


async def connect(page: Page, a: int, b: int) -> None:
    await system(page, a).click()
    await system(page, b).click(modifiers=["Shift"])
    await page.keyboard.press("c")
    await expect(page.locator(f'[data-key="{min(a, b)}-{max(a, b)}"]')).to_have_count(1)


async def select_connection(page: Page, a: int, b: int) -> None:
    line = page.locator(f'[data-key="{min(a, b)}-{max(a, b)}"] path').first
    await line.dispatch_event("click")


async def test_the_page_shows_names_classes_effect_statics_and_tonnes(
    sqlite_server: MapperServer, tmp_path: Path
) -> None:
    server = sqlite_server
    owner = server.token("owner")
    j200000 = await import_universe(server, tmp_path, owner)
    chain = create_chain(server, owner)
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        await add_system(page, "Jita")
        await expect(system(page, JITA)).to_contain_text("Jita", timeout=TIMEOUT_MS)
        await expect(system(page, JITA)).to_contain_text("0.9")
        await add_system(page, J200000)
        await expect(system(page, J200000)).to_contain_text("C5", timeout=TIMEOUT_MS)
        await page.get_by_label("snapshot label").fill("two systems")
        await page.get_by_role("button", name="Take snapshot").click()
        await expect(page.locator(".snapshots button", has_text="two systems")).to_have_count(1)

        # The side panel: the name (the fixture's J200000 has id 31000003), its space,
        # region, effect and statics with the class each leads to.
        await system(page, J200000).click()
        details = page.locator(".details")
        await expect(details.locator("h2")).to_have_text("J200000")
        await expect(details.locator(".space")).to_have_text("C5 · A-R00001 · A-C00002")
        await expect(details.locator(".statics")).to_have_text(
            "Statics: B274 → high-sec", timeout=TIMEOUT_MS
        )
        assert j200000["effect"] == "Pulsar"  # the export's secondary sun
        await expect(details.locator(".effect")).to_have_text("Effect: Pulsar")
        await system(page, JITA).click()
        await expect(details.locator("h2")).to_have_text("Jita")
        await expect(details.locator(".space")).to_have_text("0.9 high-sec · The Forge · Kimotoro")
        await expect(details.locator(".statics")).to_have_text("")

        # The connection: its ends by name; the type's class label and masses in tonnes.
        await connect(page, JITA, J200000)
        await select_connection(page, JITA, J200000)
        await expect(details.locator("h2")).to_have_text(f"Connection Jita {DASH} J200000")
        await page.get_by_label("wormhole type").fill("B274")
        await page.get_by_label("wormhole type").press("Enter")
        await expect(page.locator(".type-info")).to_have_text(
            "leads to high-sec · 2,000,000 t total · 300,000 t a jump · 24 h",
            timeout=TIMEOUT_MS,
        )

        # "Leads to" of a wormhole signature names the system at the other end.
        await system(page, J200000).click()
        await page.get_by_label("probe scanner paste").fill(WORMHOLE_SIGNATURE)
        await page.get_by_role("button", name="Apply paste").click()
        leads_to = page.get_by_label("connection of QLB-286")
        await expect(leads_to.locator("option")).to_have_text(["—", "Jita"])

        # The snapshot diff names systems, connections and signatures.
        await add_system(page, PERIMETER)
        await expect(system(page, PERIMETER)).to_contain_text("Perimeter", timeout=TIMEOUT_MS)
        await page.locator(".snapshots button", has_text="two systems").click()
        diff = page.locator(".diff")
        await expect(diff).to_contain_text("system Perimeter")
        await expect(diff).to_contain_text(f"connection Jita {DASH} J200000")
        await expect(diff).to_contain_text("signature J200000 QLB-286")
        await expect(diff).not_to_contain_text(str(PERIMETER))
        await page.screenshot(path=artifact("universe.png"))


async def test_names_are_looked_up_in_one_batch_and_kept_for_offline_use(
    sqlite_server: MapperServer, tmp_path: Path
) -> None:
    server = sqlite_server
    owner = server.token("owner")
    await import_universe(server, tmp_path, owner)
    chain = create_chain(server, owner)
    async with chromium() as browser:
        first = await open_map(await browser.new_context(), server, chain, owner)
        for system_id in (JITA, PERIMETER, AUNIA, J200000):
            await add_system(first, system_id)
        await expect(system(first, J200000)).to_contain_text("J200000", timeout=TIMEOUT_MS)

        # Another browser opening the chain asks for all four names in one call.
        context = await browser.new_context()
        lookups: list[str] = []

        def seen(request: Request) -> None:
            # A request the service worker passes on shows twice: count the page's.
            if IDS_LOOKUP in request.url and request.service_worker is None:
                lookups.append(request.url.split(IDS_LOOKUP)[1])

        context.on("request", seen)
        page = await open_map(context, server, chain, owner)
        for system_id, name in ((JITA, "Jita"), (AUNIA, "Aunia"), (J200000, "J200000")):
            await expect(system(page, system_id)).to_contain_text(name, timeout=TIMEOUT_MS)
        assert len(lookups) == 1, lookups
        assert sorted(lookups[0].split("%2C" if "%2C" in lookups[0] else ",")) == sorted(
            str(system_id) for system_id in (JITA, PERIMETER, AUNIA, J200000)
        )

        # Online, the panel learns J200000's statics, and search sees J123456; the page
        # keeps both.
        await system(page, J200000).click()
        await expect(page.locator(".details .statics")).to_have_text(
            "Statics: B274 → high-sec", timeout=TIMEOUT_MS
        )
        box = page.get_by_label("system id")
        await box.press_sequentially("J1")
        suggestions = page.locator("#system-suggestions option")
        await expect(suggestions).to_have_count(2, timeout=TIMEOUT_MS)
        await box.fill("")

        # Offline, a reload still shows the chain's names, and search finds J123456 from
        # what the page kept (the service worker keeps no lookups or searches).
        await page.wait_for_function("navigator.serviceWorker.controller !== null")
        await context.set_offline(True)
        await page.reload()
        await expect(system(page, JITA)).to_contain_text("Jita", timeout=TIMEOUT_MS)
        await expect(system(page, AUNIA)).to_contain_text("0.3")
        await expect(system(page, J200000)).to_contain_text("C5")
        await system(page, J200000).click()
        await expect(page.locator(".details h2")).to_have_text("J200000")
        await expect(page.locator(".details .statics")).to_have_text("Statics: B274 → high-sec")
        await box.press_sequentially("J12")
        await expect(suggestions).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(suggestions).to_have_attribute("value", "J123456")
        await box.press("Enter")
        await expect(system(page, J123456)).to_contain_text("J123456", timeout=TIMEOUT_MS)
        await expect(system(page, J123456)).to_contain_text("C4")
        await page.screenshot(path=artifact("universe-offline.png"))

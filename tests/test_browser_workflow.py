"""The scout's workflow in real Chromium: a wormhole signature as an open hole on the map, its
type and its connection (the signature table fitting the panel and a phone), mass left with
jumps added by hand, and cleaning up what has expired (undone by Undo). The prompt after a
mapped jump needs the live status and is in tests/test_sync.py."""

from __future__ import annotations

import time

from playwright.async_api import Page, expect
from pycrdt import Map, Text

from tests.browser import TIMEOUT_MS, artifact, chromium, open_map
from tests.chains import create_chain, join
from tests.server import MapperServer

HOME, OTHER = 31000005, 31000007
QLB = "QLB-286\tCosmic Signature\tWormhole\tUnstable Wormhole\t100.0%\t2.34 AU"
HOUR_MS = 3_600_000


def system(page: Page, system_id: int):
    return page.locator(f'[data-system="{system_id}"]')


def entry(system_id: int, x: float) -> Map:
    return Map(
        {"id": system_id, "x": x, "y": 100.0, "alias": "", "status": "unknown", "notes": Text()}
    )


async def select_connection(page: Page, a: int, b: int) -> None:
    """Pick the connection on the map (the map draws afresh on changes: no coordinates)."""
    line = page.locator(f'.connection[data-key="{a}-{b}"] path').first
    await line.dispatch_event("click")
    await expect(page.locator(".mass-left")).to_be_visible(timeout=TIMEOUT_MS)


async def fits_the_panel(page: Page) -> None:
    """The signature table's controls end inside the side panel (nothing cut off)."""
    panel = await page.locator(".panel").bounding_box()
    assert panel
    for control in ("type of QLB-286", "connection of QLB-286"):
        box = await page.get_by_label(control).bounding_box()
        assert box and box["x"] + box["width"] <= panel["x"] + panel["width"], control


async def test_a_pasted_wormhole_signature_gets_its_type_and_its_connection(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    token = server.token("scout")
    chain = create_chain(server, token)
    writer = await join(server, chain, token)
    now = time.time() * 1000
    writer.edit(
        lambda doc: (
            doc.get("systems", type=Map).update(
                {str(HOME): entry(HOME, 160), str(OTHER): entry(OTHER, 460)}
            ),
            doc.get("connections", type=Map).__setitem__(
                f"{HOME}-{OTHER}",
                Map({"a": HOME, "b": OTHER, "kind": "wormhole", "whType": "", "createdAt": now}),
            ),
        )
    )
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, token)
        await system(page, HOME).click()
        await expect(page.get_by_text("Statics:")).to_be_visible(timeout=TIMEOUT_MS)
        await page.get_by_label("probe scanner paste").fill(QLB)
        await page.get_by_role("button", name="Apply paste").click()
        await expect(page.locator(".outcome")).to_contain_text("1 added")
        # Not linked yet: an open hole from its system, no system made up for it.
        hole = page.locator(f'[data-system="{HOME}"] .hole')
        await expect(hole).to_have_accessible_name("Open hole QLB-286", timeout=TIMEOUT_MS)
        await expect(page.locator("[data-system]")).to_have_count(2)
        kind = page.get_by_label("type of QLB-286")
        await kind.fill("b274")
        await kind.press("Enter")
        await expect(page.locator(".signatures .leads")).to_have_text(" → high-sec")
        await expect(
            page.get_by_role("img", name="Open hole QLB-286 (B274 to high-sec)")
        ).to_be_visible(timeout=TIMEOUT_MS)
        await expect(hole).to_have_text("QLB-286 B274→HS")
        await page.screenshot(path=artifact("workflow-open-hole.png"))
        await page.get_by_label("connection of QLB-286").select_option(f"{HOME}-{OTHER}")
        await expect(hole).to_have_count(0, timeout=TIMEOUT_MS)
        await fits_the_panel(page)
        await page.screenshot(path=artifact("workflow-signatures.png"))
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.get_by_label("connection of QLB-286").scroll_into_view_if_needed()
        await fits_the_panel(page)
        await page.screenshot(path=artifact("workflow-signatures-phone.png"))
        await writer.wait(
            lambda: writer.map("connections")[f"{HOME}-{OTHER}"].get("sigA") == "QLB-286",
            TIMEOUT_MS / 1000,
        )
        link = writer.map("connections")[f"{HOME}-{OTHER}"]
        assert (link["whType"], link["whSide"]) == ("B274", "a"), "the typed side is the sig's"
        assert writer.map("signatures")[f"{HOME}:QLB-286"]["whType"] == "B274"
        await page.screenshot(path=artifact("workflow-signature.png"))
    await writer.close()


async def test_mass_left_and_a_warning_before_a_jump_takes_the_hole_critical(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    token = server.token("scout")
    chain = create_chain(server, token)
    writer = await join(server, chain, token)
    key = f"{HOME}-{OTHER}"
    writer.edit(
        lambda doc: (
            doc.get("systems", type=Map).update(
                {str(HOME): entry(HOME, 160), str(OTHER): entry(OTHER, 460)}
            ),
            doc.get("connections", type=Map).__setitem__(
                key,
                Map({"a": HOME, "b": OTHER, "kind": "wormhole", "whType": "B274", "whSide": "b"}),
            ),
        )
    )
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, token)
        await expect(system(page, OTHER)).to_be_visible(timeout=TIMEOUT_MS)
        await select_connection(page, HOME, OTHER)
        await expect(page.locator(".ends [data-end=b]")).to_contain_text("B274")
        await expect(page.locator(".ends [data-end=a]")).to_contain_text("K162")
        mass = page.locator(".mass-left")
        await expect(mass).to_contain_text("left 2,000,000 t (fresh)", timeout=TIMEOUT_MS)

        ship = page.get_by_label("ship")
        await ship.fill("Rifter")
        await page.get_by_role("button", name="Add jump").click()
        await expect(mass).to_contain_text("Mass passed 1,067 t", timeout=TIMEOUT_MS)
        await expect(mass).to_contain_text("left 1,998,933 t (fresh)")

        await page.get_by_label("ship").fill("Avatar")
        await page.get_by_role("button", name="Add jump").click()
        await expect(page.locator(".mass .warning")).to_contain_text("takes this hole critical")
        assert len(writer.map("connections")[key]["jumps"]) == 1, "not added before the warning"
        await page.get_by_role("button", name="Jump anyway").click()
        await expect(mass).to_contain_text("(critical)", timeout=TIMEOUT_MS)
        await writer.wait(lambda: len(writer.map("connections")[key]["jumps"]) == 2)
        jumps = writer.map("connections")[key]["jumps"].to_py()
        assert [(j["shipTypeId"], j["mass"]) for j in jumps] == [(587, 1067000), (11567, 2.4e9)]
        await page.screenshot(path=artifact("workflow-mass.png"))
    await writer.close()


async def test_clean_up_expired_removes_old_holes_and_signatures_and_undo_brings_them_back(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    token = server.token("scout")
    chain = create_chain(server, token)
    writer = await join(server, chain, token)
    now = time.time() * 1000
    third = 31000009
    old, fresh = f"{HOME}-{OTHER}", f"{HOME}-{third}"

    def content(doc: object) -> None:
        systems = writer.map("systems")
        for system_id, x in ((HOME, 160), (OTHER, 460), (third, 460)):
            systems[str(system_id)] = entry(system_id, x)
        connections = writer.map("connections")
        # A B274 lives 24 h: this one was found 25 h ago, the other an hour ago.
        connections[old] = Map(
            {"a": HOME, "b": OTHER, "whType": "B274", "createdAt": now - 25 * HOUR_MS}
        )
        connections[fresh] = Map(
            {"a": HOME, "b": third, "whType": "B274", "createdAt": now - HOUR_MS}
        )
        signatures = writer.map("signatures")
        for sig, age in (("ABC-123", 30), ("DEF-456", 2)):
            signatures[f"{HOME}:{sig}"] = Map(
                {"system": HOME, "sig": sig, "group": "data", "createdAt": now - age * HOUR_MS}
            )

    writer.edit(content)
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, token)
        await expect(page.locator(f'[data-key="{old}"]')).to_have_count(1, timeout=TIMEOUT_MS)
        await page.get_by_role("button", name="Clean up expired").click()
        await expect(page.locator(f'[data-key="{old}"]')).to_have_count(0, timeout=TIMEOUT_MS)
        await writer.wait(lambda: old not in writer.map("connections"), TIMEOUT_MS / 1000)
        assert set(writer.map("connections").keys()) == {fresh}
        assert set(writer.map("signatures").keys()) == {f"{HOME}:DEF-456"}

        await page.get_by_role("button", name="Undo").click()
        await expect(page.locator(f'[data-key="{old}"]')).to_have_count(1, timeout=TIMEOUT_MS)
        await writer.wait(lambda: f"{HOME}:ABC-123" in writer.map("signatures"), TIMEOUT_MS / 1000)
        assert set(writer.map("connections").keys()) == {old, fresh}
    await writer.close()

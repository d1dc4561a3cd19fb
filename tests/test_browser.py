"""The browser app in real Chromium: two scouts on one chain, undo, read-only viewers."""

from __future__ import annotations

import asyncio
import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser import TIMEOUT_MS, artifact, chromium, open_map
from tests.chains import create_chain, grant, join
from tests.server import MapperServer


async def two_maps(
    browser: Browser, server: MapperServer, chain: str, token: str
) -> tuple[Page, Page]:
    """The same chain open in two browsers (separate contexts: separate storage)."""
    first = await open_map(await browser.new_context(), server, chain, token)
    return first, await open_map(await browser.new_context(), server, chain, token)


async def add_system(page: Page, system_id: int) -> None:
    await page.get_by_label("system id").fill(str(system_id))
    await page.get_by_label("system id").press("Enter")


def system(page: Page, system_id: int):
    return page.locator(f'[data-system="{system_id}"]')


# Where one system's box is relative to another's, on screen; and whether that changed.
OFFSET = """([a, b]) => {
    const box = (id) => document.querySelector(`[data-system="${id}"]`).getBoundingClientRect();
    return [box(b).x - box(a).x, box(b).y - box(a).y];
}"""
MOVED = f"""([a, b, before]) => {{
    const [x, y] = ({OFFSET})([a, b]);
    return Math.abs(x - before[0]) + Math.abs(y - before[1]) > 20;
}}"""


async def offset(page: Page, a: int, b: int) -> list[float]:
    return await page.evaluate(OFFSET, [a, b])


async def test_two_scouts_converge_and_undo(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner", name="Owner")
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:scout", "editor")
    async with chromium() as browser:
        alice_context, bob_context = await browser.new_context(), await browser.new_context()
        alice = await open_map(alice_context, server, chain, owner)
        bob = await open_map(bob_context, server, chain, server.token("scout", name="Scout"))

        await add_system(alice, 31000005)
        await add_system(alice, 31000007)
        await expect(system(bob, 31000005)).to_be_visible(timeout=TIMEOUT_MS)
        await expect(system(bob, 31000007)).to_be_visible()

        # Bob names a system; Alice sees the alias as text on her map, and who has it selected.
        await system(bob, 31000005).click()
        await expect(system(alice, 31000005)).to_contain_text("Scout", timeout=TIMEOUT_MS)
        await expect(alice.locator(".viewers")).to_have_text("Scout")
        await bob.get_by_label("alias").fill("home")
        await bob.get_by_label("alias").press("Enter")
        await expect(system(alice, 31000005)).to_contain_text("home", timeout=TIMEOUT_MS)

        # Alice connects the two; both see the connection.
        await system(alice, 31000005).click()
        await system(alice, 31000007).click(modifiers=["Shift"])
        await alice.get_by_role("button", name="Connect").click()
        connection = '[data-key="31000005-31000007"]'
        await expect(bob.locator(connection)).to_have_count(1, timeout=TIMEOUT_MS)

        # Alice drags a system; Bob sees it move (relative to the other, whatever his view).
        before = await offset(bob, 31000005, 31000007)
        box = await system(alice, 31000007).bounding_box()
        assert box is not None
        await alice.mouse.move(box["x"] + 20, box["y"] + 10)
        await alice.mouse.down()
        await alice.mouse.move(box["x"] + 140, box["y"] + 130, steps=8)
        await alice.mouse.up()
        await bob.wait_for_function(MOVED, arg=[31000005, 31000007, before], timeout=TIMEOUT_MS)

        # Undo takes back Alice's own last edits only: the move, then the connection.
        await alice.keyboard.press("Control+z")
        await alice.keyboard.press("Control+z")
        await expect(bob.locator(connection)).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(system(bob, 31000005)).to_contain_text("home")
        await alice.keyboard.press("Control+Shift+z")
        await expect(bob.locator(connection)).to_have_count(1, timeout=TIMEOUT_MS)

        # Status, then a delete (with what hangs on it), then its undo.
        await system(bob, 31000007).click()
        await bob.get_by_label("status").select_option("hostile")
        await expect(system(alice, 31000007)).to_have_class(
            re.compile(r"\bstatus-hostile\b"), timeout=TIMEOUT_MS
        )
        await system(alice, 31000005).click()
        await alice.keyboard.press("Delete")
        await expect(system(bob, 31000005)).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(bob.locator(connection)).to_have_count(0)
        await alice.keyboard.press("Control+z")
        await expect(system(bob, 31000005)).to_contain_text("home", timeout=TIMEOUT_MS)
        await expect(bob.locator(connection)).to_have_count(1)
        await alice.screenshot(path=artifact("two-scouts.png"))


@pytest.mark.parametrize("role", ["viewer"])
async def test_a_viewer_page_is_read_only(sqlite_server: MapperServer, role: str) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:watcher", role)
    async with chromium() as browser:
        owner_page = await open_map(await browser.new_context(), server, chain, owner)
        await add_system(owner_page, 31000005)
        watcher = await open_map(
            await browser.new_context(), server, chain, server.token("watcher")
        )
        await expect(system(watcher, 31000005)).to_be_visible(timeout=TIMEOUT_MS)
        await expect(watcher.locator(".readonly")).to_have_text("read-only")
        await expect(watcher.get_by_label("system id")).to_be_disabled()
        await watcher.screenshot(path=artifact("viewer.png"))


async def test_offline_edits_merge_and_an_offline_reload_shows_the_chain(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    owner = server.token("owner", name="Owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        scout_context = await browser.new_context()
        scout = await open_map(scout_context, server, chain, owner)
        other = await open_map(await browser.new_context(), server, chain, owner)
        await add_system(scout, 31000005)
        await expect(system(other, 31000005)).to_be_visible(timeout=TIMEOUT_MS)
        # The service worker must control the page before it can answer offline.
        await scout.wait_for_function("navigator.serviceWorker.controller !== null")

        await scout_context.set_offline(True)
        await expect(scout.locator(".banner")).to_be_visible(timeout=TIMEOUT_MS)
        await add_system(scout, 31000009)
        await add_system(other, 31000011)  # made online meanwhile
        await scout.reload()
        await expect(system(scout, 31000009)).to_be_visible(timeout=TIMEOUT_MS)
        await expect(system(scout, 31000005)).to_be_visible()
        await scout.screenshot(path=artifact("offline.png"))

        await scout_context.set_offline(False)
        await expect(system(other, 31000009)).to_be_visible(timeout=20_000)
        await expect(system(scout, 31000011)).to_be_visible(timeout=20_000)


ENGLISH = (
    "QLB-286\tCosmic Signature\tWormhole\tUnstable Wormhole\t100.0%\t2.34 AU\n"
    "KXJ-449\tCosmic Signature\tGas Site\tBarren Perimeter Reservoir\t100.0%\t8.91 AU\n"
    "VZT-612\tCosmic Signature\t\t\t0.0%\t11.20 AU\n"
)
GERMAN = (
    "QLB-286\tKosmische Signatur\t\t\t10,0%\t2,34 AE\r\n"  # less scanned: must not downgrade
    "VZT-612\tKosmische Signatur\tWurmloch\t\t100,0%\t11,20 AE\r\n"
)


async def test_pasting_probe_scanner_results(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        scout, other = await two_maps(browser, server, chain, owner)
        await add_system(scout, 31000005)
        await system(scout, 31000005).click()
        # The system's facts arrive after the panel shows and push the paste box down: a click
        # while they land can miss the button (seen once in CI), so they come first.
        await expect(scout.get_by_text("Statics:")).to_be_visible(timeout=TIMEOUT_MS)
        paste = scout.get_by_label("probe scanner paste")
        await paste.fill(ENGLISH)
        await scout.get_by_role("button", name="Apply paste").click()
        await expect(scout.locator(".outcome")).to_contain_text("3 added")
        await expect(system(other, 31000005)).to_contain_text("3◎", timeout=TIMEOUT_MS)

        await paste.fill(GERMAN)
        await scout.get_by_role("button", name="Apply paste").click()
        await expect(scout.locator(".outcome")).to_contain_text("0 added, 1 updated")
        rows = scout.locator(".signatures tr")
        await expect(rows.filter(has_text="QLB-286")).to_contain_text("Unstable Wormhole")
        await expect(rows.filter(has_text="VZT-612")).to_contain_text("wormhole")
        # The paste lacks KXJ-449: deleting it is offered, and done only when asked.
        prune = scout.locator(".prune")
        await expect(prune).to_contain_text("KXJ-449")
        await expect(rows.filter(has_text="KXJ-449")).to_have_count(1)
        await prune.click()
        await expect(rows.filter(has_text="KXJ-449")).to_have_count(0)

        # A wormhole signature is linked to the connection it leads through.
        await add_system(scout, 31000007)
        await system(scout, 31000005).click()
        await system(scout, 31000007).click(modifiers=["Shift"])
        await scout.keyboard.press("c")
        await system(scout, 31000005).click()
        await scout.get_by_label("connection of QLB-286").select_option("31000005-31000007")
        await system(other, 31000005).click()
        await expect(other.get_by_label("connection of QLB-286")).to_have_value(
            "31000005-31000007", timeout=TIMEOUT_MS
        )
        await scout.screenshot(path=artifact("signatures.png"))


async def test_an_owners_restore_reaches_another_browser(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:scout", "editor")
    async with chromium() as browser:
        admin = await open_map(await browser.new_context(), server, chain, owner)
        scout = await open_map(await browser.new_context(), server, chain, server.token("scout"))
        await expect(scout.locator(".admin")).to_have_count(0)  # owners only
        await add_system(admin, 31000005)
        await expect(system(scout, 31000005)).to_be_visible(timeout=TIMEOUT_MS)
        await admin.get_by_label("snapshot label").fill("before the bad paste")
        await admin.get_by_role("button", name="Take snapshot").click()
        taken = admin.locator(".snapshots button", has_text="before the bad paste")
        await expect(taken).to_have_count(1)
        await add_system(scout, 31000009)
        await expect(system(admin, 31000009)).to_be_visible(timeout=TIMEOUT_MS)

        await taken.click()
        # The line names the system (by name where static data knows it).
        await expect(admin.locator('.diff .removed[data-key="31000009"]')).to_contain_text("system")
        admin.once("dialog", lambda dialog: dialog.accept())
        await admin.locator(".restore").click()
        await expect(admin.locator(".snapshot-detail")).to_contain_text("To undo, restore")
        await expect(system(scout, 31000009)).to_have_count(0, timeout=TIMEOUT_MS)
        await expect(system(scout, 31000005)).to_be_visible()
        await admin.screenshot(path=artifact("restore.png"))


async def test_connection_details_are_shared(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        scout, other = await two_maps(browser, server, chain, owner)
        await add_system(scout, 31000005)
        await add_system(scout, 31000007)
        await system(scout, 31000005).click()
        await system(scout, 31000007).click(modifiers=["Shift"])
        await scout.keyboard.press("c")
        connection = '[data-key="31000005-31000007"]'
        await expect(scout.locator(connection)).to_have_count(1)
        # Click the line between the two systems.
        left, right = (
            await system(scout, 31000005).bounding_box(),
            await system(scout, 31000007).bounding_box(),
        )
        assert left is not None and right is not None
        await scout.mouse.click(
            (left["x"] + left["width"] + right["x"]) / 2, left["y"] + left["height"] / 2
        )
        await scout.get_by_label("wormhole type").fill("b274")
        await scout.get_by_label("wormhole type").press("Enter")
        await scout.get_by_label("mass").select_option("critical")
        await scout.get_by_label("end of life").check()
        await expect(other.locator(connection)).to_have_class(
            "connection mass-critical eol size-any", timeout=TIMEOUT_MS
        )
        await expect(other.locator(connection)).to_contain_text("B274")
        await expect(scout.locator(".age")).to_contain_text("end of life for 0 min")


async def test_notes_are_written_together(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        alice, bob = await two_maps(browser, server, chain, owner)
        await add_system(alice, 31000005)
        await system(bob, 31000005).click()
        await system(alice, 31000005).click()
        alice_notes, bob_notes = alice.get_by_label("notes"), bob.get_by_label("notes")
        await alice_notes.press_sequentially("hole to hs ")
        await expect(bob_notes).to_have_value("hole to hs ", timeout=TIMEOUT_MS)
        # Both type at once, Alice at the start and Bob at the end: nothing is lost.
        await alice_notes.press("Home")
        await bob_notes.press("End")
        await asyncio.gather(
            alice_notes.press_sequentially("EOL? "), bob_notes.press_sequentially("via Jita")
        )
        final = "EOL? hole to hs via Jita"
        await expect(alice_notes).to_have_value(final, timeout=TIMEOUT_MS)
        await expect(bob_notes).to_have_value(final, timeout=TIMEOUT_MS)


SET_HIDDEN = """hidden => {
    Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
    document.dispatchEvent(new Event("visibilitychange"));
}"""


async def test_a_hidden_tab_says_so_in_its_awareness(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner", name="Owner")
    chain = create_chain(server, owner)
    watcher = await join(server, chain, owner)

    def visible_states() -> list[bool]:
        return [state["visible"] for state in watcher.awareness.values() if state]

    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        await watcher.wait(lambda: visible_states() == [True])
        for hidden in (True, False):
            await page.evaluate(SET_HIDDEN, hidden)
            await watcher.wait(lambda hidden=hidden: visible_states() == [not hidden])
    await watcher.close()

"""The map page's panels in real Chromium: signature ages and deletes, the route panel by name,
chain rename, one presence entry per user, signing in again after the token expired (4401)
with the edits made meanwhile, and a page that logs no console errors."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import jwt
from playwright.async_api import ConsoleMessage, Page, expect
from pycrdt import Map

from tests.browser import TIMEOUT_MS, artifact, chromium, open_map
from tests.chains import auth, create_chain, document, grant, join
from tests.fake_sso import Character, FakeSso
from tests.server import MapperServer, free_port
from tests.test_eve_login import client, sign_in, sso_env

J_SPACE = 31000005  # Thera in the built-in universe: wormhole space with no stargates
JITA, PERIMETER, AMARR = 30000142, 30000144, 30002187


async def add_system(page: Page, system_id: int) -> None:
    """Add a system by id; the page selects it, so its panel shows."""
    await page.get_by_label("system id").fill(str(system_id))
    await page.get_by_label("system id").press("Enter")
    await expect(page.locator(".details h2")).to_have_attribute("title", str(system_id))


def system(page: Page, system_id: int):
    return page.locator(f'[data-system="{system_id}"]')


async def test_signatures_show_their_age_and_delete_one_by_one(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    scout = await join(server, chain, owner)
    three_hours_ago = time.time() * 1000 - (3 * 60 + 12) * 60_000 - 30_000
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        await add_system(page, J_SPACE)
        # Another scout's signatures, one pasted 3h 12m ago.
        for sig, created in (("ABC-123", three_hours_ago), ("DEF-456", time.time() * 1000)):
            entry = {"system": J_SPACE, "sig": sig, "group": "gas", "type": "", "name": ""}
            entry |= {"connection": "", "createdAt": created, "updatedAt": created, "by": "owner"}
            scout.edit(
                lambda doc, sig=sig, entry=entry: doc.get("signatures", type=Map).__setitem__(
                    f"{J_SPACE}:{sig}", Map(entry)
                )
            )
        rows = page.locator(".signatures tr")
        await expect(rows.filter(has_text="ABC-123").locator(".age")).to_have_text(
            "3h 12m", timeout=TIMEOUT_MS
        )
        await expect(rows.filter(has_text="DEF-456").locator(".age")).to_have_text("0m")
        await page.screenshot(path=artifact("signature-ages.png"))

        await page.get_by_label("delete signature ABC-123").click()
        await expect(rows.filter(has_text="ABC-123")).to_have_count(0)
        await scout.wait(lambda: f"{J_SPACE}:ABC-123" not in scout.map("signatures"))
        assert f"{J_SPACE}:DEF-456" in scout.map("signatures")
        # The delete is one undoable step of its own.
        await page.keyboard.press("Control+z")
        await expect(rows.filter(has_text="ABC-123")).to_have_count(1, timeout=TIMEOUT_MS)
    await scout.close()


async def test_a_route_to_a_system_typed_by_name(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        await add_system(page, JITA)
        await add_system(page, J_SPACE)
        # Connect the wormhole system to Jita: the route goes through the chain.
        await system(page, J_SPACE).click()
        await system(page, JITA).click(modifiers=["Shift"])
        await page.keyboard.press("c")
        await system(page, J_SPACE).click()

        await page.get_by_label("route to").fill("Perimeter")
        await page.get_by_role("button", name="Find route").click()
        route = page.locator(".route")
        await expect(route.locator(".jumps")).to_have_text("2 jumps", timeout=TIMEOUT_MS)
        stops = route.locator("li")
        await expect(stops).to_have_count(3)
        await expect(stops.nth(1)).to_contain_text("Jita")
        await expect(stops.nth(1).locator(".space")).to_have_text("0.9")
        await expect(stops.nth(1).locator(".space")).to_have_class("space space-high")
        await expect(stops.nth(2)).to_contain_text("Perimeter")
        await expect(stops.nth(0)).to_have_text("Thera Thera")
        await page.screenshot(path=artifact("route.png"))

        # Without the chain's connections there is no way out of the wormhole system.
        await page.get_by_text("Options").click()
        await page.get_by_label("this chain's connections").uncheck()
        await page.get_by_role("button", name="Find route").click()
        await expect(route).to_have_text("No route with these options.", timeout=TIMEOUT_MS)


async def test_an_owner_renames_the_chain_and_a_viewer_sees_it(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner, "Home chain")
    grant(server, owner, chain, "user:watcher", "viewer")
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        watcher_token = server.token("watcher")
        watcher = await open_map(await browser.new_context(), server, chain, watcher_token)
        await expect(watcher.get_by_role("button", name="Share Home chain")).to_have_count(0)
        # A viewer is not told to shift-click: they cannot connect anything.
        await expect(watcher.locator(".hint")).to_have_text("Select a system to see its details.")

        await page.get_by_role("button", name="Share Home chain").click()
        dialog = page.get_by_role("dialog")
        await dialog.get_by_label("Chain name").fill("Staging C5")
        await dialog.get_by_role("button", name="Rename").click()
        await expect(page.locator(".toolbar h1")).to_have_text("Staging C5", timeout=TIMEOUT_MS)
        # The rename reaches every open map through the chain's document.
        await expect(watcher.locator(".toolbar h1")).to_have_text("Staging C5", timeout=TIMEOUT_MS)


async def test_a_user_with_two_tabs_is_listed_once(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner", name="Owner")
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:scout", "editor")
    scout_token = server.token("scout", name="Scout")
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        scout_context = await browser.new_context()
        await open_map(scout_context, server, chain, scout_token)
        await open_map(scout_context, server, chain, scout_token)
        viewers = page.locator(".viewers")
        await expect(viewers).to_have_attribute("title", "Scout: 2 tabs", timeout=TIMEOUT_MS)
        await expect(viewers).to_have_text("Scout")
        await page.screenshot(path=artifact("presence.png"))


async def test_signing_in_again_after_4401_sends_the_edit_made_meanwhile(
    sqlite_url: str, tmp_path: Path
) -> None:
    # No clock skew allowed, so a token's end closes the socket when it says.
    server = MapperServer(tmp_path / "data", sqlite_url, env={"MAPPER_AUTH_LEEWAY_S": "0"})
    server.start()
    try:
        await _sign_in_again(server)
    finally:
        server.stop()


async def _sign_in_again(server: MapperServer) -> None:
    owner = server.token("owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        context = await browser.new_context()
        page = await open_map(context, server, chain, server.token("owner", ttl_s=6))
        await add_system(page, J_SPACE)
        expired = page.get_by_role("alert")
        await expect(expired).to_contain_text("Your sign-in has expired", timeout=20_000)
        await expect(page.locator(".status")).to_have_text("signed out")
        await expect(page.get_by_text("Offline: your edits are kept")).to_be_hidden()
        await expect(expired).to_contain_text("login link")

        # Signed out, the scout goes on mapping: kept in the browser, not sent.
        await add_system(page, JITA)
        await page.screenshot(path=artifact("sign-in-expired.png"))
        assert str(JITA) not in document(server, owner, chain)["systems"]

        # The new login link, opened in another tab, signs this one in again.
        login = await context.new_page()
        await login.goto(f"{server.http}/#token={server.token('owner')}")
        await expect(page.locator(".status")).to_have_text("live", timeout=TIMEOUT_MS)
        await expect(page.get_by_role("alert")).to_have_count(0)
        await until_in_document(server, owner, chain, JITA)


async def test_with_eve_login_the_page_signs_in_again_and_comes_back(
    sqlite_url: str, tmp_path: Path
) -> None:
    alice = Character(91000001, "Alice Avari", corporation_id=98000001)
    eve = await FakeSso().start()
    eve.add(alice)
    port = free_port()
    env = sso_env(eve, port, MAPPER_AUTH_LEEWAY_S="0")
    server = MapperServer(tmp_path / "data", sqlite_url, env=env, port=port).start()
    try:
        async with client(server) as http:
            signed_in = await sign_in(http, eve, alice)
        user_id = jwt_subject(signed_in)
        chain = create_chain(server, signed_in)
        async with chromium() as browser:
            short = server.token(user_id, name=alice.name, ttl_s=6)
            page = await open_map(await browser.new_context(), server, chain, short)
            await expect(page.get_by_role("alert")).to_contain_text(
                "Your sign-in has expired", timeout=20_000
            )
            await add_system(page, JITA)
            eve.at_keyboard = alice.character_id
            await page.get_by_role("link", name="Sign in again with EVE").click()
            # EVE's login ends on `/#token=...`; the page goes back to the chain.
            await page.wait_for_url(f"{server.http}/chains/{chain}", timeout=TIMEOUT_MS)
            await expect(page.locator(".status")).to_have_text("live", timeout=TIMEOUT_MS)
            await until_in_document(server, signed_in, chain, JITA)
    finally:
        server.stop()
        await eve.stop()


def jwt_subject(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["sub"])


async def until_in_document(server: MapperServer, token: str, chain: str, system_id: int) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while str(system_id) not in document(server, token, chain)["systems"]:
        assert time.monotonic() < deadline, f"{system_id} never reached the service"
        await asyncio.sleep(0.1)


async def test_a_revoked_member_is_told_so_not_offline(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:scout", "editor")
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, server.token("scout"))
        revoke = httpx.delete(
            f"{server.http}/api/chains/{chain}/members/user:scout", headers=auth(owner)
        )
        assert revoke.status_code == 204, revoke.text
        await expect(page.get_by_role("alert")).to_have_text(
            "Your access to this chain was withdrawn. The copy this browser kept was removed.",
            timeout=TIMEOUT_MS,
        )
        await expect(page.locator(".status")).to_have_text("no access")
        await expect(page.get_by_text("Offline: your edits are kept")).to_be_hidden()
        # The chain is no longer the scout's to see or edit: the map and panels go, the edit
        # controls are disabled.
        await expect(page.get_by_role("region", name="chain map")).to_have_count(0)
        await expect(page.get_by_role("button", name="Add", exact=True)).to_be_disabled()


async def test_the_snapshot_list_is_read_again_when_back_online(
    sqlite_server: MapperServer,
) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    async with chromium() as browser:
        context = await browser.new_context()
        page = await open_map(context, server, chain, owner)
        await expect(page.locator(".snapshots")).to_be_attached()
        await context.set_offline(True)
        await expect(page.locator(".status")).to_have_text("offline", timeout=TIMEOUT_MS)
        taken = httpx.post(
            f"{server.http}/api/chains/{chain}/snapshots",
            json={"label": "taken while away"},
            headers=auth(owner),
        )
        assert taken.status_code == 201, taken.text
        await context.set_offline(False)
        await expect(page.locator(".status")).to_have_text("live", timeout=20_000)
        await expect(page.locator(".snapshots")).to_contain_text(
            "taken while away", timeout=TIMEOUT_MS
        )


async def test_the_page_logs_no_console_errors(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    owner = server.token("owner")
    chain = create_chain(server, owner)
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} at {message.location}")

    async with chromium() as browser:
        pages = []
        for _ in range(2):
            context = await browser.new_context()
            context.on("console", record)
            context.on("weberror", lambda error: errors.append(str(error.error)))
            pages.append(await open_map(context, server, chain, owner))
        page, other = pages
        await add_system(page, J_SPACE)
        await add_system(page, JITA)
        await page.get_by_label("notes").press_sequentially("two holes")
        # The other page shows the system's notes while this one deletes it, then undoes that.
        await system(other, J_SPACE).click()
        await expect(other.get_by_label("notes")).to_have_value("", timeout=TIMEOUT_MS)
        await system(page, J_SPACE).click()
        await page.keyboard.press("Delete")
        await expect(system(other, J_SPACE)).to_have_count(0, timeout=TIMEOUT_MS)
        await page.keyboard.press("Control+z")
        await expect(system(other, J_SPACE)).to_have_count(1, timeout=TIMEOUT_MS)
        await system(other, J_SPACE).click()
        await system(other, JITA).click()
        await expect(other.get_by_label("notes")).to_have_value("two holes", timeout=TIMEOUT_MS)
        await page.reload()
        await expect(page.locator(".status")).to_have_text("live", timeout=TIMEOUT_MS)
        await system(page, JITA).click()
        await expect(page.get_by_label("notes")).to_have_value("two holes")
    assert errors == []

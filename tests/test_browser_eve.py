"""The EVE login in real Chromium, against the fake EVE SSO and ESI on loopback: sign in, link a
second character, share a chain with a corporation from the share dialog, a pilot of that
corporation opens it, and when ESI says the pilot left the corporation their open map says
access was lost (the socket closed with 4403); sign out, a character needing a new login,
unlink."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, ConsoleMessage, Page, expect

from tests.browser import TIMEOUT_MS, artifact, chromium
from tests.fake_sso import SCOPES, Character, FakeSso, sso_env, started
from tests.server import MapperServer, free_port

ALICE = Character(91000001, "Alice Avari", corporation_id=98000001, alliance_id=99000001)
ALICE_ALT = Character(91000002, "Alice Alt", corporation_id=98000002)
BOB = Character(91000003, "Bob Brave", corporation_id=98000003)
# The service looks at corporations every second here (MAPPER_AFFILIATION_CHECK_S=1); the
# contract allows a minute. Well within either.
AFFILIATION_BOUND_MS = 20_000


@pytest.fixture
async def eve() -> AsyncIterator[FakeSso]:
    fake = await started(ALICE, ALICE_ALT, BOB)
    yield fake
    await fake.stop()


@pytest.fixture
def mapper(eve: FakeSso, sqlite_url: str, tmp_path: Path) -> Iterator[MapperServer]:
    port = free_port()
    server = MapperServer(tmp_path / "data", sqlite_url, env=sso_env(eve, port), port=port)
    yield server.start()
    server.stop()


def console_errors(page: Page) -> list[str]:
    """Every error the page logs or throws, as it happens."""
    errors: list[str] = []

    def logged(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"{message.text} {message.location.get('url')}")

    page.on("console", logged)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


async def signed_in(
    context: BrowserContext, server: MapperServer, eve: FakeSso, who: Character
) -> tuple[Page, list[str]]:
    """A new page that signs in with EVE as `who` from the start page's button, and the
    errors it logs."""
    page = await context.new_page()
    errors = console_errors(page)
    await page.goto(server.http + "/")
    eve.at_keyboard = who.character_id
    await page.get_by_role("button", name="Sign in with EVE Online").click()
    await expect(page.get_by_role("heading", name="Chains")).to_be_visible(timeout=TIMEOUT_MS)
    return page, errors


async def stored_copies(page: Page) -> list[str]:
    names: list[str] = await page.evaluate(
        "async () => (await indexedDB.databases()).map((db) => db.name)"
    )
    return names


async def test_sign_in_link_share_with_a_corporation_and_a_pilot_who_leaves_it_loses_the_map(
    mapper: MapperServer, eve: FakeSso
) -> None:
    async with chromium() as browser:
        alice, alice_errors = await signed_in(await browser.new_context(), mapper, eve, ALICE)
        alice.on("dialog", lambda dialog: dialog.accept())

        # Her character, its corporation and alliance by name, and the scopes it granted.
        mine = alice.get_by_role("list", name="your EVE characters")
        await expect(mine.locator("li.character")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(mine).to_contain_text("Alice Avari")
        await expect(mine).to_contain_text("Avari Holdings · Wormhole Society")
        scopes = alice.get_by_role("list", name="scopes Alice Avari granted").locator("li")
        await expect(scopes).to_have_text(["online status", "location", "ship type"])
        assert [await scope.get_attribute("title") for scope in await scopes.all()] == SCOPES

        # A second character joins her: EVE's login again, and back to the list.
        eve.at_keyboard = ALICE_ALT.character_id
        await alice.get_by_role("button", name="Link another character").click()
        await expect(mine.locator("li.character")).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(mine).to_contain_text("Alice Alt")
        await expect(mine).to_contain_text("Alt Corp")
        await alice.screenshot(path=artifact("eve-characters.png"))

        # A chain, shared with Bob's corporation found by name in the share dialog.
        await alice.get_by_placeholder("New chain name").fill("Corp chain")
        await alice.get_by_role("button", name="Create").click()
        await expect(alice.locator(".status")).to_have_text("live", timeout=TIMEOUT_MS)
        kept = f"mapper-chain-{alice.url.rsplit('/', 1)[1]}"  # the chain's IndexedDB copy
        await alice.get_by_role("button", name="Share Corp chain").click()
        dialog = alice.get_by_role("dialog", name="Share “Corp chain”")
        members = dialog.get_by_role("list", name="who has access")
        await expect(members.locator("li")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(members.get_by_label("Role of Alice Avari (user)")).to_have_value("owner")
        found = dialog.get_by_role("list", name="search results")
        await dialog.get_by_label("Find a character, corporation or alliance").fill("Br")
        await expect(found.locator("li")).to_have_count(0)  # fewer than 3 letters: no search
        await dialog.get_by_label("Find a character, corporation or alliance").fill("Brave Newbies")
        await found.get_by_role("button", name="Brave Newbies (corporation)").click()
        await dialog.get_by_label("Role to give").select_option("editor")
        await dialog.get_by_role("button", name="Give access").click()
        corporation = members.get_by_label("Role of Brave Newbies (corporation)")
        await expect(corporation).to_have_value("editor", timeout=TIMEOUT_MS)
        await dialog.get_by_label("Chain name").fill("Home")
        await dialog.get_by_role("button", name="Rename").click()
        await expect(alice.get_by_role("heading", name="Home", exact=True)).to_be_visible(
            timeout=TIMEOUT_MS
        )
        dialog = alice.get_by_role("dialog", name="Share “Home”")
        await expect(dialog).to_be_visible()
        await alice.screenshot(path=artifact("eve-share.png"))
        await dialog.get_by_role("button", name="Close").click()
        await expect(alice.get_by_role("dialog")).to_have_count(0)

        # Bob, a pilot of that corporation, signs in elsewhere and opens it.
        bob, bob_errors = await signed_in(await browser.new_context(), mapper, eve, BOB)
        await bob.get_by_role("link", name="Home").click()
        await expect(bob.locator(".status")).to_have_text("live", timeout=TIMEOUT_MS)
        await expect(bob.locator(".readonly")).to_have_count(0)  # an editor
        assert kept in await stored_copies(bob)

        # ESI now says Bob left the corporation: his open map closes and says why.
        eve.characters[BOB.character_id] = Character(BOB.character_id, BOB.name, 1000166)
        banner = bob.get_by_role("alert")
        await expect(banner).to_have_text(
            # What the page says for 4403 (not 4404, not a dropped connection).
            "Your access to this chain was withdrawn. The copy this browser kept was removed.",
            timeout=AFFILIATION_BOUND_MS,
        )
        await bob.screenshot(path=artifact("eve-access-lost.png"))
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        while kept in await stored_copies(bob):
            assert time.monotonic() < deadline, "the chain's copy stayed in the browser"
            await asyncio.sleep(0.1)
        await bob.goto(mapper.http + "/")
        await expect(bob.get_by_role("link", name="Home")).to_have_count(0, timeout=TIMEOUT_MS)

        # Alice signs out: the start page offers the EVE login again. Signing in with her
        # first character brings that one back; her alt needs a login of its own.
        await alice.goto(mapper.http + "/")
        await alice.get_by_role("button", name="Sign out").click()
        eve.at_keyboard = ALICE.character_id
        await alice.get_by_role("button", name="Sign in with EVE Online").click()
        alt = mine.locator(f'[data-character="{ALICE_ALT.character_id}"]')
        await expect(alt.locator(".needs-login")).to_have_text("needs a new login")
        await expect(mine.locator(".needs-login")).to_have_count(1)
        eve.at_keyboard = ALICE_ALT.character_id
        await alice.get_by_role("button", name="Sign in again as Alice Alt").click()
        await expect(mine.locator("li.character")).to_have_count(2, timeout=TIMEOUT_MS)
        await expect(mine.locator(".needs-login")).to_have_count(0)
        await alice.get_by_role("button", name="Unlink Alice Alt").click()
        await expect(mine.locator("li.character")).to_have_count(1, timeout=TIMEOUT_MS)
        await expect(mine).to_contain_text("Alice Avari")
        assert alice_errors == [] and bob_errors == []

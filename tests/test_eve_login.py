"""The built-in EVE login (contract section 9) against a fake EVE SSO and a fake ESI on loopback,
with `mapper serve` in a process of its own: the whole flow over HTTP, the ways a login must
fail, linking, token custody, affiliation changes reaching open sockets, sharing by name, and
no token in the log."""

from __future__ import annotations

import asyncio
import html
import os
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.eve.custody import TokenCustody
from mapper.eve.sso import EveSso, SsoError
from mapper.eve.vault import Vault
from mapper.persistence.accounts import AccountStore
from mapper.persistence.database import create_engine
from mapper.persistence.migrations import upgrade_database
from mapper.persistence.models import EveUser
from tests.databases import database
from tests.fake_sso import CLIENT_ID, CLIENT_SECRET, SCOPES, Character, FakeSso, sso_env, started
from tests.server import MapperServer, free_port
from tests.wire import WireClient

ALICE = Character(91000001, "Alice Avari", corporation_id=98000001, alliance_id=99000001)
ALICE_ALT = Character(91000002, "Alice Alt", corporation_id=98000002)
BOB = Character(91000003, "Bob Brave", corporation_id=98000003, alliance_id=99000001)
SPY = Character(91000004, "Sam Spy", corporation_id=98000001, alliance_id=99000001)
BOUND_S = 20.0  # conditions the service meets on its own: well within this


@pytest.fixture
async def eve() -> AsyncIterator[FakeSso]:
    fake = await started(ALICE, ALICE_ALT, BOB, SPY)
    yield fake
    await fake.stop()


@pytest.fixture
def mapper(eve: FakeSso, database_url: str, tmp_path: Path) -> Iterator[MapperServer]:
    port = free_port()
    env = sso_env(eve, port, MAPPER_ADMINS=str(BOB.character_id))
    server = MapperServer(tmp_path / "data", database_url, env=env, port=port)
    yield server.start()
    server.stop()
    assert_no_secrets(server, eve)


@pytest.fixture
def sqlite_mapper(eve: FakeSso, tmp_path: Path) -> Iterator[MapperServer]:
    port = free_port()
    with database("sqlite", tmp_path) as url:
        server = MapperServer(tmp_path / "data", url, env=sso_env(eve, port), port=port)
        yield server.start()
        server.stop()
        assert_no_secrets(server, eve)


def assert_no_secrets(server: MapperServer, eve: FakeSso) -> None:
    """Nothing EVE handed out (codes, access and refresh tokens), nor the client secret, nor a
    token of ours, appears in the service's log."""
    log = server.log()
    assert "login" in log or log  # the log was written
    for secret in [*eve.secrets_seen, CLIENT_SECRET, *ISSUED]:
        assert secret not in log, "a secret reached the log"
    assert "eyJ" not in log


ISSUED: list[str] = []  # our tokens handed out by the tests of this module


def client(server: MapperServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=server.http, timeout=10)


async def sign_in(
    browser: httpx.AsyncClient, eve: FakeSso, character: Character, *, start: str | None = None
) -> str:
    """Go through the login in `browser` as `character`; our token from the final fragment."""
    eve.at_keyboard = character.character_id
    if start is None:
        response = await browser.get("/auth/eve/login")
        assert response.status_code == 302, response.text
        start = response.headers["location"]
    callback = await at_callback(browser, start)
    response = await browser.get(callback)
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith("/#token="), location
    assert "token" not in callback
    token = location.removeprefix("/#token=")
    ISSUED.append(token)
    return token


async def at_callback(browser: httpx.AsyncClient, authorize_url: str) -> str:
    """EVE's authorize page signs in and sends the browser back: the callback URL."""
    answer = await browser.get(authorize_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


def claims(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def until(predicate: Any, timeout: float = BOUND_S) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.1)


# The flow


async def test_sign_in_ends_on_the_page_with_a_token_naming_the_character(
    mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(mapper) as browser:
        response = await browser.get("/auth/eve/login")
        authorize = httpx.URL(response.headers["location"])
        assert str(authorize).startswith(eve.sso_url + "/v2/oauth/authorize")
        assert authorize.params["code_challenge_method"] == "S256"
        assert authorize.params["redirect_uri"] == f"{mapper.http}/auth/eve/callback"
        assert authorize.params["scope"].split() == SCOPES
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        token = await sign_in(browser, eve, ALICE, start=str(authorize))
        mine = claims(token)
        assert mine["name"] == ALICE.name
        assert mine["groups"] == ["corp:98000001", "alliance:99000001"]
        assert mine["roles"] == ["admin"]  # the first user of a fresh service
        me = await browser.get("/api/me/characters", headers=bearer(token))
        assert me.status_code == 200, me.text
        [character] = me.json()["items"]
        assert character["characterId"] == ALICE.character_id
        assert character["name"] == ALICE.name
        assert character["corporation"] == {"id": 98000001, "name": "Avari Holdings"}
        assert character["alliance"] == {"id": 99000001, "name": "Wormhole Society"}
        assert character["scopes"] == SCOPES
        assert character["needsLogin"] is False
        chains = await browser.get("/api/chains", headers=bearer(token))
        assert chains.status_code == 200
    async with client(mapper) as other_browser:
        spy = claims(await sign_in(other_browser, eve, SPY))
        assert "roles" not in spy  # not the first user, not in MAPPER_ADMINS
        assert spy["sub"] != mine["sub"]
        bob = claims(await sign_in(other_browser, eve, BOB))
        assert bob["roles"] == ["admin"]  # in MAPPER_ADMINS


async def test_on_a_service_used_before_the_first_to_sign_in_is_no_admin(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(sqlite_mapper) as browser:
        await create_chain(browser, sqlite_mapper.token("admin", admin=True), "From before")
        assert "roles" not in claims(await sign_in(browser, eve, ALICE))


async def test_of_first_sign_ins_at_once_one_becomes_admin(engine: AsyncEngine) -> None:
    """Characters signing in at the same moment on a fresh service (SQLite, and Postgres with
    its concurrent transactions): each finds no user yet, and exactly one is the admin."""
    store = AccountStore(engine)
    for round_ in range(5):
        async with engine.begin() as conn:
            await conn.execute(delete(EveUser))
        signed = await asyncio.gather(
            *(
                store.sign_in(
                    character_id=92000000 + 10 * round_ + n,
                    name=f"Pilot {n}",
                    scopes=SCOPES,
                    refresh_token=None,
                    link_user_id=None,
                    admin_characters=(),
                    now=0,
                )
                for n in range(4)
            )
        )
        assert [user.admin for user in signed].count(True) == 1, signed
        assert sum(record.admin for record in await store.accounts()) == 1


async def test_a_forged_or_foreign_state_is_refused(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    eve.at_keyboard = ALICE.character_id
    async with client(sqlite_mapper) as browser:
        forged = await browser.get("/auth/eve/callback", params={"state": "x" * 43, "code": "c"})
        assert forged.status_code == 400
        assert "unknown or was already used" in forged.text
        start = (await browser.get("/auth/eve/login")).headers["location"]
        callback = await at_callback(browser, start)
    # The victim's browser gets the attacker's callback link: it lacks the cookie.
    async with client(sqlite_mapper) as victim:
        planted = await victim.get(callback)
        assert planted.status_code == 400
        assert "another browser" in planted.text
    missing = await httpx.AsyncClient().get(f"{sqlite_mapper.http}/auth/eve/callback")
    assert missing.status_code == 400


async def test_pages_that_sign_nobody_in(sqlite_mapper: MapperServer) -> None:
    async with client(sqlite_mapper) as browser:
        link = await browser.get("/auth/eve/login", params={"link": "1"})
        assert link.status_code == 400 and "Link character button" in link.text
        assert "set-cookie" not in link.headers
        denied = await browser.get(
            "/auth/eve/callback", params={"error": "access_denied", "state": "s" * 43}
        )
        assert denied.status_code == 400 and "cancelled or refused" in denied.text
        assert denied.headers["cache-control"] == "no-store"


async def test_a_replayed_callback_is_refused(sqlite_mapper: MapperServer, eve: FakeSso) -> None:
    eve.at_keyboard = ALICE.character_id
    async with client(sqlite_mapper) as browser:
        start = (await browser.get("/auth/eve/login")).headers["location"]
        callback = await at_callback(browser, start)
        cookie = browser.cookies.get("mapper_eve_login")
        assert (await browser.get(callback)).status_code == 303
        browser.cookies.set("mapper_eve_login", cookie or "", path="/auth/eve/callback")
        again = await browser.get(callback)
        assert again.status_code == 400
        assert "already used" in again.text
        # The used code under a fresh login's own state: EVE refuses it (used, and its PKCE
        # challenge is another login's).
        code = httpx.URL(callback).params["code"]
        browser.cookies.clear()
        fresh = httpx.URL((await browser.get("/auth/eve/login")).headers["location"])
        stolen = await browser.get(
            "/auth/eve/callback", params={"code": code, "state": fresh.params["state"]}
        )
        assert stolen.status_code == 400
        assert "did not complete" in stolen.text


@pytest.mark.parametrize(
    ("misbehave", "reason"),
    [
        ({"audience": ["someone-else", "EVE Online"]}, "another application"),
        ({"audience": [CLIENT_ID]}, "another application"),
        ({"exp_offset_s": -1300.0}, "expired"),
        ({"issuer": "https://login.example.com"}, "another issuer"),
        ({"signing_kid": "rsa-old"}, "not one of the issuer's keys"),  # unknown or revoked
    ],
)
async def test_a_bad_eve_token_signs_nobody_in(
    sqlite_mapper: MapperServer, eve: FakeSso, misbehave: dict[str, Any], reason: str
) -> None:
    for name, value in misbehave.items():
        setattr(eve, name, value)
    eve.at_keyboard = ALICE.character_id
    async with client(sqlite_mapper) as browser:
        start = (await browser.get("/auth/eve/login")).headers["location"]
        answer = await browser.get(await at_callback(browser, start))
        assert answer.status_code == 400
        assert reason in html.unescape(answer.text)
        assert "token=" not in answer.headers.get("location", "")


async def test_eve_keys_are_cached_and_an_unknown_kid_is_not_fetched_again_within_a_minute(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(sqlite_mapper) as browser:
        eve.signing_kid = "ec-1"  # EVE's EC key works as well as its RSA key
        await sign_in(browser, eve, ALICE)
        await sign_in(browser, eve, BOB)
        assert eve.jwks_fetches == 1
        # A key EVE does not publish (never did, or revoked): no new fetch within a minute of
        # the last, however many tokens name it.
        eve.signing_kid = "rsa-old"
        for _ in range(3):
            eve.at_keyboard = SPY.character_id
            start = (await browser.get("/auth/eve/login")).headers["location"]
            answer = await browser.get(await at_callback(browser, start))
            assert answer.status_code == 400
        assert eve.jwks_fetches == 1


async def test_a_new_eve_key_is_fetched_and_a_withdrawn_one_refused(eve: FakeSso) -> None:
    """EveSso on its own, with a refetch interval short enough to watch (a minute in service)."""
    sso = EveSso(eve.sso_url, CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1/cb", jwks_refresh_s=0.2)
    try:
        character_id, name, scopes, _ = await sso.verify(eve.access_token(ALICE.character_id))
        assert (character_id, name, list(scopes)) == (ALICE.character_id, ALICE.name, SCOPES)
        eve.published = {"rsa-new"}  # EVE rotated its keys: rsa-1 withdrawn
        eve.signing_kid = "rsa-new"
        deadline = time.monotonic() + BOUND_S
        while True:  # refused until the refetch interval has passed, then accepted
            try:
                await sso.verify(eve.access_token(ALICE.character_id))
                break
            except SsoError:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
        fetches = eve.jwks_fetches
        assert fetches <= 3  # not one per attempt
        eve.signing_kid = "rsa-1"
        with pytest.raises(SsoError, match="not one of the issuer's keys"):
            await sso.verify(eve.access_token(ALICE.character_id))
    finally:
        await sso.aclose()


# Characters


async def test_a_user_links_a_second_character_with_the_token_in_a_header(
    mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(mapper) as browser:
        owner = await sign_in(browser, eve, BOB)  # the first user: a service admin
        first = await sign_in(browser, eve, ALICE)
        refused = await browser.post("/auth/eve/login", params={"link": "1"})
        assert refused.status_code == 401
        asked = await browser.post("/auth/eve/login", params={"link": "1"}, headers=bearer(first))
        assert asked.status_code == 200, asked.text
        linked = await sign_in(browser, eve, ALICE_ALT, start=asked.json()["url"])
        assert claims(linked)["sub"] == claims(first)["sub"]
        assert claims(linked)["name"] == ALICE.name  # the user's first character
        assert set(claims(linked)["groups"]) == {
            "corp:98000001",
            "alliance:99000001",
            "corp:98000002",
        }
        listed = (await browser.get("/api/me/characters", headers=bearer(first))).json()
        assert [c["characterId"] for c in listed["items"]] == [
            ALICE.character_id,
            ALICE_ALT.character_id,
        ]
        # The older token now reaches what the new character's corporation may reach too.
        chain = await create_chain(browser, owner, "Alt corp chain")
        await grant(browser, owner, chain, "corp:98000002", "viewer")
        assert (await browser.get(f"/api/chains/{chain}", headers=bearer(first))).status_code == 200
        gone = await browser.delete(
            f"/api/me/characters/{ALICE_ALT.character_id}", headers=bearer(first)
        )
        assert gone.status_code == 204
        assert eve.revoked  # its refresh token was revoked at EVE
        assert (await browser.get(f"/api/chains/{chain}", headers=bearer(first))).status_code == 404
        again = await browser.delete(
            f"/api/me/characters/{ALICE_ALT.character_id}", headers=bearer(first)
        )
        assert again.status_code == 404


async def test_a_character_linked_by_another_user_moves_to_them(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(sqlite_mapper) as browser:
        owner = await sign_in(browser, eve, ALICE)
        before = await sign_in(browser, eve, SPY)  # the character's old user
        chain = await create_chain(browser, owner, "By character")
        await grant(browser, owner, chain, f"character:{SPY.character_id}", "viewer")
        assert await chain_status(browser, before, chain) == 200
        bob = await sign_in(browser, eve, BOB)
        asked = await browser.post("/auth/eve/login", params={"link": "1"}, headers=bearer(bob))
        await sign_in(browser, eve, SPY, start=asked.json()["url"])
        assert await chain_status(browser, before, chain) == 404
        assert await chain_status(browser, bob, chain) == 200
        left = await browser.get("/api/me/characters", headers=bearer(before))
        assert left.json()["items"] == []


async def test_signing_out_withdraws_the_token_and_forgets_eve_tokens(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(sqlite_mapper) as browser:
        token = await sign_in(browser, eve, ALICE)
        chain = await create_chain(browser, token, "Mine")
        socket = await WireClient.connect(sqlite_mapper.ws, f"/ws/chains/{chain}", token)
        await asyncio.wait_for(socket.synced.wait(), 5)
        await asyncio.sleep(1.1)  # a token's iat counts in whole seconds
        assert (await browser.post("/auth/eve/logout", headers=bearer(token))).status_code == 204
        assert await socket.wait_closed(BOUND_S) == 4401
        refused = await browser.get("/api/chains", headers=bearer(token))
        assert refused.status_code == 401
        assert "signed out" in refused.text
        assert eve.revoked and not eve.refresh_tokens
        fresh = await sign_in(browser, eve, ALICE)
        assert (await browser.get("/api/chains", headers=bearer(fresh))).status_code == 200


# Token custody and the built-in token provider


async def present(server: MapperServer, token: str) -> WireClient:
    """The user's own live status open in a visible tab: the user is present."""
    socket = await WireClient.connect(server.ws, "/ws/users/me", token)
    await asyncio.wait_for(socket.synced.wait(), 5)
    await socket.set_awareness(1, 1, {"visible": True})
    return socket


async def test_the_sync_engine_gets_tokens_from_the_login_and_refreshes_them(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    eve.access_ttl_s = 30  # under the refresh margin: every use refreshes first
    async with client(sqlite_mapper) as browser:
        token = await sign_in(browser, eve, ALICE)
    socket = await present(sqlite_mapper, token)
    try:

        async def read_with_a_good_token() -> bool:
            return ("online", ALICE.character_id) in eve.esi_calls and any(
                outcome == "ok" for _, outcome in eve.refreshes
            )

        await until(read_with_a_good_token)
        await socket.wait(lambda: str(ALICE.character_id) in socket.map("characters"), BOUND_S)
        # Each refresh used the token the one before it returned: EVE rotates them.
        assert all(outcome == "ok" for _, outcome in eve.refreshes)
        assert len(eve.refresh_tokens) == 1
    finally:
        await socket.close()


async def test_invalid_grant_marks_the_character_as_needing_a_login_and_is_not_retried(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    eve.access_ttl_s = 30
    async with client(sqlite_mapper) as browser:
        token = await sign_in(browser, eve, ALICE)
        eve.revoke_all(ALICE.character_id)
        socket = await present(sqlite_mapper, token)
        try:

            async def needs_login() -> bool:
                listed = await browser.get("/api/me/characters", headers=bearer(token))
                return bool(listed.json()["items"][0]["needsLogin"])

            await until(needs_login)
            tries = len(eve.refreshes)
            assert tries == 1 and eve.refreshes[0][1] == "invalid_grant"
            await asyncio.sleep(2.5)  # several sync and affiliation passes
            assert len(eve.refreshes) == tries
            # A new login brings the character back.
            await sign_in(browser, eve, ALICE)
            listed = await browser.get("/api/me/characters", headers=bearer(token))
            assert listed.json()["items"][0]["needsLogin"] is False
        finally:
            await socket.close()


# Groups


async def test_a_corporation_change_closes_the_open_socket_that_lost_its_chain(
    mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(mapper) as browser:
        owner = await sign_in(browser, eve, BOB)
        spy = await sign_in(browser, eve, SPY)
        chain = await create_chain(browser, owner, "Corp chain")
        await grant(browser, owner, chain, "corp:98000001", "editor")
        socket = await WireClient.connect(mapper.ws, f"/ws/chains/{chain}", spy)
        await asyncio.wait_for(socket.synced.wait(), 5)
        kicked = time.monotonic()
        SPY_KICKED = Character(SPY.character_id, SPY.name, corporation_id=1000166)
        eve.characters[SPY.character_id] = SPY_KICKED
        assert await socket.wait_closed(BOUND_S) == 4403
        assert time.monotonic() - kicked < 60
        # The token the spy still holds no longer opens the chain.
        assert (await browser.get(f"/api/chains/{chain}", headers=bearer(spy))).status_code == 404


async def test_an_unlink_in_one_process_closes_a_socket_in_another(
    eve: FakeSso, sqlite_url: str, tmp_path: Path
) -> None:
    """Two processes on one database (and one data folder's keys), no Redis: each reads the
    users again on every pass, so a change made through one reaches the other's sockets."""
    port_a, port_b = free_port(), free_port()
    first = MapperServer(tmp_path / "data", sqlite_url, env=sso_env(eve, port_a), port=port_a)
    second = MapperServer(tmp_path / "data", sqlite_url, env=sso_env(eve, port_b), port=port_b)
    first.start()
    second.start()
    try:
        async with client(first) as browser:
            owner = await sign_in(browser, eve, BOB)
            alice = await sign_in(browser, eve, ALICE)
            asked = await browser.post(
                "/auth/eve/login", params={"link": "1"}, headers=bearer(alice)
            )
            await sign_in(browser, eve, ALICE_ALT, start=asked.json()["url"])
            chain = await create_chain(browser, owner, "Alt's")
            await grant(browser, owner, chain, f"character:{ALICE_ALT.character_id}", "viewer")
            socket = await WireClient.connect(second.ws, f"/ws/chains/{chain}", alice)
            await asyncio.wait_for(socket.synced.wait(), 5)
            gone = await browser.delete(
                f"/api/me/characters/{ALICE_ALT.character_id}", headers=bearer(alice)
            )
            assert gone.status_code == 204
            assert await socket.wait_closed(BOUND_S) == 4403
    finally:
        first.stop()
        second.stop()
    assert_no_secrets(first, eve)
    assert_no_secrets(second, eve)


# Sharing


async def test_an_owner_shares_by_name_with_a_character_and_sees_names(
    mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(mapper) as browser:
        owner = await sign_in(browser, eve, BOB)
        alice = await sign_in(browser, eve, ALICE)
        chain = await create_chain(browser, owner, "Shared")
        short = await browser.get("/api/eve/search", params={"q": "Al"}, headers=bearer(owner))
        assert short.status_code == 400
        found = await browser.get(
            "/api/eve/search", params={"q": "alice avari"}, headers=bearer(owner)
        )
        assert found.status_code == 200, found.text
        assert found.json()["items"][0] == {
            "member": f"character:{ALICE.character_id}",
            "kind": "character",
            "id": ALICE.character_id,
            "name": ALICE.name,
        }
        # Part of a name finds what the service knows: here its users' alliance.
        part = await browser.get("/api/eve/search", params={"q": "hole so"}, headers=bearer(owner))
        assert [item["member"] for item in part.json()["items"]] == ["alliance:99000001"]
        # Faster than anyone types: refused for a while.
        statuses = [
            (
                await browser.get(
                    "/api/eve/search", params={"q": f"x{n:03}"}, headers=bearer(alice)
                )
            ).status_code
            for n in range(20)
        ]
        assert statuses[:10] == [200] * 10 and 429 in statuses
        assert (await browser.get(f"/api/chains/{chain}", headers=bearer(alice))).status_code == 404
        await grant(browser, owner, chain, f"character:{ALICE.character_id}", "editor")
        await grant(browser, owner, chain, "alliance:99000001", "viewer")
        seen = await browser.get(f"/api/chains/{chain}", headers=bearer(alice))
        assert seen.json()["role"] == "editor"
        members = (await browser.get(f"/api/chains/{chain}/members", headers=bearer(owner))).json()
        named = {item["member"]: item["name"] for item in members["items"]}
        assert named[f"character:{ALICE.character_id}"] == ALICE.name
        assert named["alliance:99000001"] == "Wormhole Society"
        assert named[f"user:{claims(owner)['sub']}"] == BOB.name
        renamed = await browser.patch(
            f"/api/chains/{chain}", json={"name": "Renamed"}, headers=bearer(owner)
        )
        assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
        refused = await browser.patch(
            f"/api/chains/{chain}", json={"name": "Mine"}, headers=bearer(alice)
        )
        assert refused.status_code == 403


async def create_chain(browser: httpx.AsyncClient, token: str, name: str) -> str:
    response = await browser.post("/api/chains", json={"name": name}, headers=bearer(token))
    assert response.status_code == 201, response.text
    chain_id: str = response.json()["id"]
    return chain_id


async def chain_status(browser: httpx.AsyncClient, token: str, chain: str) -> int:
    return (await browser.get(f"/api/chains/{chain}", headers=bearer(token))).status_code


async def grant(browser: httpx.AsyncClient, token: str, chain: str, member: str, role: str) -> None:
    response = await browser.put(
        f"/api/chains/{chain}/members/{member}", json={"role": role}, headers=bearer(token)
    )
    assert response.status_code == 200, response.text


# Logs


async def test_no_token_code_or_secret_reaches_the_log(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    """Every path a secret takes: login, a failed callback (its code in the URL), a link, a
    socket with its token in the query string, refreshes (EVE rotating refresh tokens), one
    refused (`invalid_grant`), sign-out."""
    eve.access_ttl_s = 30
    async with client(sqlite_mapper) as browser:
        token = await sign_in(browser, eve, ALICE)
        eve.at_keyboard = ALICE.character_id
        await browser.get("/auth/eve/callback", params={"code": "c0de-" * 8, "state": "s" * 43})
        asked = await browser.post("/auth/eve/login", params={"link": "1"}, headers=bearer(token))
        await sign_in(browser, eve, ALICE_ALT, start=asked.json()["url"])
        eve.revoke_all(ALICE_ALT.character_id)
        socket = await present(sqlite_mapper, token)
        try:

            async def refreshed_both() -> bool:
                outcomes = {outcome for _, outcome in eve.refreshes}
                return outcomes == {"ok", "invalid_grant"}

            await until(refreshed_both)
        finally:
            await socket.close()
        await asyncio.sleep(1.1)  # a token's iat counts in whole seconds
        assert (await browser.post("/auth/eve/logout", headers=bearer(token))).status_code == 204
    sqlite_mapper.stop()  # every line written
    log = sqlite_mapper.log()
    assert "needs a new login" in log
    for secret in [*eve.secrets_seen, "c0de-" * 8, CLIENT_SECRET, token]:
        assert secret not in log, "a secret reached the log"


# Settings and storage


async def test_without_eve_settings_the_login_is_off(sqlite_server: MapperServer) -> None:
    async with client(sqlite_server) as browser:
        assert (await browser.get("/auth/eve")).json() == {"enabled": False, "loginUrl": None}
        answer = await browser.get("/auth/eve/login")
        assert answer.status_code == 404
        assert "not set up" in answer.json()["error"]["message"]
        admin = sqlite_server.token("admin", admin=True)
        assert (await browser.get("/api/chains", headers=bearer(admin))).status_code == 200


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"MAPPER_EVE_CLIENT_ID": "x"}, "MAPPER_EVE_CLIENT_SECRET and MAPPER_PUBLIC_URL"),
        (
            {"MAPPER_EVE_CLIENT_ID": "x", "MAPPER_EVE_CLIENT_SECRET": "y"},
            "needs MAPPER_PUBLIC_URL",
        ),
        (
            {
                "MAPPER_EVE_CLIENT_ID": "x",
                "MAPPER_EVE_CLIENT_SECRET": "y",
                "MAPPER_PUBLIC_URL": "https://map.example.org",
                "MAPPER_ADMINS": "123,Bob",
            },
            "MAPPER_ADMINS must be EVE character ids",
        ),
        (
            {
                "MAPPER_EVE_CLIENT_ID": "x",
                "MAPPER_EVE_CLIENT_SECRET": "y",
                "MAPPER_PUBLIC_URL": "https://map.example.org",
                "MAPPER_SECRET_KEY": "short",
            },
            "MAPPER_SECRET_KEY must be at least 32 characters",
        ),
    ],
)
def test_a_half_set_up_login_stops_the_service_at_start(
    tmp_path: Path, env: dict[str, str], said: str
) -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "mapper", "serve", "--port", str(free_port())],
        env={**os.environ, "MAPPER_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode != 0
    assert said in finished.stderr
    assert "Traceback" not in finished.stderr


async def test_refresh_tokens_are_encrypted_at_rest_with_a_key_of_mode_0600(
    sqlite_mapper: MapperServer, eve: FakeSso
) -> None:
    async with client(sqlite_mapper) as browser:
        await sign_in(browser, eve, ALICE)
    key = sqlite_mapper.data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    [refresh_token] = eve.refresh_tokens
    stored = b"".join(path.read_bytes() for path in (sqlite_mapper.data_dir.parent).glob("*.db*"))
    assert stored  # the database is where the test looked
    assert refresh_token.encode() not in stored
    assert not any(token.encode() in stored for token in eve.access_tokens)


def test_the_vault_key_comes_from_the_setting_or_a_file_made_once(tmp_path: Path) -> None:
    made = Vault.open("", tmp_path)
    sealed = made.seal("refresh-token")
    assert b"refresh-token" not in sealed
    assert Vault.open("", tmp_path).open_sealed(sealed) == "refresh-token"  # the same file
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    configured = Vault.open("k" * 32, tmp_path / "elsewhere")
    assert not (tmp_path / "elsewhere").exists()
    assert configured.open_sealed(sealed) is None  # another key: the token is unreadable
    assert Vault.open("k" * 32, tmp_path).open_sealed(configured.seal("x")) == "x"


@pytest.fixture
async def custody_parts(
    eve: FakeSso, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[tuple[AccountStore, EveSso, Vault]]:
    """A store holding Alice's first refresh token, EVE's SSO, and the key: what each
    process's custody is made of."""
    await upgrade_database(sqlite_url)
    engine = create_engine(sqlite_url)
    sso = EveSso(eve.sso_url, CLIENT_ID, CLIENT_SECRET, "http://127.0.0.1/cb")
    store, vault = AccountStore(engine), Vault.open("", tmp_path)
    eve.refresh_tokens["first-refresh-token"] = ALICE.character_id
    await store.sign_in(
        character_id=ALICE.character_id,
        name=ALICE.name,
        scopes=SCOPES,
        refresh_token=vault.seal("first-refresh-token"),
        link_user_id=None,
        admin_characters=(),
        now=0,
    )
    yield store, sso, vault
    await sso.aclose()
    await engine.dispose()


async def test_two_processes_refreshing_at_once_keep_the_character(
    eve: FakeSso, custody_parts: tuple[AccountStore, EveSso, Vault]
) -> None:
    """The second process's refresh meets a token the first used up a moment ago: it takes
    the token the first stored, and the character does not need a new login."""
    store, sso, vault = custody_parts
    first, second = TokenCustody(store, sso, vault), TokenCustody(store, sso, vault)
    eve.refresh_delay_s = 0.3
    tokens = await asyncio.gather(
        first.access_token(ALICE.character_id), second.access_token(ALICE.character_id)
    )
    assert all(token in eve.access_tokens for token in tokens)
    assert [outcome for _, outcome in eve.refreshes] == ["ok", "invalid_grant", "ok"]
    [character] = await store.characters(next(iter(await store.accounts())).user_id)
    assert character.needs_login is False


async def test_one_refresh_at_a_time_per_character_and_the_new_refresh_token_kept(
    eve: FakeSso, custody_parts: tuple[AccountStore, EveSso, Vault]
) -> None:
    store, sso, vault = custody_parts
    custody = TokenCustody(store, sso, vault)
    tokens = await asyncio.gather(*(custody.access_token(ALICE.character_id) for _ in range(10)))
    assert len(set(tokens)) == 1 and tokens[0] in eve.access_tokens
    assert eve.refreshes == [(ALICE.character_id, "ok")]
    [rotated] = eve.refresh_tokens  # EVE replaced the first one
    sealed = await store.refresh_token(ALICE.character_id)
    assert sealed is not None and vault.open_sealed(sealed) == rotated

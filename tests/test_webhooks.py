"""A chain's webhook (issue 16, item 8): stock Yjs clients edit a live `mapper serve`, and a fake
Discord/Slack receiver on loopback records what the service posts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from mapper.chains.errors import Unusable
from mapper.chains.notifier import is_critical, system_class, system_text
from mapper.chains.webhooks import masked, platform_of
from mapper.universe.index import make_index
from mapper.universe.packed import load_builtin
from tests.browser import TIMEOUT_MS, chromium, open_map
from tests.chains import auth, create_chain, grant
from tests.live_server import serve_in_loop, until
from tests.server import MapperServer, free_port, node, running
from tests.yclient import YClient

pytestmark = pytest.mark.usefixtures("node_modules")

HOME = 31000355  # J164417, a C2
C5 = [31001880 + n for n in range(12)]  # J152820 and the next: C5 systems
THERA = 31000005
SECRET = "s3cr3t-Webhook-Token-0123456789"
B274_MAX_MASS = 2_000_000_000


@dataclass
class Receiver:
    """What a webhook platform received: (path, JSON body), in order."""

    port: int = field(default_factory=free_port)
    posts: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def discord(self, hook: str) -> str:
        return f"{self.base}api/webhooks/{hook}/{SECRET}"

    def slack(self, hook: str) -> str:
        return f"{self.base}services/T000/{hook}/{SECRET}"

    def to(self, hook: str) -> list[Any]:
        return [body for path, body in self.posts if f"/{hook}/" in path]

    async def receive(self, request: Request) -> Response:
        self.posts.append((request.url.path, await request.json()))
        if "redirect" in request.url.path:
            return RedirectResponse(f"{self.base}api/webhooks/landed/{SECRET}", status_code=307)
        return Response(status_code=204)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/webhooks/{hook}/{secret}", self.receive, methods=["POST"]),
                Route("/services/{team}/{hook}/{secret}", self.receive, methods=["POST"]),
            ]
        )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server, task = await serve_in_loop(found.app(), found.port)
    yield found
    server.should_exit = True
    await task


@pytest.fixture
def notifying(receiver: Receiver, sqlite_url: str, tmp_path: Path) -> MapperServer:
    server = MapperServer(
        tmp_path / "data",
        sqlite_url,
        env={
            "MAPPER_WEBHOOK_ALLOW_BASE_URL": receiver.base,
            "MAPPER_WEBHOOK_DELAY_S": "1",
            "MAPPER_WEBHOOK_INTERVAL_S": "2",
            "MAPPER_LOG_LEVEL": "debug",
        },
    ).start()
    yield server
    server.stop()


async def put_webhook(server: MapperServer, token: str, chain: str, body: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.put(
            f"{server.http}/api/chains/{chain}/webhook", json=body, headers=auth(token)
        )


def system(system_id: int, status: str = "unknown") -> dict[str, Any]:
    return {"id": system_id, "x": 0, "y": 0, "status": status}


def connection(a: int, b: int, **fields: Any) -> dict[str, Any]:
    a, b = min(a, b), max(a, b)
    return {"a": a, "b": b, "kind": "wormhole", "mass": "fresh", "eol": False, **fields}


def key(a: int, b: int) -> str:
    return f"{min(a, b)}-{max(a, b)}"


async def next_post(receiver: Receiver, hook: str, count: int, timeout: float = 15.0) -> Any:
    """The `count`th post to `hook`, once it has come."""
    await until(lambda: len(receiver.to(hook)) >= count, timeout)
    return receiver.to(hook)[count - 1]


async def test_notices_reach_discord_once_each_and_coalesced(
    notifying: MapperServer, receiver: Receiver
) -> None:
    server = notifying
    owner = server.token("owner")
    chain = create_chain(server, owner, "Scouts")
    answer = await put_webhook(
        server, owner, chain, {"url": receiver.discord("1"), "classes": [5, 12]}
    )
    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert SECRET not in answer.text and shown["url"].endswith("/api/webhooks/1/****")
    assert shown["classes"] == [5, 12] and shown["events"] == ["connection", "hostile", "critical"]

    async with YClient.start(f"{server.ws}/ws/chains", chain, owner) as scout:
        await scout.wait_synced()
        # A connection to a C5 notifies, once.
        await scout.set_map("systems", str(HOME), system(HOME))
        await scout.set_map("systems", str(C5[0]), system(C5[0]))
        await scout.set_map("connections", key(HOME, C5[0]), connection(HOME, C5[0]))
        first = await next_post(receiver, "1", 1)
        assert first["allowed_mentions"] == {"parse": []}
        lines = first["content"].splitlines()
        assert lines == ["Chain Scouts:", "New connection: J164417 (C2) - J152820 (C5)"]

        # Edits of nothing relevant (a drag, end of life, the same status) send nothing: the
        # next message holds the hostile status alone.
        await scout.set(["systems", str(C5[0]), "x"], 120)
        await scout.set(["connections", key(HOME, C5[0]), "eol"], True)
        await scout.set(["systems", str(HOME), "status"], "unknown")
        await scout.set(["systems", str(C5[0]), "status"], "hostile")
        second = await next_post(receiver, "1", 2)
        assert second["content"].splitlines()[1:] == ["Hostile: J152820 (C5)"]

        # Set critical by hand.
        await scout.set(["connections", key(HOME, C5[0]), "mass"], "critical")
        third = await next_post(receiver, "1", 3)
        assert third["content"].splitlines()[1:] == ["Critical mass: J164417 (C2) - J152820 (C5)"]

        # A B274 (2,000,000 t) whose jumps pass nine tenths of its mass: critical.
        await scout.set_map("systems", str(THERA), system(THERA))
        await scout.set_map(
            "connections", key(HOME, THERA), connection(HOME, THERA, whType="B274", whSide="a")
        )
        fourth = await next_post(receiver, "1", 4)
        assert fourth["content"].splitlines()[1:] == [
            "New connection: Thera (Thera) - J164417 (C2)"
        ]
        jump = {"at": 1, "characterId": 90000001, "shipTypeId": 24690, "mass": 0.5 * B274_MAX_MASS}
        await scout.push(["connections", key(HOME, THERA), "jumps"], [jump])
        await scout.push(
            ["connections", key(HOME, THERA), "jumps"], [{**jump, "mass": 0.45 * B274_MAX_MASS}]
        )
        fifth = await next_post(receiver, "1", 5)
        assert fifth["content"].splitlines()[1:] == [
            "Critical mass: Thera (Thera) - J164417 (C2) (B274)"
        ]

        # Ten quick edits: one message.
        for other in C5[1:11]:
            await scout.set_map("systems", str(other), system(other))
            await scout.set_map("connections", key(HOME, other), connection(HOME, other))
        sixth = await next_post(receiver, "1", 6)
        assert len(sixth["content"].splitlines()) == 11
        # Nothing else follows: a sentinel edit's message comes next.
        await scout.set(["systems", str(HOME), "status"], "hostile")
        seventh = await next_post(receiver, "1", 7)
        assert seventh["content"].splitlines()[1:] == ["Hostile: J164417 (C2)"]
        assert len(receiver.to("1")) == 7

    assert SECRET not in server.log()
    assert "/api/webhooks/1/" in server.log()  # httpx logged the call, redacted


async def test_slack_form_no_redirect_and_cleared(
    notifying: MapperServer, receiver: Receiver
) -> None:
    server = notifying
    owner = server.token("owner")
    slack_chain = create_chain(server, owner, "<!channel> & co")
    moved_chain = create_chain(server, owner, "Moved")
    answer = await put_webhook(
        server, owner, slack_chain, {"url": receiver.slack("B1"), "events": ["hostile"]}
    )
    assert answer.status_code == 200, answer.text
    answer = await put_webhook(
        server, owner, moved_chain, {"url": receiver.discord("redirect"), "events": ["hostile"]}
    )
    assert answer.status_code == 200, answer.text
    async with (
        YClient.start(f"{server.ws}/ws/chains", slack_chain, owner) as slack_scout,
        YClient.start(f"{server.ws}/ws/chains", moved_chain, owner) as moved_scout,
    ):
        await slack_scout.wait_synced()
        await moved_scout.wait_synced()
        await moved_scout.set_map("systems", str(HOME), system(HOME, "hostile"))
        await slack_scout.set_map("systems", str(HOME), system(HOME, "hostile"))
        posted = await next_post(receiver, "B1", 1)
        assert posted == {"text": "Chain &lt;!channel&gt; &amp; co:\nHostile: J164417 (C2)"}
        await next_post(receiver, "redirect", 1)

        # Cleared: nothing more is sent. A second chain's message is the sentinel.
        async with httpx.AsyncClient() as http:
            cleared = await http.delete(
                f"{server.http}/api/chains/{slack_chain}/webhook", headers=auth(owner)
            )
            assert cleared.status_code == 204
            shown = await http.get(
                f"{server.http}/api/chains/{slack_chain}/webhook", headers=auth(owner)
            )
            assert shown.json()["url"] is None
        await slack_scout.set_map("systems", str(THERA), system(THERA, "hostile"))
        await moved_scout.set_map("systems", str(THERA), system(THERA, "hostile"))
        await next_post(receiver, "redirect", 2)
    assert len(receiver.to("B1")) == 1
    assert receiver.to("landed") == []  # the redirect was not followed


async def test_only_the_owner_sets_it_and_bad_urls_are_refused(
    notifying: MapperServer, receiver: Receiver
) -> None:
    server = notifying
    owner, editor, stranger = (server.token(user) for user in ("owner", "editor", "stranger"))
    chain = create_chain(server, owner)
    grant(server, owner, chain, "user:editor", "editor")
    good = {"url": "https://discord.com/api/webhooks/123/abc-DEF_456", "classes": [6]}
    assert (await put_webhook(server, editor, chain, good)).status_code == 403
    assert (await put_webhook(server, stranger, chain, good)).status_code == 404
    async with httpx.AsyncClient() as http:
        url = f"{server.http}/api/chains/{chain}/webhook"
        assert (await http.get(url, headers=auth(editor))).status_code == 403
        assert (await http.delete(url, headers=auth(stranger))).status_code == 404
    for bad in (
        "http://discord.com/api/webhooks/123/abc",
        "https://discord.com.evil.example/api/webhooks/123/abc",
        "https://evil.example/api/webhooks/123/abc",
        "https://discord.com/api/other/123/abc",
        "https://discord.com/api/webhooks/123",
        "https://user@discord.com/api/webhooks/123/abc",
        "https://discord.com:8443/api/webhooks/123/abc",
        "https://hooks.slack.com/workflows/T/B/abc",
        "http://127.0.0.1:1/api/webhooks/1/x",  # loopback, but not the allowed fake
        "",
        42,
    ):
        answer = await put_webhook(server, owner, chain, {**good, "url": bad})
        assert answer.status_code == 400, (bad, answer.text)
        assert "Discord webhook" in answer.json()["error"]["message"]
    bad_classes = await put_webhook(server, owner, chain, {**good, "classes": [10]})
    assert bad_classes.status_code == 422
    bad_events = await put_webhook(server, owner, chain, {**good, "events": ["kills"]})
    assert bad_events.status_code == 422
    answer = await put_webhook(server, owner, chain, good)
    assert answer.status_code == 200
    assert answer.json()["url"] == "https://discord.com/api/webhooks/123/****"
    slack = "https://hooks.slack.com/services/T000/B000/XXXXXXXX"
    answer = await put_webhook(server, owner, chain, {"url": slack})
    assert answer.json()["url"] == "https://hooks.slack.com/services/T000/B000/****"
    assert "abc-DEF_456" not in server.log() and "XXXXXXXX" not in server.log()


def test_url_rules() -> None:
    assert platform_of("https://discordapp.com/api/webhooks/1/x")[1] == "discord"
    assert platform_of("https://hooks.slack.com/services/T/B/x")[1] == "slack"
    base = "http://127.0.0.1:9000/"
    assert platform_of("http://127.0.0.1:9000/services/T/B/x", base)[1] == "slack"
    for bad in ("http://127.0.0.1:9000@evil.example/", "http://127.0.0.10:9000/api/webhooks/1/x"):
        with pytest.raises(Unusable):
            platform_of(bad, base)
    assert masked("https://discord.com/api/webhooks/1/secret?wait=true") == (
        "https://discord.com/api/webhooks/1/****"
    )


async def test_no_webhook_no_watch(notifying: MapperServer, receiver: Receiver) -> None:
    """A chain without a webhook sends nothing (another chain's message is the sentinel)."""
    server = notifying
    owner = server.token("owner")
    quiet, loud = create_chain(server, owner), create_chain(server, owner)
    answer = await put_webhook(server, owner, loud, {"url": receiver.discord("2"), "classes": [5]})
    assert answer.status_code == 200
    async with (
        YClient.start(f"{server.ws}/ws/chains", quiet, owner) as a,
        YClient.start(f"{server.ws}/ws/chains", loud, owner) as b,
    ):
        await asyncio.gather(a.wait_synced(), b.wait_synced())
        await a.set_map("systems", str(C5[0]), system(C5[0], "hostile"))
        await b.set_map("systems", str(C5[0]), system(C5[0], "hostile"))
        await next_post(receiver, "2", 1)
    assert len(receiver.posts) == 1


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_processes_tell_each_change_once(
    receiver: Receiver, tmp_path: Path, database_url: str, redis_url: str
) -> None:
    """A webhook set through one process reaches the other over the fan-out; a change is told by
    the process it arrived at, not by every process that applied it."""
    env = {
        "MAPPER_WEBHOOK_ALLOW_BASE_URL": receiver.base,
        "MAPPER_WEBHOOK_DELAY_S": "1",
        "MAPPER_WEBHOOK_INTERVAL_S": "2",
        "MAPPER_LOG_LEVEL": "debug",
    }
    a = node(tmp_path / "data", database_url, redis_url, **env)
    b = node(tmp_path / "data", database_url, redis_url, **env)
    with running(a, b):
        owner = a.token("owner")
        chain = create_chain(a, owner)
        async with (
            YClient.start(f"{a.ws}/ws/chains", chain, owner) as on_a,
            YClient.start(f"{b.ws}/ws/chains", chain, owner) as on_b,
        ):
            await asyncio.gather(on_a.wait_synced(), on_b.wait_synced())
            answer = await put_webhook(a, owner, chain, {"url": receiver.discord("3")})
            assert answer.status_code == 200
            # B hears of the webhook over Redis; its edit is told once, by B.
            await until(lambda: f"chain {chain}: watched" in b.log(), 10)
            await on_b.set_map("systems", str(HOME), system(HOME, "hostile"))
            first = await next_post(receiver, "3", 1)
            assert first["content"].splitlines()[1:] == ["Hostile: J164417 (C2)"]
            await on_a.set_map("systems", str(THERA), system(THERA, "hostile"))
            second = await next_post(receiver, "3", 2)
            assert second["content"].splitlines()[1:] == ["Hostile: Thera (Thera)"]
            assert len(receiver.to("3")) == 2


async def test_the_owner_sets_notifications_in_the_share_dialog(
    notifying: MapperServer, receiver: Receiver
) -> None:
    server = notifying
    owner = server.token("owner")
    chain = create_chain(server, owner, "Home chain")
    async with chromium() as browser:
        page = await open_map(await browser.new_context(), server, chain, owner)
        await page.get_by_role("button", name="Share Home chain").click()
        dialog = page.get_by_role("dialog")
        await expect(dialog.get_by_text("No notifications.")).to_be_visible(timeout=TIMEOUT_MS)
        await dialog.get_by_label("Webhook URL").fill(receiver.discord("web"))
        await dialog.get_by_label("C5").check()
        await dialog.get_by_label("System set hostile").uncheck()
        await dialog.get_by_role("button", name="Save notifications").click()
        shown = f"Posting to {receiver.base}api/webhooks/web/****"
        await expect(dialog.get_by_text(shown)).to_be_visible(timeout=TIMEOUT_MS)
        async with YClient.start(f"{server.ws}/ws/chains", chain, owner) as scout:
            await scout.wait_synced()
            await scout.set_map("systems", str(HOME), system(HOME, "hostile"))
            await scout.set_map("systems", str(C5[0]), system(C5[0]))
            await scout.set_map("connections", key(HOME, C5[0]), connection(HOME, C5[0]))
            posted = await next_post(receiver, "web", 1)
        assert posted["content"].splitlines()[1:] == ["New connection: J164417 (C2) - J152820 (C5)"]

        await dialog.get_by_label("Webhook URL").fill("https://example.com/hook")
        await dialog.get_by_role("button", name="Save notifications").click()
        await expect(dialog.get_by_role("alert")).to_contain_text("Discord webhook")
        await dialog.get_by_role("button", name="Stop notifications").click()
        await expect(dialog.get_by_text("No notifications.")).to_be_visible(timeout=TIMEOUT_MS)
    async with httpx.AsyncClient() as http:
        answer = await http.get(f"{server.http}/api/chains/{chain}/webhook", headers=auth(owner))
    assert answer.json()["url"] is None


def test_classes_and_critical_mass_from_static_data() -> None:
    packed = load_builtin()
    index = make_index(packed.universe, packed.statics, version=0, build=None)
    names = [system_text(index, system_id) for system_id in (30000142, 30002813, 30004759)]
    assert names == ["Jita (high-sec)", "Tama (low-sec)", "1DQ1-A (null-sec)"]
    assert [system_class(index, system_id) for system_id in (THERA, 30000021, C5[0])] == [12, 25, 5]

    def hole(code: str, *masses: float, mass: str = "fresh") -> dict[str, Any]:
        jumps = [{"at": 1, "characterId": 1, "shipTypeId": 1, "mass": m} for m in masses]
        return {"whType": code, "mass": mass, "jumps": jumps}

    max_mass = B274_MAX_MASS
    assert not is_critical(hole("B274", 0.5 * max_mass, 0.39 * max_mass), index)
    assert is_critical(hole("B274", 0.5 * max_mass, 0.41 * max_mass), index)
    assert not is_critical(hole("K162", 2 * max_mass), index)  # its maximum is unknown
    assert is_critical(hole("", mass="critical"), index)

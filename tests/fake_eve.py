"""EVE from the outside, faked: ESI's three tracking routes, its two universe-wide activity
lists and a token provider, as small Starlette apps served on loopback, with switchable
misbehaviour. Both read the test's clock, so `Expires` and token expiry move with it.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mapper.core.clock import ManualClock
from tests.live_server import serve_in_loop
from tests.server import free_port

SECRET = "provider-secret"
CACHE_S = {"online": 60, "location": 5, "ship": 5, "system_kills": 3600, "system_jumps": 3600}


@dataclass
class Pilot:
    character_id: int
    user_id: str
    name: str
    online: bool = True
    system_id: int = 31000001
    station_id: int | None = None
    ship_type_id: int = 587  # a Rifter

    def token(self, expires_ms: int) -> str:
        """Every grant is a new token, as a real provider's refresh gives."""
        return f"token-{self.character_id}-{expires_ms}"


@dataclass
class Call:
    route: str
    character_id: int
    status: int
    at: float


@dataclass
class FakeEve:
    clock: ManualClock
    pilots: dict[int, Pilot] = field(default_factory=dict)
    # The last hour, by system: (ship, pod, npc) kills, and jumps.
    kills: dict[int, tuple[int, int, int]] = field(default_factory=dict)
    jumps: dict[int, int] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    provider_calls: list[dict[str, Any]] = field(default_factory=list)
    # Misbehaviour: answers to give before the real ones, each (status, headers, body).
    scripted: deque[tuple[int, dict[str, str], str]] = field(default_factory=deque)
    down_until: float = 0.0  # every ESI answer is a 503 until then
    revoked: set[int] = field(default_factory=set)  # ESI refuses these characters' tokens
    ungranted: set[int] = field(default_factory=set)  # the provider has no token for these
    provider_status: int = 200
    cache_s: dict[str, int] = field(default_factory=lambda: dict(CACHE_S))
    error_limit_remain: int = 100
    slow_s: float = 0.0
    esi_port: int = field(default_factory=free_port)
    provider_port: int = field(default_factory=free_port)
    _servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = field(default_factory=list)

    @property
    def esi_url(self) -> str:
        return f"http://127.0.0.1:{self.esi_port}"

    @property
    def provider_url(self) -> str:
        return f"http://127.0.0.1:{self.provider_port}/tokens"

    def add(self, *pilots: Pilot) -> None:
        for pilot in pilots:
            self.pilots[pilot.character_id] = pilot

    def esi_calls(self, route: str | None = None, character_id: int | None = None) -> list[Call]:
        return [
            call
            for call in self.calls
            if (route is None or call.route == route)
            and (character_id is None or call.character_id == character_id)
        ]

    async def start(self) -> FakeEve:
        esi = Starlette(
            routes=[
                Route("/characters/{character_id:int}/{route}/", self._esi, methods=["GET"]),
                Route("/universe/{route}/", self._esi, methods=["GET"]),
            ]
        )
        provider = Starlette(routes=[Route("/tokens", self._tokens, methods=["POST"])])
        for app, port in ((esi, self.esi_port), (provider, self.provider_port)):
            self._servers.append(await serve_in_loop(app, port))
        return self

    async def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in self._servers))

    async def _esi(self, request: Request) -> Response:
        character_id = request.path_params.get("character_id", 0)  # 0: a public route
        route = request.path_params["route"]
        if self.slow_s and not self.scripted:  # scripted answers come first, and fast
            await asyncio.sleep(self.slow_s)
        status, headers, body = self._answer(request, character_id, route)
        self.calls.append(Call(route, character_id, status, self.clock.now()))
        headers = {
            "Date": _http_date(self.clock.now()),
            "X-ESI-Error-Limit-Remain": str(self.error_limit_remain),
            "X-ESI-Error-Limit-Reset": "30",
            **headers,
        }
        return Response(body, status_code=status, headers=headers, media_type="application/json")

    def _answer(
        self, request: Request, character_id: int, route: str
    ) -> tuple[int, dict[str, str], str]:
        if self.scripted:
            return self.scripted.popleft()
        if self.clock.now() < self.down_until:
            return error(503)
        if route in ("system_kills", "system_jumps"):
            return self._cached(request, route, self._universe(route))
        pilot = self.pilots.get(character_id)
        if (
            pilot is None
            or not request.headers.get("authorization", "").startswith(
                f"Bearer token-{character_id}-"
            )
            or character_id in self.revoked
        ):
            return 403, {}, json.dumps({"error": "token is not valid for this character"})
        answer: dict[str, Any]
        if route == "online":
            answer = {"online": pilot.online, "logins": 7}
        elif route == "location":
            answer = {"solar_system_id": pilot.system_id}
            if pilot.station_id is not None:
                answer["station_id"] = pilot.station_id
        elif route == "ship":
            answer = {"ship_type_id": pilot.ship_type_id, "ship_item_id": 1, "ship_name": "x"}
        else:
            return 404, {}, json.dumps({"error": "no such route"})
        return self._cached(request, route, answer)

    def _universe(self, route: str) -> list[dict[str, int]]:
        if route == "system_jumps":
            return [{"system_id": s, "ship_jumps": n} for s, n in self.jumps.items()]
        return [
            {"system_id": s, "ship_kills": ship, "pod_kills": pod, "npc_kills": npc}
            for s, (ship, pod, npc) in self.kills.items()
        ]

    def _cached(self, request: Request, route: str, answer: Any) -> tuple[int, dict[str, str], str]:
        body = json.dumps(answer)
        etag = '"' + hashlib.sha1(body.encode()).hexdigest() + '"'
        headers = {"ETag": etag, "Expires": _http_date(self.clock.now() + self.cache_s[route])}
        if request.headers.get("if-none-match") == etag:
            return 304, headers, ""
        return 200, headers, body

    async def _tokens(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {SECRET}":
            return JSONResponse({"error": "bad secret"}, status_code=401)
        asked = await request.json()
        self.provider_calls.append(asked)
        if self.provider_status != 200:
            return JSONResponse({"error": "unavailable"}, status_code=self.provider_status)
        expires_ms = int((self.clock.now() + 1200) * 1000)
        characters = [
            {
                "characterId": pilot.character_id,
                "name": pilot.name,
                **(
                    {}
                    if pilot.character_id in self.ungranted
                    else {"accessToken": pilot.token(expires_ms), "expiresAt": expires_ms}
                ),
            }
            for pilot in self.pilots.values()
            if pilot.user_id == asked.get("userId")
        ]
        return JSONResponse({"characters": characters})


def error(status: int, **headers: str) -> tuple[int, dict[str, str], str]:
    """A scripted ESI error answer."""
    return status, headers, json.dumps({"error": f"scripted {status}"})


def malformed() -> tuple[int, dict[str, str], str]:
    return 200, {}, "{not json"


def _http_date(at: float) -> str:
    return email.utils.formatdate(at, usegmt=True)

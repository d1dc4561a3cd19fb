"""EVE's single sign-on and ESI's public and character routes, faked as small Starlette apps on
loopback: the authorize page (which signs in whichever pilot the test says is at the keyboard),
the token endpoint (codes with PKCE, refresh tokens that rotate, `invalid_grant`), the JWKS
(an RSA and an EC key; keys can be revoked), revoke, and ESI's affiliation, names and ids, and
the online, location and ship routes that take the access tokens this SSO issued.
"""

from __future__ import annotations

import asyncio
import base64
import email.utils
import hashlib
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.live_server import serve_in_loop
from tests.server import free_port

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-0123456789"
SCOPES = [
    "esi-location.read_online.v1",
    "esi-location.read_location.v1",
    "esi-location.read_ship_type.v1",
]


@dataclass
class Character:
    character_id: int
    name: str
    corporation_id: int
    alliance_id: int | None = None
    system_id: int = 30000142


@dataclass
class Code:
    character_id: int
    challenge: str
    redirect_uri: str
    used: bool = False


@dataclass
class FakeSso:
    characters: dict[int, Character] = field(default_factory=dict)
    names: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (category, name)
    at_keyboard: int = 0  # who signs in at the authorize page
    signing_kid: str = "rsa-1"
    published: set[str] = field(default_factory=lambda: {"rsa-1", "ec-1"})
    audience: list[str] = field(default_factory=lambda: [CLIENT_ID, "EVE Online"])
    issuer: str = "https://login.eveonline.com"
    access_ttl_s: float = 1200.0
    exp_offset_s: float = 0.0  # added to the access token's exp (negative: already expired)
    affiliation_cache_s: int = 1
    refresh_delay_s: float = 0.0  # a successful refresh answers this late
    codes: dict[str, Code] = field(default_factory=dict)
    refresh_tokens: dict[str, int] = field(default_factory=dict)  # valid ones -> character
    access_tokens: dict[str, int] = field(default_factory=dict)
    refreshes: list[tuple[int | None, str]] = field(default_factory=list)  # (character, outcome)
    revoked: list[str] = field(default_factory=list)
    jwks_fetches: int = 0
    esi_calls: list[tuple[str, int]] = field(default_factory=list)  # (route, character)
    secrets_seen: set[str] = field(default_factory=set)  # every token and code handed out
    sso_port: int = field(default_factory=free_port)
    esi_port: int = field(default_factory=free_port)
    _keys: dict[str, Any] = field(default_factory=dict)
    _servers: list[tuple[uvicorn.Server, asyncio.Task[None]]] = field(default_factory=list)

    @property
    def sso_url(self) -> str:
        return f"http://127.0.0.1:{self.sso_port}"

    @property
    def esi_url(self) -> str:
        return f"http://127.0.0.1:{self.esi_port}"

    def add(self, *characters: Character) -> None:
        for character in characters:
            self.characters[character.character_id] = character
            self.names[character.character_id] = ("character", character.name)

    def name(self, entity_id: int, category: str, name: str) -> None:
        self.names[entity_id] = (category, name)

    def revoke_all(self, character_id: int) -> None:
        """The player revoked the application at EVE: every refresh token stops working."""
        for token in [t for t, c in self.refresh_tokens.items() if c == character_id]:
            del self.refresh_tokens[token]

    async def start(self) -> FakeSso:
        self._keys = {
            "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "rsa-old": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "rsa-new": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec-1": ec.generate_private_key(ec.SECP256R1()),
        }
        sso = Starlette(
            routes=[
                Route("/v2/oauth/authorize", self._authorize, methods=["GET"]),
                Route("/v2/oauth/token", self._token, methods=["POST"]),
                Route("/v2/oauth/revoke", self._revoke, methods=["POST"]),
                Route("/oauth/jwks", self._jwks, methods=["GET"]),
            ]
        )
        esi = Starlette(
            routes=[
                Route("/characters/affiliation/", self._affiliation, methods=["POST"]),
                Route("/universe/names/", self._names, methods=["POST"]),
                Route("/universe/ids/", self._ids, methods=["POST"]),
                Route("/characters/{character_id:int}/{route}/", self._character, methods=["GET"]),
            ]
        )
        for app, port in ((sso, self.sso_port), (esi, self.esi_port)):
            self._servers.append(await serve_in_loop(app, port))
        return self

    async def stop(self) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        await asyncio.gather(*(task for _, task in self._servers))

    # SSO

    async def _authorize(self, request: Request) -> Response:
        query = request.query_params
        if (
            query.get("response_type") != "code"
            or query.get("client_id") != CLIENT_ID
            or query.get("code_challenge_method") != "S256"
            or not query.get("code_challenge")
            or not query.get("state")
            or sorted(query.get("scope", "").split()) != sorted(SCOPES)
        ):
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        code = secrets.token_urlsafe(16)
        self.secrets_seen.add(code)
        self.codes[code] = Code(self.at_keyboard, query["code_challenge"], query["redirect_uri"])
        target = (
            query["redirect_uri"]
            + "?"
            + urllib.parse.urlencode({"code": code, "state": query["state"]})
        )
        return RedirectResponse(target, status_code=302)

    async def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = await _form(request)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            code = self.codes.get(str(form.get("code")))
            verifier = str(form.get("code_verifier", ""))
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if code is None or code.used or challenge.rstrip(b"=").decode() != code.challenge:
                return _invalid_grant()
            code.used = True
            return self._grant(code.character_id)
        if grant == "refresh_token":
            token = str(form.get("refresh_token"))
            character_id = self.refresh_tokens.pop(token, None)
            if character_id is None:
                self.refreshes.append((None, "invalid_grant"))
                return _invalid_grant()
            self.refreshes.append((character_id, "ok"))
            await asyncio.sleep(self.refresh_delay_s)  # the old token is used up already
            return self._grant(character_id)
        return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)

    def _grant(self, character_id: int) -> Response:
        access = self.access_token(character_id)
        refresh = secrets.token_urlsafe(24)
        self.refresh_tokens[refresh] = character_id
        self.secrets_seen.add(refresh)
        return JSONResponse(
            {
                "access_token": access,
                "expires_in": int(self.access_ttl_s),
                "token_type": "Bearer",
                "refresh_token": refresh,
            }
        )

    def access_token(self, character_id: int) -> str:
        """An access token as EVE signs them, with the misbehaviour the test set."""
        character = self.characters[character_id]
        now = time.time()
        claims = {
            "scp": SCOPES,
            "jti": secrets.token_hex(8),
            "kid": "JWT-Signature-Key",
            "sub": f"CHARACTER:EVE:{character_id}",
            "azp": CLIENT_ID,
            "tenant": "tranquility",
            "tier": "live",
            "region": "world",
            "aud": self.audience,
            "name": character.name,
            "owner": "owner-hash",
            "exp": int(now + self.access_ttl_s + self.exp_offset_s),
            "iat": int(now),
            "iss": self.issuer,
        }
        key = self._keys[self.signing_kid]
        algorithm = "ES256" if self.signing_kid.startswith("ec") else "RS256"
        access = jwt.encode(claims, key, algorithm=algorithm, headers={"kid": self.signing_kid})
        self.access_tokens[access] = character_id
        self.secrets_seen.add(access)
        return access

    async def _revoke(self, request: Request) -> Response:
        form = await _form(request)
        token = str(form.get("token"))
        self.revoked.append(token)
        self.refresh_tokens.pop(token, None)
        return Response(status_code=200)

    async def _jwks(self, request: Request) -> Response:
        self.jwks_fetches += 1
        keys = []
        for kid in sorted(self.published):
            key = self._keys[kid]
            if kid.startswith("ec"):
                jwk = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
                keys.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
            else:
                jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
                keys.append({**jwk, "kid": kid, "alg": "RS256", "use": "sig"})
        return JSONResponse({"keys": keys, "SkipUnresolvedJsonWebKeys": True})

    # ESI

    async def _affiliation(self, request: Request) -> Response:
        ids = await request.json()
        answer = [
            {
                "character_id": c.character_id,
                "corporation_id": c.corporation_id,
                **({"alliance_id": c.alliance_id} if c.alliance_id else {}),
            }
            for i in ids
            if (c := self.characters.get(i)) is not None
        ]
        return JSONResponse(answer, headers=_expires(self.affiliation_cache_s))

    async def _names(self, request: Request) -> Response:
        ids = await request.json()
        if any(i not in self.names for i in ids):
            return JSONResponse({"error": "Ensure all IDs are valid before resolving."}, 404)
        answer = [{"id": i, "category": self.names[i][0], "name": self.names[i][1]} for i in ids]
        return JSONResponse(answer, headers=_expires(3600))

    async def _ids(self, request: Request) -> Response:
        wanted = {name.casefold() for name in await request.json()}
        answer: dict[str, list[dict[str, Any]]] = {}
        for entity_id, (category, name) in self.names.items():
            if name.casefold() in wanted:
                answer.setdefault(category + "s", []).append({"id": entity_id, "name": name})
        return JSONResponse(answer, headers=_expires(3600))

    async def _character(self, request: Request) -> Response:
        character_id = request.path_params["character_id"]
        route = request.path_params["route"]
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        self.esi_calls.append((route, character_id))
        if self.access_tokens.get(token) != character_id:
            return JSONResponse({"error": "token is not valid for this character"}, 403)
        character = self.characters[character_id]
        answers = {
            "online": {"online": True},
            "location": {"solar_system_id": character.system_id},
            "ship": {"ship_type_id": 587, "ship_item_id": 1, "ship_name": "x"},
        }
        if route not in answers:
            return JSONResponse({"error": "no such route"}, 404)
        return JSONResponse(answers[route], headers=_expires(5))


# The corporations and alliances the tests' characters belong to, by name.
GROUP_NAMES = {
    98000001: ("corporation", "Avari Holdings"),
    98000002: ("corporation", "Alt Corp"),
    98000003: ("corporation", "Brave Newbies"),
    99000001: ("alliance", "Wormhole Society"),
}


async def started(*characters: Character) -> FakeSso:
    """A fake EVE SSO and ESI on loopback that knows `characters` and the tests' groups."""
    fake = await FakeSso().start()
    fake.add(*characters)
    for entity_id, (category, name) in GROUP_NAMES.items():
        fake.name(entity_id, category, name)
    return fake


def sso_env(eve: FakeSso, port: int, **more: str) -> dict[str, str]:
    """The settings of a `mapper serve` on `port` that signs people in through `eve`, and looks
    at its users' corporations every second."""
    return {
        "MAPPER_EVE_CLIENT_ID": CLIENT_ID,
        "MAPPER_EVE_CLIENT_SECRET": CLIENT_SECRET,
        "MAPPER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MAPPER_EVE_SSO_BASE_URL": eve.sso_url,
        "MAPPER_ESI_BASE_URL": eve.esi_url,
        "MAPPER_AFFILIATION_CHECK_S": "1",
        **more,
    }


async def _form(request: Request) -> dict[str, str]:
    """A form body (python-multipart is not needed for this one kind)."""
    return dict(urllib.parse.parse_qsl((await request.body()).decode()))


def _invalid_grant() -> Response:
    return JSONResponse(
        {"error": "invalid_grant", "error_description": "Invalid refresh token."}, 400
    )


def _expires(seconds: float) -> dict[str, str]:
    now = time.time()
    return {
        "Date": email.utils.formatdate(now, usegmt=True),
        "Expires": email.utils.formatdate(now + seconds, usegmt=True),
    }

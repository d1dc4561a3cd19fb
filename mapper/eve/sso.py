"""EVE's single sign-on (OAuth 2, SSO v2): the authorize URL, the code exchange with PKCE, the
refresh, the revoke, and the check of EVE's access token (a JWT signed with a key of EVE's JWKS).

Nothing here logs a token, a code or a secret; errors name what failed, never what was sent.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import time
import urllib.parse
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from mapper.auth import ALGORITHMS, AuthError, Keys

log = logging.getLogger("mapper.eve.sso")

# What the sync engine's datasets read (sync/datasets.py): online status, location and ship.
SCOPES = (
    "esi-location.read_online.v1",
    "esi-location.read_location.v1",
    "esi-location.read_ship_type.v1",
)
ISSUERS = ("login.eveonline.com", "https://login.eveonline.com")
EVE_AUDIENCE = "EVE Online"
AUTHORIZE_PATH = "/v2/oauth/authorize"
TOKEN_PATH = "/v2/oauth/token"
REVOKE_PATH = "/v2/oauth/revoke"
JWKS_PATH = "/oauth/jwks"
JWKS_REFRESH_S = 60.0  # an unknown kid fetches EVE's keys again at most this often
JWKS_MAX_AGE_S = 300.0  # ... and so does a login after this: a key EVE withdrew stops working
LEEWAY_S = 30.0
TIMEOUT_S = 10.0
MAX_ANSWER_BYTES = 64 * 1024
_SUBJECT = re.compile(r"CHARACTER:EVE:([0-9]{1,20})")


class SsoError(Exception):
    """EVE's SSO failed or answered something unusable; the message is safe to show."""


class InvalidGrant(SsoError):
    """EVE refused the code or refresh token for good (revoked, used, expired)."""


@dataclass(frozen=True, slots=True)
class Tokens:
    """What EVE's token endpoint gave: the access token (kept in memory only) and the refresh
    token (kept encrypted), with the character the access token names."""

    access_token: str
    refresh_token: str | None
    expires_at: float  # epoch seconds
    character_id: int
    name: str
    scopes: tuple[str, ...]


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class EveSso:
    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        callback: str,
        *,
        jwks_refresh_s: float = JWKS_REFRESH_S,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._client_id = client_id
        self.callback = callback
        self._http = httpx.AsyncClient(timeout=TIMEOUT_S, auth=(client_id, client_secret))
        self._keys = Keys(
            url=self._base + JWKS_PATH,
            refresh_interval_s=jwks_refresh_s,
            max_age_s=JWKS_MAX_AGE_S,
        )

    async def aclose(self) -> None:
        await self._keys.aclose()
        await self._http.aclose()

    def authorize_url(self, state: str, verifier: str) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "redirect_uri": self.callback,
                "client_id": self._client_id,
                "scope": " ".join(SCOPES),
                "state": state,
                "code_challenge": pkce_challenge(verifier),
                "code_challenge_method": "S256",
            }
        )
        return f"{self._base}{AUTHORIZE_PATH}?{query}"

    async def exchange(self, code: str, verifier: str) -> Tokens:
        """Trade a callback's code for tokens (the PKCE verifier proves we began the login)."""
        return await self._token(
            {"grant_type": "authorization_code", "code": code, "code_verifier": verifier}
        )

    async def refresh(self, refresh_token: str) -> Tokens:
        return await self._token({"grant_type": "refresh_token", "refresh_token": refresh_token})

    async def revoke(self, refresh_token: str) -> None:
        """Ask EVE to forget a refresh token; a failure is logged, the token is forgotten here
        either way."""
        try:
            response = await self._http.post(
                self._base + REVOKE_PATH,
                data={"token_type_hint": "refresh_token", "token": refresh_token},
            )
        except httpx.HTTPError as error:
            log.warning("EVE SSO revoke failed: %s", type(error).__name__)
            return
        if response.status_code != 200:
            log.warning("EVE SSO revoke answered %d", response.status_code)

    async def verify(self, access_token: str) -> tuple[int, str, tuple[str, ...], float]:
        """Check EVE's access token: its signature by a key of EVE's JWKS, `iss`, `aud` (our
        client id and "EVE Online"), `exp`. (character id, name, scopes, expiry)."""
        try:
            header = jwt.get_unverified_header(access_token)
        except jwt.PyJWTError:
            raise SsoError("EVE's access token is not a JWT") from None
        if header.get("alg") not in ALGORITHMS:
            raise SsoError("EVE's access token has an algorithm we do not accept")
        try:
            key = await self._keys.key_for(header.get("kid"))
        except AuthError as error:
            raise SsoError(f"EVE's access token: {error}") from None
        try:
            claims = jwt.decode(
                access_token,
                key,
                algorithms=[key.algorithm_name],
                leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise SsoError("EVE's access token has expired") from None
        except jwt.PyJWTError:
            raise SsoError("EVE's access token is invalid") from None
        return _claims(claims, self._client_id)

    async def _token(self, form: dict[str, str]) -> Tokens:
        try:
            response = await self._http.post(
                self._base + TOKEN_PATH,
                data=form,
                headers={"Accept": "application/json"},
            )
        except httpx.HTTPError as error:
            raise SsoError(f"EVE's login could not be reached ({type(error).__name__})") from None
        body = _json(response)
        if response.status_code != 200:
            error = body.get("error") if isinstance(body, dict) else None
            if response.status_code in (400, 401) and error == "invalid_grant":
                raise InvalidGrant("EVE refused the grant (invalid_grant)")
            raise SsoError(f"EVE's login answered {response.status_code}")
        if not isinstance(body, dict):
            raise SsoError("EVE's login answered something that is not a token")
        access = body.get("access_token")
        refresh = body.get("refresh_token")
        if not isinstance(access, str) or not access:
            raise SsoError("EVE's login answered without an access token")
        if refresh is not None and (not isinstance(refresh, str) or not refresh):
            raise SsoError("EVE's login answered a malformed refresh token")
        character_id, name, scopes, expires_at = await self.verify(access)
        return Tokens(access, refresh, expires_at, character_id, name, scopes)


def _json(response: httpx.Response) -> Any:
    if len(response.content) > MAX_ANSWER_BYTES:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _claims(claims: dict[str, Any], client_id: str) -> tuple[int, str, tuple[str, ...], float]:
    if claims.get("iss") not in ISSUERS:
        raise SsoError("EVE's access token is from another issuer")
    audience = claims.get("aud")
    audiences = [audience] if isinstance(audience, str) else audience
    if not isinstance(audiences, list) or not {client_id, EVE_AUDIENCE} <= set(audiences):
        raise SsoError("EVE's access token is meant for another application (aud)")
    subject = _SUBJECT.fullmatch(str(claims.get("sub")))
    if subject is None:
        raise SsoError("EVE's access token does not name a character")
    name = claims.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 100:
        raise SsoError("EVE's access token has no character name")
    scopes = claims.get("scp", [])
    if isinstance(scopes, str):
        scopes = [scopes]
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise SsoError("EVE's access token has malformed scopes")
    exp = claims["exp"]
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise SsoError("EVE's access token has a malformed exp")
    character_id = int(subject.group(1))
    if not 0 < character_id < 2**63:
        raise SsoError("EVE's access token names an impossible character")
    return character_id, name.strip(), tuple(scopes), min(float(exp), time.time() + 24 * 3600)

"""EVE access tokens for the sync engine (contract section 6), from `Tokens`: the external token
provider here (the app that holds token custody), or the built-in EVE login's custody. Either
also says which characters a user has.

Tokens live in memory only, and only until they expire; nothing here is ever written to the
database, a live document or awareness.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from mapper.core.clock import Clock
from mapper.core.errors import SettingsError
from mapper.core.logs import redact

log = logging.getLogger("mapper.sync.tokens")

EXPIRY_MARGIN_S = 30.0  # a token this close to expiring is asked for again
REASK_S = 300.0  # how long an answer without any usable token is kept


@dataclass(frozen=True, slots=True)
class Grant:
    """One character of a user; `access_token` None when the provider could not grant it."""

    character_id: int
    name: str
    access_token: str | None
    expires_at: float  # epoch seconds


class TokenProviderError(Exception):
    """The provider could not be asked or did not answer usefully; try again later."""


class Tokens(Protocol):
    """Where the sync engine gets a user's characters and their access tokens."""

    async def grants(self, user_id: str, group: str) -> list[Grant]:
        """The user's characters with tokens for the rate-limit `group` (a character without a
        usable token has `access_token` None); raises `TokenProviderError` to try later."""
        ...

    async def aclose(self) -> None: ...


class TokenProvider:
    """`Tokens` from an external token provider (`MAPPER_TOKEN_PROVIDER_URL`)."""

    def __init__(self, url: str, secret: str, *, clock: Clock, timeout_s: float = 10.0) -> None:
        # Caught here, at start, rather than as a refused request on every sync run.
        if not secret:
            raise SettingsError(
                "MAPPER_TOKEN_PROVIDER_URL is set but MAPPER_TOKEN_PROVIDER_SECRET is empty; "
                "set the bearer secret the token provider expects"
            )
        if secret != secret.strip() or not secret.isprintable() or not secret.isascii():
            raise SettingsError(
                "MAPPER_TOKEN_PROVIDER_SECRET holds spaces at its ends or characters that "
                "cannot go in an HTTP header"
            )
        self._url = url
        self._secret = secret
        self._clock = clock
        self._http = httpx.AsyncClient(
            timeout=timeout_s, headers={"Authorization": f"Bearer {secret}"}
        )
        self._held: dict[tuple[str, str], tuple[float, list[Grant]]] = {}
        self._asking: dict[tuple[str, str], asyncio.Future[list[Grant]]] = {}

    async def aclose(self) -> None:
        await self._http.aclose()

    async def grants(self, user_id: str, group: str) -> list[Grant]:
        """The user's characters with tokens for the rate-limit `group`."""
        key = (user_id, group)
        held_until, held = self._held.get(key, (0.0, []))
        if self._clock.now() < held_until:
            return held
        # Two datasets of one user may ask at once: one request answers both.
        asking = self._asking.get(key)
        if asking is None:
            asking = asyncio.ensure_future(self._ask(user_id, group))
            self._asking[key] = asking
            asking.add_done_callback(lambda _: self._asking.pop(key, None))
        return await asyncio.shield(asking)

    async def _ask(self, user_id: str, group: str) -> list[Grant]:
        now = self._clock.now()
        try:
            response = await self._http.post(self._url, json={"userId": user_id, "group": group})
        except httpx.HTTPError as error:
            # httpx quotes URLs and header values in its messages.
            reason = redact(str(error), [self._secret])
            raise TokenProviderError(f"token provider unreachable: {reason}") from None
        if response.status_code != 200:
            raise TokenProviderError(
                f"token provider answered {response.status_code} for user {user_id}"
            )
        try:
            grants = _parse(response.json(), now)
        except ValueError as error:
            raise TokenProviderError(f"token provider's answer is not usable: {error}") from None
        usable = [g.expires_at - EXPIRY_MARGIN_S for g in grants if g.access_token is not None]
        self._held[(user_id, group)] = (min(usable, default=now + REASK_S), grants)
        return grants


def _parse(body: Any, now: float) -> list[Grant]:
    if not isinstance(body, dict) or not isinstance(body.get("characters"), list):
        raise ValueError('expected {"characters": [...]}')
    grants = []
    for entry in body["characters"]:
        if not isinstance(entry, dict):
            raise ValueError("a character entry is not an object")
        character_id = entry.get("characterId")
        if not isinstance(character_id, int) or isinstance(character_id, bool) or character_id <= 0:
            raise ValueError(f"bad characterId {character_id!r}")
        name = entry.get("name")
        token = entry.get("accessToken")
        expires_ms = entry.get("expiresAt")
        usable = (
            isinstance(token, str)
            and token != ""
            and isinstance(expires_ms, int | float)
            and not isinstance(expires_ms, bool)
            and expires_ms / 1000 > now
        )
        if not usable:
            log.warning("token provider granted no usable token for character %s", character_id)
        grants.append(
            Grant(
                character_id,
                name if isinstance(name, str) else "",
                token if usable else None,
                expires_ms / 1000 if usable else now,
            )
        )
    return grants

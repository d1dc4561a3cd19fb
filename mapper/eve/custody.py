"""Custody of EVE tokens for the built-in login, and the sync engine's `Tokens` from it.

Refresh tokens are kept encrypted in the database (`Vault`); access tokens in this process's
memory only, until shortly before they expire. One refresh at a time per character (a lock):
EVE may rotate the refresh token on every use, and the one it returns replaces the old one.
A refresh EVE refuses with `invalid_grant` marks the character as needing a new login and is
not tried again. Nothing here is logged but character ids and why a refresh failed.
"""

from __future__ import annotations

import asyncio
import logging
import time

from mapper.eve.sso import EveSso, InvalidGrant, SsoError, Tokens
from mapper.eve.vault import Vault
from mapper.persistence.accounts import AccountStore
from mapper.sync.tokens import Grant

log = logging.getLogger("mapper.eve.custody")

REFRESH_MARGIN_S = 60.0  # an access token this close to expiring is refreshed first
RACE_GRACE_S = 1.0  # after invalid_grant: time for another process to store its new token


class TokenCustody:
    """`Tokens` (mapper.sync.tokens) for the sync engine, from characters that signed in."""

    def __init__(
        self,
        store: AccountStore,
        sso: EveSso,
        vault: Vault,
    ) -> None:
        self._store = store
        self._sso = sso
        self._vault = vault
        self._access: dict[int, tuple[str, float]] = {}  # character id -> (token, expires at)
        self._locks: dict[int, asyncio.Lock] = {}

    async def aclose(self) -> None:
        self._access.clear()

    def hold(self, tokens: Tokens) -> None:
        """Keep the access token of a fresh login in memory."""
        self._access[tokens.character_id] = (tokens.access_token, tokens.expires_at)

    def forget(self, character_id: int) -> None:
        self._access.pop(character_id, None)
        self._locks.pop(character_id, None)

    async def grants(self, user_id: str, group: str) -> list[Grant]:
        """The user's characters, each with an access token unless it needs a new login."""
        grants = []
        for character in await self._store.characters(user_id):
            character_id = character.character_id
            token = None if character.needs_login else await self.access_token(character_id)
            expires_at = self._access[character_id][1] if token else time.time()
            grants.append(Grant(character_id, character.name, token, expires_at))
        return grants

    async def access_token(self, character_id: int) -> str | None:
        """A usable access token for the character, refreshed when it is near expiry; None
        when the character has no refresh token (or EVE refused it) or EVE cannot be reached."""
        held = self._usable(character_id)
        if held is not None:
            return held
        lock = self._locks.setdefault(character_id, asyncio.Lock())
        async with lock:
            # Another caller may have refreshed it while this one waited.
            held = self._usable(character_id)
            if held is not None:
                return held
            return await self._refresh(character_id)

    def _usable(self, character_id: int) -> str | None:
        held = self._access.get(character_id)
        if held is not None and held[1] - REFRESH_MARGIN_S > time.time():
            return held[0]
        return None

    async def _refresh(self, character_id: int, refused: bytes | None = None) -> str | None:
        """Refresh with the stored refresh token; `refused`: the one EVE just refused, so
        that a token another process stored meanwhile is tried once, and that one only."""
        sealed = await self._store.refresh_token(character_id)
        if sealed is not None and sealed == refused:
            await self._lost(character_id, sealed)
            return None
        if sealed is None:
            self._access.pop(character_id, None)
            return None
        refresh_token = self._vault.open_sealed(sealed)
        if refresh_token is None:
            log.warning("character %s: its refresh token was sealed with another key", character_id)
            await self._lost(character_id, sealed)
            return None
        try:
            fresh = await self._sso.refresh(refresh_token)
        except InvalidGrant:
            log.info("character %s: EVE refused its refresh token", character_id)
            if refused is not None:
                await self._lost(character_id, sealed)
                return None
            # Another process may have used this token a moment ago (EVE rotates them): give
            # it time to store the new one, then try that one, never this one again.
            await asyncio.sleep(RACE_GRACE_S)
            return await self._refresh(character_id, refused=sealed)
        except SsoError as error:
            log.warning("character %s: token refresh failed: %s", character_id, error)
            return None
        if fresh.character_id != character_id:
            log.warning("character %s: EVE's refresh named another character", character_id)
            return None
        if fresh.refresh_token is not None and fresh.refresh_token != refresh_token:
            # Only over the token we used: a newer one stored meanwhile by another process wins.
            await self._store.replace_refresh_token(
                character_id, sealed, self._vault.seal(fresh.refresh_token)
            )
        self._access[character_id] = (fresh.access_token, fresh.expires_at)
        return fresh.access_token

    async def _lost(self, character_id: int, sealed: bytes) -> None:
        log.warning("character %s needs a new login", character_id)
        self._access.pop(character_id, None)
        await self._store.needs_login(character_id, sealed)

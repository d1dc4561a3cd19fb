"""Users of the built-in EVE login: who they are now, their characters, signing in and out.

The service's token (signed at login, valid for hours) names a user; what that user may reach
is decided by what is known *now*: `current` (the `Directory` of mapper.auth) gives every
verified token of a login user their characters (`character:<id>` members), corporations and
alliances as the database has them, and refuses tokens issued before the user signed out.

Corporations and alliances come from ESI's affiliation, asked for the characters of users
connected to this process as often as ESI's cache allows and at least hourly. A change is
applied to open sockets at once (`access_changed`): one that lost its chain is closed with 4403.
Every process reloads the directory on each pass, so a change made in another one reaches its
sockets within a pass as well.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mapper.auth import AuthError, BuiltinIssuer
from mapper.core.clock import Clock
from mapper.core.identity import Identity
from mapper.eve.custody import TokenCustody
from mapper.eve.lookup import EveLookup, Named
from mapper.eve.sso import EveSso, Tokens
from mapper.eve.vault import Vault
from mapper.persistence.accounts import AccountRecord, AccountStore, CharacterRecord
from mapper.sync.esi import EsiError

log = logging.getLogger("mapper.eve.accounts")

TOKEN_TTL_S = 8 * 3600.0
UNKNOWN_S = 60.0  # a user not found in the database is looked for again after this
MAX_UNKNOWN = 10_000

AccessChanged = Callable[[str], Awaitable[None]]
"""Applies a user's new characters and groups to their open sockets."""


@dataclass(frozen=True, slots=True)
class Account:
    admin: bool
    signed_out_at: int | None  # ms
    name: str  # the first character linked: the user's name
    characters: tuple[int, ...]
    groups: tuple[str, ...]


class NotLinked(Exception):
    """The caller has no such character."""


class Accounts:
    def __init__(
        self,
        store: AccountStore,
        sso: EveSso,
        custody: TokenCustody,
        vault: Vault,
        lookup: EveLookup,
        issuer: BuiltinIssuer,
        *,
        admins: frozenset[int],
        clock: Clock,
    ) -> None:
        self._store = store
        self._sso = sso
        self._custody = custody
        self._vault = vault
        self._lookup = lookup
        self._issuer = issuer
        self._admins = admins
        self._clock = clock
        self._accounts: dict[str, Account] = {}
        self._unknown: dict[str, float] = {}  # users not found, and when they were looked for
        self.access_changed: AccessChanged | None = None

    # The directory (mapper.auth.Directory)

    async def current(self, identity: Identity) -> Identity:
        """`identity` as it stands now. A user this process has not seen yet (they signed in
        through another process a moment ago) is read from the database first; one who is
        not a login user is asked for again at most once a minute."""
        user_id = identity.user_id
        if user_id not in self._accounts:
            now = self._clock.monotonic()
            looked = self._unknown.get(user_id)
            if looked is None or now - looked > UNKNOWN_S:
                if len(self._unknown) > MAX_UNKNOWN:
                    self._unknown.clear()
                self._unknown[user_id] = now
                # No socket of theirs is open here yet: nothing to apply the change to.
                await self.reload([user_id])
        return self.now(identity)

    def now(self, identity: Identity) -> Identity:
        """`identity` as this process knows it now; raises `AuthError` when withdrawn."""
        account = self._accounts.get(identity.user_id)
        if account is None:
            return identity  # not a login user: the token says all
        if account.signed_out_at is not None and identity.issued_at * 1000 < account.signed_out_at:
            raise AuthError("you signed out since this token was issued; sign in again")
        return dataclasses.replace(
            identity,
            admin=identity.admin or account.admin,
            groups=account.groups,
            characters=account.characters,
        )

    def group_ids(self) -> set[int]:
        """The corporations and alliances of every user's characters."""
        return {
            int(group.partition(":")[2])
            for account in self._accounts.values()
            for group in account.groups
        }

    def name_of(self, user_id: str) -> str | None:
        account = self._accounts.get(user_id)
        return account.name if account is not None and account.name else None

    async def reload(self, user_ids: Iterable[str] | None = None) -> set[str]:
        """Read the users (all, or these) again; the users whose access may have changed."""
        records = await self._store.accounts(user_ids)
        changed = set()
        for record in records:
            account = self._account(record)
            if self._accounts.get(record.user_id) != account:
                changed.add(record.user_id)
            self._accounts[record.user_id] = account
            self._lookup.learn(_known_names(record))
        if user_ids is None:
            gone = self._accounts.keys() - {record.user_id for record in records}
            for user_id in gone:
                del self._accounts[user_id]
        return changed

    # Signing in and out

    async def sign_in(self, tokens: Tokens, link_user_id: str | None) -> str:
        """Record a finished login and issue the service's token for its user."""
        sealed = None if tokens.refresh_token is None else self._vault.seal(tokens.refresh_token)
        signed = await self._store.sign_in(
            character_id=tokens.character_id,
            name=tokens.name,
            scopes=tokens.scopes,
            refresh_token=sealed,
            link_user_id=link_user_id,
            admin_characters=self._admins,
            now=int(self._clock.now() * 1000),
        )
        self._custody.hold(tokens)
        self._lookup.learn([Named("character", tokens.character_id, tokens.name)])
        log.info(
            "character %s signed in as user %s%s",
            tokens.character_id,
            signed.user_id,
            " (linked)" if link_user_id else "",
        )
        # The token's groups are those of the moment; ask ESI now rather than at the next pass.
        await self._affiliate([tokens.character_id])
        # A character that moved here leaves its previous user at once, sockets included.
        moved = [signed.previous_user_id] if signed.previous_user_id else []
        await self._changed(await self.reload([signed.user_id, *moved]))
        account = self._accounts[signed.user_id]
        return self._issuer.issue(
            signed.user_id,
            name=account.name or tokens.name,
            admin=account.admin,
            groups=account.groups,
            ttl_s=TOKEN_TTL_S,
        )

    async def sign_out(self, identity: Identity) -> None:
        """Withdraw the caller's tokens of ours and forget their EVE refresh tokens (revoked at
        EVE too); their characters stay linked and need a new login to be tracked again."""
        now_s = int(self._clock.now())
        sealed = await self._store.sign_out(identity.user_id, now_s * 1000)
        await self._revoke(sealed)
        for character_id in identity.characters:
            self._custody.forget(character_id)
        await self._changed(await self.reload([identity.user_id]))

    async def characters(self, identity: Identity) -> list[dict[str, Any]]:
        """The caller's characters: names, corporations, alliances, scopes granted, and
        whether each needs a new login."""
        records = await self._store.characters(identity.user_id)
        groups = {r.corporation_id for r in records} | {r.alliance_id for r in records}
        names = await self._lookup.names(i for i in groups if i)
        return [_character_json(record, names) for record in records]

    async def unlink(self, identity: Identity, character_id: int) -> None:
        sealed = await self._store.unlink(identity.user_id, character_id)
        if sealed is False:
            raise NotLinked(f"character {character_id} is not one of yours")
        if isinstance(sealed, bytes):
            await self._revoke([sealed])
        self._custody.forget(character_id)
        log.info("user %s unlinked character %s", identity.user_id, character_id)
        await self._changed(await self.reload([identity.user_id]))

    # Affiliation

    async def refresh_affiliations(self, user_ids: Iterable[str]) -> None:
        """One pass: reload the directory (changes other processes made) and ask ESI for the
        characters of `user_ids` whose affiliation is due; apply what changed."""
        changed = await self.reload()
        now_ms = int(self._clock.now() * 1000)
        due = [
            character.character_id
            for record in await self._store.accounts(set(user_ids) & self._accounts.keys())
            for character in record.characters
            if character.affiliation_expires_at <= now_ms
        ]
        if due and await self._affiliate(due):
            changed |= await self.reload()
        await self._changed(changed)

    async def _affiliate(self, character_ids: list[int]) -> bool:
        try:
            found = await self._lookup.affiliations(character_ids)
        except EsiError as error:
            log.warning(
                "affiliation of %d character(s) not known now: %s", len(character_ids), error
            )
            return False
        await self._store.set_affiliations(found)
        return True

    async def _changed(self, user_ids: set[str]) -> None:
        if self.access_changed is None:
            return
        for user_id in sorted(user_ids):
            await self.access_changed(user_id)

    async def _revoke(self, sealed: Iterable[bytes]) -> None:
        for item in sealed:
            token = self._vault.open_sealed(item)
            if token is not None:
                await self._sso.revoke(token)

    def _account(self, record: AccountRecord) -> Account:
        characters = record.characters
        groups = [f"corp:{c.corporation_id}" for c in characters if c.corporation_id]
        groups += [f"alliance:{c.alliance_id}" for c in characters if c.alliance_id]
        return Account(
            admin=record.admin or any(c.character_id in self._admins for c in characters),
            signed_out_at=record.signed_out_at,
            name=characters[0].name if characters else "",
            characters=tuple(c.character_id for c in characters),
            groups=tuple(dict.fromkeys(groups)),
        )


def _known_names(record: AccountRecord) -> list[Named]:
    return [Named("character", c.character_id, c.name) for c in record.characters]


def _character_json(record: CharacterRecord, names: dict[int, Named]) -> dict[str, Any]:
    def named(group_id: int | None) -> dict[str, Any] | None:
        if group_id is None:
            return None
        entry = names.get(group_id)
        return {"id": group_id, "name": entry.name if entry is not None else None}

    return {
        "characterId": record.character_id,
        "name": record.name,
        "corporation": named(record.corporation_id),
        "alliance": named(record.alliance_id),
        "scopes": list(record.scopes),
        "needsLogin": record.needs_login,
        "linkedAt": record.linked_at,
    }

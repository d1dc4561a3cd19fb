"""The built-in EVE login's parts, made from the settings, with the pass that keeps users'
corporations and alliances current."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable

from mapper.auth import BuiltinIssuer
from mapper.core.clock import Clock
from mapper.core.tasks import Tasks
from mapper.eve.accounts import Accounts
from mapper.eve.custody import TokenCustody
from mapper.eve.login import CALLBACK_PATH, Login
from mapper.eve.lookup import EveLookup, Named
from mapper.eve.sso import EveSso
from mapper.eve.vault import Vault
from mapper.persistence.accounts import AccountStore
from mapper.settings import Settings, SettingsError
from mapper.sync.esi import EsiClient
from mapper.sync.ratelimit import RateLimiter

log = logging.getLogger("mapper.eve")

_ADMINS = re.compile(r"[0-9]{1,20}")
# A person types a few searches a minute; each new name may cost an ESI call.
SEARCHES_PER_MINUTE = 30
SEARCH_BURST = 10


class TooManySearches(Exception):
    """The caller searched more often than people type; the message is safe to show."""


class EveLogin:
    def __init__(
        self,
        settings: Settings,
        store: AccountStore,
        issuer: BuiltinIssuer,
        esi: EsiClient,
        *,
        clock: Clock,
        tasks: Tasks,
        connected_users: Callable[[], Iterable[str]],
    ) -> None:
        public_url = settings.public_url.rstrip("/")
        self.secure_cookie = public_url.startswith("https://")
        self.sso = EveSso(
            settings.eve_sso_base_url,
            settings.eve_client_id,
            settings.eve_client_secret,
            public_url + CALLBACK_PATH,
        )
        vault = Vault.open(settings.secret_key, settings.data_dir)
        self.lookup = EveLookup(esi, clock)
        self.custody = TokenCustody(store, self.sso, vault)
        self.accounts = Accounts(
            store,
            self.sso,
            self.custody,
            vault,
            self.lookup,
            issuer,
            admins=admin_characters(settings.admins),
            clock=clock,
        )
        self.login = Login(store, self.sso, self.accounts, clock)
        self._clock = clock
        self._tasks = tasks
        self._every_s = settings.affiliation_check_s
        self._connected_users = connected_users
        self._searches = RateLimiter(clock, rate_per_minute=SEARCHES_PER_MINUTE, burst=SEARCH_BURST)

    @staticmethod
    def check(settings: Settings) -> bool:
        """Whether the settings turn the EVE login on; raises when they do so only in part."""
        if not settings.eve_client_id:
            return False
        missing = [
            name
            for name, value in (
                ("MAPPER_EVE_CLIENT_SECRET", settings.eve_client_secret),
                ("MAPPER_PUBLIC_URL", settings.public_url),
            )
            if not value
        ]
        if missing:
            raise SettingsError(
                f"MAPPER_EVE_CLIENT_ID is set, so the EVE login needs {' and '.join(missing)} "
                "too (the callback EVE sends people back to is MAPPER_PUBLIC_URL"
                f"{CALLBACK_PATH})"
            )
        if not settings.public_url.startswith(("https://", "http://")):
            raise SettingsError("MAPPER_PUBLIC_URL must start with https:// (or http://)")
        if settings.auth_issuer:
            raise SettingsError(
                "the EVE login signs people in with the service's own tokens: unset "
                "MAPPER_AUTH_ISSUER, or MAPPER_EVE_CLIENT_ID"
            )
        if settings.token_provider_url:
            raise SettingsError(
                "the EVE login keeps the EVE tokens itself: unset MAPPER_TOKEN_PROVIDER_URL, or "
                "MAPPER_EVE_CLIENT_ID"
            )
        admin_characters(settings.admins)
        return True

    async def start(self) -> None:
        await self.accounts.reload()
        self._tasks.spawn(self._affiliation_loop(), name="eve-affiliations")

    async def close(self) -> None:
        await self._tasks.close()
        await self.custody.aclose()
        await self.sso.aclose()  # the ESI client is the service's: it closes it

    async def search(self, user_id: str, query: str) -> list[Named]:
        """Characters, corporations and alliances by name: exact names from ESI, and any part
        of the names the service knows (its users' corporations and alliances among them)."""
        if not self._searches.allow(user_id):
            raise TooManySearches("too many searches; wait a few seconds")
        await self.lookup.names(self.accounts.group_ids())
        return await self.lookup.search(query)

    async def member_names(self, members: list[str]) -> dict[str, str]:
        """Names of chain members: a user's first character, and what ESI calls characters,
        corporations and alliances (`corp:` is ESI's "corporation")."""
        names = {}
        wanted: dict[int, str] = {}
        for member in members:
            kind, _, ident = member.partition(":")
            if kind == "user":
                name = self.accounts.name_of(ident)
                if name is not None:
                    names[member] = name
            elif ident.isdigit():
                wanted[int(ident)] = member
        for found in (await self.lookup.names(wanted)).values():
            member = wanted[found.id]
            if member == found.member:  # the id is of the kind the member key says
                names[member] = found.name
        return names

    async def _affiliation_loop(self) -> None:
        while True:
            await self._clock.sleep(self._every_s)
            self._searches.prune()
            try:
                await self.accounts.refresh_affiliations(self._connected_users())
            except Exception:
                log.exception("affiliation pass failed; the next one tries again")


def admin_characters(text: str) -> frozenset[int]:
    parts = [part for part in re.split(r"[\s,]+", text) if part]
    bad = [part for part in parts if not _ADMINS.fullmatch(part)]
    if bad:
        raise SettingsError(f"MAPPER_ADMINS must be EVE character ids, not {bad[:3]}")
    return frozenset(int(part) for part in parts)

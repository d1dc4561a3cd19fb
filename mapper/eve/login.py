"""A login with EVE from start to finish: OAuth 2 authorization code with PKCE (S256), and a
`state` bound to the browser that began it.

`begin` makes three random values: the `state` sent to EVE, the PKCE verifier, and a nonce for
the browser's cookie. The database keeps the login under the state's hash with the verifier and
the nonce's hash; `finish` takes it out (once: a replayed callback finds nothing) and checks
that the browser's cookie holds that nonce (a callback link planted in another browser fails)
and that it is recent. Only then is the code traded for tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from mapper.core.clock import Clock
from mapper.eve.accounts import Accounts
from mapper.eve.sso import EveSso, SsoError
from mapper.persistence.accounts import AccountStore

LOGIN_TTL_S = 600.0  # a login not finished in this long is refused
# Logins under way at once: far above real use (people sign in over minutes), low enough that
# a flood of login starts cannot grow the table without bound.
MOST_PENDING = 10_000
COOKIE = "mapper_eve_login"
CALLBACK_PATH = "/auth/eve/callback"
MAX_PARAM_CHARS = 2048


class LoginFailed(Exception):
    """The callback cannot sign anyone in; the message is safe to show."""


class TooManyLogins(Exception):
    """More logins are under way than the service keeps; try again in a few minutes."""


@dataclass(frozen=True, slots=True)
class Started:
    url: str  # EVE's authorize page, to send the browser to
    cookie: str  # the nonce the browser keeps until the callback


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class Login:
    def __init__(self, store: AccountStore, sso: EveSso, accounts: Accounts, clock: Clock) -> None:
        self._store = store
        self._sso = sso
        self._accounts = accounts
        self._clock = clock

    async def begin(self, link_user_id: str | None) -> Started:
        """A new login; with `link_user_id`, the character it signs in joins that user."""
        state = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        nonce = secrets.token_urlsafe(32)
        now_ms = int(self._clock.now() * 1000)
        kept = await self._store.begin_login(
            _hash(state),
            _hash(nonce),
            verifier,
            link_user_id,
            now=now_ms,
            forget_before=now_ms - int(LOGIN_TTL_S * 1000),
            most=MOST_PENDING,
        )
        if not kept:
            raise TooManyLogins("too many logins are under way; try again in a few minutes")
        return Started(self._sso.authorize_url(state, verifier), nonce)

    async def finish(self, state: str | None, code: str | None, cookie: str | None) -> str:
        """The service's token for the user the login signs in; raises `LoginFailed`."""
        if not state or not code or len(state) > MAX_PARAM_CHARS or len(code) > MAX_PARAM_CHARS:
            raise LoginFailed("the answer from EVE's login lacks its code or state")
        pending = await self._store.take_login(_hash(state))
        if pending is None:
            raise LoginFailed(
                "this login is unknown or was already used; start again from the sign-in button"
            )
        if not cookie or not hmac.compare_digest(pending.browser_hash, _hash(cookie)):
            raise LoginFailed("this login was started in another browser; start again here")
        if self._clock.now() * 1000 - pending.created_at > LOGIN_TTL_S * 1000:
            raise LoginFailed("this login took too long; start again")
        try:
            tokens = await self._sso.exchange(code, pending.verifier)
        except SsoError as error:
            raise LoginFailed(f"EVE's login did not complete: {error}") from None
        return await self._accounts.sign_in(tokens, pending.link_user_id)

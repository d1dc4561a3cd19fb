"""EVE's ESI API, read the way its rules ask: one pooled client, a User-Agent naming the app,
never a request before the last answer's `Expires`, `If-None-Match` with its `ETag`, and no
call at all while the error limit is low or a 420 or 429 asks us to wait.

`get` answers `Read` (fresh or unchanged) or raises an `EsiError` that says when to try again.
"""

from __future__ import annotations

import email.utils
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx

from mapper.core.clock import Clock
from mapper.core.logs import redact
from mapper.sync.bounded import TooLarge, get_bounded

log = logging.getLogger("mapper.sync.esi")

CONTACT = "https://github.com/mapper-eve/mapper"
# The ESI behaviour this client was written against (ESI versions routes by this header).
COMPATIBILITY_DATE = "2025-09-30"
ERROR_LIMIT_PAUSE_S = 60.0  # when ESI names no reset time
RATE_LIMIT_PAUSE_S = 60.0  # when a 429 names no Retry-After
LONGEST_CACHE_S = 3600.0  # an `Expires` further out than this is taken as a broken header
# The largest answer read: the universe-wide lists (system kills, jumps) are a few hundred KB.
MAX_ANSWER_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Read:
    """An answer: `fresh` when ESI sent a new body, else the body we already had."""

    body: Any
    fresh: bool
    expires_at: float


class EsiError(Exception):
    """ESI did not answer usefully; nothing is known to have changed. `retry_at` (epoch
    seconds) is when ESI allows the next try, None to back off as the caller sees fit."""

    def __init__(self, message: str, retry_at: float | None = None) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class TokenRefused(EsiError):
    """ESI refused the character's token (401/403): revoked, or missing a scope."""


@dataclass(slots=True)
class _Cached:
    etag: str | None
    body: Any
    expires_at: float


def user_agent(public_url: str = "") -> str:
    try:
        release = version("mapper")
    except PackageNotFoundError:
        release = "dev"
    return f"mapper/{release} (+{public_url or CONTACT})"


class EsiClient:
    def __init__(
        self,
        base_url: str,
        *,
        clock: Clock,
        timeout_s: float = 10.0,
        error_floor: int = 10,
        user_agent: str = user_agent(),
        on_answer: Callable[[int], None] | None = None,
    ) -> None:
        self._clock = clock
        self._on_answer = on_answer
        self._error_floor = error_floor
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            headers={
                "User-Agent": user_agent,
                "Accept": "application/json",
                "X-Compatibility-Date": COMPATIBILITY_DATE,
            },
        )
        self._cache: dict[str, _Cached] = {}
        self._paused_until = 0.0  # every call: error limit or 420
        self._limited_until: dict[int | None, float] = {}  # one character's routes: 429
        self.calls = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    async def get(
        self, path: str, token: str | None = None, character_id: int | None = None
    ) -> Read:
        """Read `path`: a character's route with its token, or a public one with neither."""
        now = self._clock.now()
        cached = self._cache.get(path)
        if cached is not None and now < cached.expires_at:
            return Read(cached.body, fresh=False, expires_at=cached.expires_at)
        pause = max(self._paused_until, self._limited_until.get(character_id, 0.0))
        if now < pause:
            raise EsiError("ESI asked us to wait", retry_at=pause)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if cached is not None and cached.etag:
            headers["If-None-Match"] = cached.etag
        self.calls += 1
        try:
            response, content = await get_bounded(
                self._http, path, headers=headers, max_bytes=MAX_ANSWER_BYTES
            )
        except TooLarge as error:
            self._answered(error.status)
            raise EsiError(f"ESI answered {path} with too much: {error}") from None
        except httpx.TimeoutException:
            self._answered(0)
            raise EsiError(f"ESI did not answer {path} in time") from None
        except httpx.TransportError as error:
            self._answered(0)
            # httpx may quote header values, the character's token among them.
            raise EsiError(
                f"ESI unreachable for {path}: {redact(str(error), [token or ''])}"
            ) from None
        self._answered(response.status_code)
        now = self._clock.now()
        self._watch_error_limit(response, now)
        status = response.status_code
        if status == 304 and cached is not None:
            cached.expires_at = _expires_at(response, now)
            return Read(cached.body, fresh=False, expires_at=cached.expires_at)
        if status == 200:
            try:
                body = json.loads(content)
            except (json.JSONDecodeError, UnicodeDecodeError):
                raise EsiError(f"ESI answered {path} with malformed JSON") from None
            expires_at = _expires_at(response, now)
            self._cache[path] = _Cached(response.headers.get("etag"), body, expires_at)
            return Read(body, fresh=True, expires_at=expires_at)
        if status in (401, 403):
            self._cache.pop(path, None)
            raise TokenRefused(f"ESI refused the token for {path} ({status})")
        if status == 420:
            self._paused_until = max(self._paused_until, now + _reset_s(response))
            log.warning("ESI error limit reached: no calls until the reset")
            raise EsiError("ESI error limit reached", retry_at=self._paused_until)
        if status == 429:
            until = now + _seconds(response.headers.get("retry-after"), RATE_LIMIT_PAUSE_S)
            self._limited_until[character_id] = until
            raise EsiError(f"ESI rate limit reached for {path}", retry_at=until)
        raise EsiError(f"ESI answered {path} with {status}")

    async def post(self, path: str, body: Any) -> Read:
        """A public POST route (names, ids, affiliation): no token, no ETag; its answer's
        `Expires` says how long it may be kept. 404 answers `Read(None, ...)`: ESI's way of
        saying that an id or a name is unknown."""
        now = self._clock.now()
        if now < self._paused_until:
            raise EsiError("ESI asked us to wait", retry_at=self._paused_until)
        self.calls += 1
        try:
            response = await self._http.post(path, json=body)
        except httpx.TimeoutException:
            self._answered(0)
            raise EsiError(f"ESI did not answer {path} in time") from None
        except httpx.TransportError as error:
            self._answered(0)
            raise EsiError(f"ESI unreachable for {path}: {redact(str(error))}") from None
        self._answered(response.status_code)
        now = self._clock.now()
        self._watch_error_limit(response, now)
        if response.status_code == 404:
            return Read(None, fresh=True, expires_at=now)
        if response.status_code != 200:
            if response.status_code == 420:
                self._paused_until = max(self._paused_until, now + _reset_s(response))
            raise EsiError(f"ESI answered {path} with {response.status_code}")
        try:
            answer = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise EsiError(f"ESI answered {path} with malformed JSON") from None
        return Read(answer, fresh=True, expires_at=_expires_at(response, now))

    def _answered(self, status: int) -> None:
        if self._on_answer is not None:
            self._on_answer(status)

    def _watch_error_limit(self, response: httpx.Response, now: float) -> None:
        remain = response.headers.get("x-esi-error-limit-remain")
        if remain is None or not remain.strip().isdigit():
            return
        if int(remain) < self._error_floor:
            until = now + _reset_s(response)
            if until > self._paused_until:
                self._paused_until = until
                log.warning(
                    "ESI error limit low (%s left): pausing all calls for %.0f s",
                    remain,
                    until - now,
                )


def _reset_s(response: httpx.Response) -> float:
    return _seconds(response.headers.get("x-esi-error-limit-reset"), ERROR_LIMIT_PAUSE_S)


def _seconds(value: str | None, default: float) -> float:
    try:
        seconds = float(value) if value is not None else default
    except ValueError:
        return default
    return min(max(seconds, 1.0), 3600.0)


def _expires_at(response: httpx.Response, now: float) -> float:
    """When the answer may be asked for again: `Expires` measured from ESI's own `Date`, so a
    skewed local clock neither hammers ESI nor starves us."""
    expires = http_date(response.headers.get("expires"))
    if expires is None:
        return now
    sent = http_date(response.headers.get("date"))
    lasts = expires - (sent if sent is not None else now)
    return now + min(max(lasts, 0.0), LONGEST_CACHE_S)


def http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None

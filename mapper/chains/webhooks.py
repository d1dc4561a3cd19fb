"""A chain's webhook: which URLs the service will call, how one shows, and the owner's use cases.

The URL is a secret (whoever holds it can post to the channel): it is stored, called, and
shown only masked; no log line and no audit entry carries it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from mapper.chains.access import ChainAccess
from mapper.chains.errors import NO_CHAIN, Invalid, NotFound, Unusable
from mapper.core import roles
from mapper.core.identity import Identity
from mapper.persistence.records import WebhookRecord
from mapper.persistence.store import Store, now_ms

EVENTS = ("connection", "hostile", "critical")
# Wormhole classes (contract section 8): C1-C6, high-, low-, null-sec, Thera, shattered,
# the Drifter systems, Pochven.
CLASSES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 25})
MAX_URL_CHARS = 512
DISCORD_HOSTS = ("discord.com", "discordapp.com")
DISCORD_PATH = "/api/webhooks/"
SLACK_HOST = "hooks.slack.com"
SLACK_PATH = "/services/"
MASK = "****"
URL_RULE = (
    "'url' must be a Discord webhook (https://discord.com/api/webhooks/...) "
    "or a Slack one (https://hooks.slack.com/services/...)"
)

# Called with a chain id once its webhook changed: the notifiers of every process reload it.
WebhookChanged = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class Webhook:
    """Where a chain's notices go and which ones it wants."""

    url: str
    platform: str  # "discord" or "slack": the payload's form
    classes: frozenset[int]
    events: frozenset[str]


def platform_of(url: object, allow_base: str = "") -> tuple[str, str]:
    """The URL and its platform if the service will call it; else Unusable. `allow_base`: a
    URL prefix also accepted (a local fake in tests), its platform read from the path."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_CHARS:
        raise Unusable(URL_RULE)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Unusable(URL_RULE) from None
    path = parts.path
    if allow_base and _under(parts, urlsplit(allow_base)):
        return url, "slack" if SLACK_PATH in path else "discord"
    if parts.scheme != "https" or port is not None or parts.username or parts.password:
        raise Unusable(URL_RULE)
    if parts.fragment or any(c.isspace() for c in url):
        raise Unusable(URL_RULE)
    host = parts.hostname or ""
    if host in DISCORD_HOSTS and _has_secret(path, DISCORD_PATH):
        return url, "discord"
    if host == SLACK_HOST and _has_secret(path, SLACK_PATH):
        return url, "slack"
    raise Unusable(URL_RULE)


def _under(parts: SplitResult, base: SplitResult) -> bool:
    """Whether the URL is under the base: same scheme, host and port, no user, path below."""
    return (
        (parts.scheme, parts.netloc) == (base.scheme, base.netloc)
        and not parts.fragment
        and parts.path.startswith(base.path)
    )


def _has_secret(path: str, prefix: str) -> bool:
    """The path is `prefix` then at least two non-empty parts (an id and the secret)."""
    if not path.startswith(prefix):
        return False
    parts = path[len(prefix) :].rstrip("/").split("/")
    return len(parts) >= 2 and all(parts)


def masked(url: str) -> str:
    """The URL with its secret (the last part of the path, and any query) hidden."""
    parts = urlsplit(url)
    head, _, _ = parts.path.rstrip("/").rpartition("/")
    return f"{parts.scheme}://{parts.netloc}{head}/{MASK}"


def webhook_of(record: WebhookRecord, allow_base: str = "") -> Webhook | None:
    """The stored webhook, None if the rules no longer accept its URL."""
    try:
        url, platform = platform_of(record.url, allow_base)
    except Unusable:
        return None
    return Webhook(url, platform, frozenset(record.classes), frozenset(record.events))


def webhook_json(record: WebhookRecord | None) -> dict[str, Any]:
    if record is None:
        return {"url": None, "classes": [], "events": []}
    return {
        "url": masked(record.url),
        "classes": sorted(record.classes),
        "events": [event for event in EVENTS if event in record.events],
        "updatedAt": record.updated_at,
        "updatedBy": record.updated_by,
    }


class ChainWebhooks:
    """The owner's use cases: see, set and clear a chain's webhook."""

    def __init__(
        self, store: Store, access: ChainAccess, changed: WebhookChanged, allow_base: str = ""
    ) -> None:
        self._store = store
        self._access = access
        self._changed = changed
        self._allow_base = allow_base

    async def get(self, identity: Identity, chain_id: str) -> WebhookRecord | None:
        await self._access.authorize(identity, chain_id, roles.OWNER)
        found = await self._store.webhooks(chain_id)
        return found[0] if found else None

    async def set(self, identity: Identity, chain_id: str, body: dict[str, Any]) -> WebhookRecord:
        await self._access.authorize(identity, chain_id, roles.OWNER)
        url, _ = platform_of(body.get("url"), self._allow_base)
        record = WebhookRecord(
            chain_id,
            url,
            _classes(body.get("classes", [])),
            _events(body.get("events", list(EVENTS))),
            now_ms(),
            identity.user_id,
        )
        if not await self._store.set_webhook(record):
            raise NotFound(NO_CHAIN)
        await self._changed(chain_id)
        return record

    async def clear(self, identity: Identity, chain_id: str) -> None:
        await self._access.authorize(identity, chain_id, roles.OWNER)
        if await self._store.delete_webhook(chain_id, actor=identity.user_id):
            await self._changed(chain_id)


def _classes(value: object) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        type(item) is int and item in CLASSES for item in value
    ):
        known = ", ".join(str(c) for c in sorted(CLASSES))
        raise Invalid(f"'classes' must be a list of wormhole classes ({known})")
    return tuple(sorted(set(value)))


def _events(value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(
        isinstance(item, str) and item in EVENTS for item in value
    ):
        raise Invalid(f"'events' must be a list of {', '.join(EVENTS)}")
    return tuple(event for event in EVENTS if event in value)

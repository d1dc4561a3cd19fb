"""Notices of a chain's events to its Discord or Slack webhook: a new connection to a system of
a class the owner picked, a system set hostile, a hole gone critical.

Off the rooms' hot path:
- A room calls `changed(room, local)` after every change: for a chain without a webhook that
  is one dict lookup.
- The open room of a chain with a webhook has a `Watch`: native observers of `systems` and
  `connections` note which entries a change touched (keys only, nothing is read).
- A change made in this process (another process notifies its own) puts the watch on a
  bounded queue, once per round. The worker waits `delay_s` so that quick edits come as one
  message, and at least `interval_s` after the chain's last message; then it reads the touched
  entries, compares them with what it knew (so a schema correction in between or an edit of
  nothing relevant sends nothing), and posts one message, with bounded retries.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
from pycrdt import Array, Doc, Map, Subscription

# Native observers, as the schema guard's: pycrdt's own wrappers convert every event first.
from pycrdt._pycrdt import MapEvent as NativeMapEvent

from mapper.chains.schema import connection_identity, system_identity
from mapper.chains.webhooks import Webhook, webhook_of
from mapper.core.clock import Clock
from mapper.core.tasks import Tasks
from mapper.persistence.store import Store
from mapper.rooms.room import Room
from mapper.universe.index import Universe, UniverseIndex, display_security

log = logging.getLogger("mapper.notifier")

QUEUE_SIZE = 1024
ATTEMPTS = 3
RETRY_S = 2.0
RETRY_AFTER_MAX_S = 30.0
TIMEOUT_S = 10.0
MAX_LINES = 20
MAX_CHARS = 1900  # Discord takes 2,000 characters of content
CRITICAL_BELOW = 0.1  # EVE: "critical" below a tenth of the maximum mass (web/src/wormholes.ts)
WSPACE_FIRST_ID = 31_000_000
CLASS_LABELS = {7: "high-sec", 8: "low-sec", 9: "null-sec", 12: "Thera", 13: "shattered"}
CLASS_LABELS |= {
    14 + index: f"Drifter ({name})"
    for index, name in enumerate(("Sentinel", "Barbican", "Vidette", "Conflux", "Redoubt"))
}
CLASS_LABELS[25] = "Pochven"

# The open room of a chain, or None.
OpenRoom = Callable[[str], Room | None]


def system_class(index: UniverseIndex, system_id: int) -> int | None:
    """A system's class (contract section 8); known space by its security as EVE shows it."""
    system = index.systems.get(system_id)
    if system is None:
        return None
    found: int | None = system["wormholeClass"]
    if system_id < WSPACE_FIRST_ID and found in (None, 7, 8, 9):
        shown = display_security(system["security"])
        return 7 if shown >= 0.5 else 8 if shown > 0.0 else 9
    return found


def class_label(wormhole_class: int | None) -> str:
    if wormhole_class is None:
        return "?"
    if 1 <= wormhole_class <= 6:
        return f"C{wormhole_class}"
    return CLASS_LABELS.get(wormhole_class, f"class {wormhole_class}")


def system_text(index: UniverseIndex, system_id: int) -> str:
    system = index.systems.get(system_id)
    name = system["name"] if system is not None else str(system_id)
    return f"{name} ({class_label(system_class(index, system_id))})"


def max_mass(index: UniverseIndex, code: object) -> float | None:
    """The maximum mass of a wormhole type by code; None for K162 or an unknown code."""
    if not isinstance(code, str) or code in ("", "K162"):
        return None
    for wormhole in index.wormholes:
        if wormhole["code"] == code and wormhole["maxMass"]:
            return float(wormhole["maxMass"])
    return None


def is_critical(connection: dict[str, Any], index: UniverseIndex) -> bool:
    """Set critical, or its jumps' mass past nine tenths of its type's maximum."""
    if connection.get("mass") == "critical":
        return True
    most = max_mass(index, connection.get("whType"))
    jumps = connection.get("jumps")
    if most is None or not isinstance(jumps, list):
        return False
    passed = sum(
        jump["mass"]
        for jump in jumps
        if isinstance(jump, dict)
        and isinstance(jump.get("mass"), int | float)
        and not isinstance(jump.get("mass"), bool)
        and jump["mass"] > 0
    )
    return most - passed < most * CRITICAL_BELOW


def _plain(value: Any) -> Any:
    """A Y.Map or Y.Array entry as plain values."""
    if isinstance(value, Map | Array):
        return value.to_py()
    return value


@dataclass(eq=False)
class Watch:
    """What the notifier knows of one open chain: the facts already told, what changed since."""

    chain_id: str
    doc: Doc
    webhook: Webhook
    connections: set[str] = field(default_factory=set)
    hostile: set[str] = field(default_factory=set)
    critical: set[str] = field(default_factory=set)
    noted_systems: set[str] = field(default_factory=set)  # by the observers, this change
    noted_connections: set[str] = field(default_factory=set)
    touched_systems: set[str] = field(default_factory=set)  # by local changes, this round
    touched_connections: set[str] = field(default_factory=set)
    queued: bool = False
    subscriptions: list[Subscription] = field(default_factory=list)

    def start(self, index: UniverseIndex) -> None:
        """Take the document as it is as told, and watch what changes."""
        systems = self.doc.get("systems", type=Map)
        connections = self.doc.get("connections", type=Map)
        for key, system in systems.items():
            if isinstance(system, Map) and system.get("status") == "hostile":
                self.hostile.add(key)
        for key, connection in connections.items():
            self.connections.add(key)
            if isinstance(connection, Map) and is_critical(_plain(connection), index):
                self.critical.add(key)
        self.subscriptions = [
            systems.integrated.observe_deep(partial(self._on_events, self.noted_systems, True)),
            connections.integrated.observe_deep(
                partial(self._on_events, self.noted_connections, False)
            ),
        ]

    def stop(self) -> None:
        for subscription in self.subscriptions:
            subscription.drop()
        self.subscriptions = []

    def _on_events(self, noted: set[str], status_only: bool, events: list[Any]) -> None:
        try:
            for event in events:
                path = event.path
                if not path:
                    noted.update(event.keys)
                elif not status_only or (
                    len(path) == 1 and isinstance(event, NativeMapEvent) and "status" in event.keys
                ):
                    noted.add(str(path[0]))
        except Exception as error:
            # Raised when the transaction ends, as pycrdt's own wrapper does (see the guard).
            self.doc._exceptions.append(error)

    def settle(self, local: bool) -> bool:
        """After a change: keep what a local change touched; True if there is news to check."""
        if local:
            self.touched_systems |= self.noted_systems
            self.touched_connections |= self.noted_connections
        self.noted_systems.clear()
        self.noted_connections.clear()
        return bool(self.touched_systems or self.touched_connections)

    def notices(self, index: UniverseIndex) -> list[str]:
        """What the touched entries tell that was not told yet, one line each."""
        systems = self.doc.get("systems", type=Map)
        connections = self.doc.get("connections", type=Map)
        lines: list[str] = []
        touched_systems, self.touched_systems = self.touched_systems, set()
        touched_connections, self.touched_connections = self.touched_connections, set()
        for key in sorted(touched_systems):
            system = systems.get(key)
            identity = system_identity(key)
            if not isinstance(system, Map) or system.get("status") != "hostile" or not identity:
                self.hostile.discard(key)
            elif key not in self.hostile:
                self.hostile.add(key)
                if "hostile" in self.webhook.events:
                    lines.append(f"Hostile: {system_text(index, int(identity['id']))}")
        for key in sorted(touched_connections):
            entry = connections.get(key)
            identity = connection_identity(key)
            if not isinstance(entry, Map) or identity is None:
                self.connections.discard(key)
                self.critical.discard(key)
                continue
            connection = _plain(entry)
            a, b = int(identity["a"]), int(identity["b"])
            ends = f"{system_text(index, a)} - {system_text(index, b)}"
            if key not in self.connections:
                self.connections.add(key)
                classes = {system_class(index, a), system_class(index, b)}
                if "connection" in self.webhook.events and classes & self.webhook.classes:
                    lines.append(f"New connection: {ends}")
            if not is_critical(connection, index):
                self.critical.discard(key)
            elif key not in self.critical:
                self.critical.add(key)
                if "critical" in self.webhook.events:
                    code = connection.get("whType")
                    kind = f" ({code})" if isinstance(code, str) and code else ""
                    lines.append(f"Critical mass: {ends}{kind}")
        return lines


def message(chain_name: str, lines: list[str]) -> str:
    shown = lines[:MAX_LINES]
    if len(lines) > MAX_LINES:
        shown.append(f"... and {len(lines) - MAX_LINES} more")
    text = "\n".join([f"Chain {chain_name}:", *shown])
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 3] + "..."


def payload(platform: str, text: str) -> dict[str, Any]:
    if platform == "slack":
        # Slack reads <...> as links and mentions: a chain name may hold any text.
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return {"text": escaped}
    # No @everyone, @here, role or user mention from a chain's name.
    return {"content": text, "allowed_mentions": {"parse": []}}


class Notifier:
    def __init__(
        self,
        store: Store,
        universe: Universe,
        open_room: OpenRoom,
        *,
        clock: Clock,
        tasks: Tasks,
        allow_base: str = "",
        delay_s: float = 2.0,
        interval_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._store = store
        self._universe = universe
        self._open_room = open_room
        self._clock = clock
        self._tasks = tasks
        self._allow_base = allow_base
        self._delay_s = delay_s
        self._interval_s = interval_s
        self._webhooks: dict[str, Webhook] = {}
        self._watches: dict[str, Watch] = {}
        self._last_sent: dict[str, float] = {}
        self._queue: asyncio.Queue[Watch] = asyncio.Queue(QUEUE_SIZE)
        self._index = UniverseIndex()
        # Never a redirect: the URL was checked, where it would lead was not.
        self._http = httpx.AsyncClient(
            timeout=TIMEOUT_S, follow_redirects=False, transport=transport
        )

    async def start(self) -> None:
        for record in await self._store.webhooks():
            webhook = webhook_of(record, self._allow_base)
            if webhook is not None:
                self._webhooks[record.chain_id] = webhook
        # Static data only when a chain needs it: loading it here for nothing would also hold
        # this index until the universe's next recheck, past an import made just after start.
        if self._webhooks:
            self._index = await self._universe.index()
        self._tasks.spawn(self._run(), name="notifier")

    async def close(self) -> None:
        for watch in self._watches.values():
            watch.stop()
        self._watches.clear()
        await self._http.aclose()

    # Room hooks

    def opened(self, room: Room) -> None:
        webhook = self._webhooks.get(room.key)
        if webhook is not None:
            self._watch(room, webhook)

    def changed(self, room: Room, local: bool) -> None:
        watch = self._watches.get(room.key)
        if watch is None or not watch.settle(local) or watch.queued:
            return
        try:
            self._queue.put_nowait(watch)
        except asyncio.QueueFull:
            log.warning("chain %s: notice queue full; it waits for the next change", room.key)
            return
        watch.queued = True

    def unloaded(self, key: str) -> None:
        watch = self._watches.pop(key, None)
        if watch is not None:
            watch.stop()

    # Configuration

    async def reload(self, chain_id: str) -> None:
        """Read the chain's webhook again (it was set or cleared, here or in another process)."""
        records = await self._store.webhooks(chain_id)
        webhook = webhook_of(records[0], self._allow_base) if records else None
        self.forget(chain_id)
        if webhook is None:
            return
        self._webhooks[chain_id] = webhook
        self._index = await self._universe.index()
        room = self._open_room(chain_id)
        if room is not None:
            self._watch(room, webhook)

    def forget(self, chain_id: str) -> None:
        self._webhooks.pop(chain_id, None)
        self.unloaded(chain_id)

    def _watch(self, room: Room, webhook: Webhook) -> None:
        self.unloaded(room.key)
        watch = Watch(room.key, room.doc, webhook)
        watch.start(self._index)
        self._watches[room.key] = watch
        log.debug("chain %s: watched for its webhook", room.key)

    # Delivery

    async def _run(self) -> None:
        while True:
            watch = await self._queue.get()
            # At most one delivery per chain is waiting: the watch stays queued until it reads.
            self._tasks.spawn(self._deliver(watch), name=f"notify {watch.chain_id}")

    async def _deliver(self, watch: Watch) -> None:
        chain_id = watch.chain_id
        since = self._clock.monotonic() - self._last_sent.get(chain_id, -self._interval_s)
        await self._clock.sleep(max(self._delay_s, self._interval_s - since))
        try:
            self._index = await self._universe.index()
        finally:
            watch.queued = False  # the next change queues it again
        lines = watch.notices(self._index)
        if not lines or self._webhooks.get(chain_id) is not watch.webhook:
            return
        self._last_sent[chain_id] = self._clock.monotonic()
        name = watch.doc.get("meta", type=Map).get("name")
        text = message(name if isinstance(name, str) and name else chain_id, lines)
        await self._post(chain_id, watch.webhook, payload(watch.webhook.platform, text))

    async def _post(self, chain_id: str, webhook: Webhook, body: dict[str, Any]) -> None:
        """Post with bounded retries; log lines name the chain and the answer, never the URL."""
        for attempt in range(1, ATTEMPTS + 1):
            wait = RETRY_S * attempt
            try:
                answer = await self._http.post(webhook.url, json=body)
            except httpx.HTTPError as error:
                log.warning("chain %s: webhook not reached (%s)", chain_id, type(error).__name__)
            else:
                if answer.is_success:
                    return
                log.warning("chain %s: webhook answered %d", chain_id, answer.status_code)
                if answer.status_code == 429:
                    wait = _retry_after(answer)
                elif answer.status_code < 500:
                    return  # refused for good (removed, wrong): retrying would not help
            if attempt < ATTEMPTS:
                await self._clock.sleep(wait)
        log.warning("chain %s: notice dropped after %d attempts", chain_id, ATTEMPTS)


def _retry_after(answer: httpx.Response) -> float:
    """How long a 429 asks to wait (header or Discord's `retry_after`), within bounds."""
    raw: object = answer.headers.get("retry-after")
    if raw is None:
        try:
            raw = answer.json().get("retry_after")
        except (ValueError, AttributeError):
            raw = None
    try:
        seconds = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        seconds = RETRY_S
    return min(max(seconds, 0.0), RETRY_AFTER_MAX_S)

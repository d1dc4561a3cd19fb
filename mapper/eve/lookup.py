"""EVE's public facts from ESI, cached: names of characters, corporations and alliances, a
search by name, and characters' corporations and alliances (affiliation).

ESI has no public search by part of a name any more (`/search/` is gone; the authenticated
`/characters/{id}/search/` needs a scope the service does not ask for). So a search combines
`POST /universe/ids/` (exact names, any character, corporation or alliance in EVE) with the
names this service already knows (its users' characters, their corporations and alliances,
members of its chains) matched by any part: an owner finds the people they work with as they
type, and anyone else by full name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from mapper.core.clock import Clock
from mapper.persistence.accounts import Affiliation
from mapper.sync.esi import EsiClient, EsiError

log = logging.getLogger("mapper.eve.lookup")

K = TypeVar("K")
V = TypeVar("V")

KINDS = ("character", "corporation", "alliance")
MEMBER_KIND = {"character": "character", "corporation": "corp", "alliance": "alliance"}
NAMES_KEEP_S = 24 * 3600.0
SEARCH_KEEP_S = 3600.0
AFFILIATION_KEEP_S = 3600.0  # at least hourly, whatever ESI's cache headers say
MAX_CACHED = 20_000
BATCH = 1000  # ids ESI takes in one names or affiliation call
MIN_QUERY = 3
MAX_QUERY = 100
MAX_RESULTS = 50


@dataclass(frozen=True, slots=True)
class Named:
    kind: str  # character | corporation | alliance
    id: int
    name: str

    @property
    def member(self) -> str:
        return f"{MEMBER_KIND[self.kind]}:{self.id}"


class EveLookup:
    def __init__(self, esi: EsiClient, clock: Clock) -> None:
        self._esi = esi
        self._clock = clock
        self._names: dict[int, tuple[Named, float]] = {}
        self._exact: dict[str, tuple[list[Named], float]] = {}  # ESI's answers by name

    def learn(self, named: Iterable[Named]) -> None:
        """Names the service was told (a login names its character)."""
        until = self._clock.now() + NAMES_KEEP_S
        for entry in named:
            _keep(self._names, entry.id, (entry, until))

    async def names(self, ids: Iterable[int]) -> dict[int, Named]:
        """What ESI calls these ids; ids it does not know (or cannot say now) are left out."""
        now = self._clock.now()
        wanted = set(ids)
        found = {i: held[0] for i in wanted if (held := self._names.get(i)) and held[1] > now}
        missing = sorted(wanted - found.keys())
        for start in range(0, len(missing), BATCH):
            for entry in await self._ask_names(missing[start : start + BATCH]):
                found[entry.id] = entry
        return found

    async def search(self, query: str) -> list[Named]:
        """Characters, corporations and alliances named `query` exactly (from ESI), then those
        the service knows whose name holds it."""
        key = query.strip().casefold()
        now = self._clock.now()
        held = self._exact.get(key)
        if held is not None and held[1] > now:
            exact = held[0]
        else:
            asked = await self._ask_ids(query.strip())
            exact = asked or []
            if asked is not None:  # a failure is not kept: the next search asks again
                self.learn(asked)
                _keep(self._exact, key, (asked, now + SEARCH_KEEP_S))
        seen = {entry.id for entry in exact}
        known = sorted(
            (
                entry
                for entry, until in self._names.values()
                if until > now and key in entry.name.casefold() and entry.id not in seen
            ),
            key=lambda entry: (KINDS.index(entry.kind), entry.name.casefold()),
        )
        return (exact + known)[:MAX_RESULTS]

    async def affiliations(self, character_ids: Iterable[int]) -> list[Affiliation]:
        """Each character's corporation and alliance, kept until ESI's `Expires` (at most an
        hour); raises `EsiError` when ESI cannot say now."""
        ids = sorted(set(character_ids))
        found = []
        for start in range(0, len(ids), BATCH):
            answer = await self._esi.post("/characters/affiliation/", ids[start : start + BATCH])
            now = self._clock.now()
            until = int(min(max(answer.expires_at, now + 1), now + AFFILIATION_KEEP_S) * 1000)
            for entry in answer.body if isinstance(answer.body, list) else []:
                item = _affiliation(entry, until)
                if item is not None:
                    found.append(item)
        return found

    async def _ask_names(self, ids: list[int]) -> list[Named]:
        try:
            answer = await self._esi.post("/universe/names/", ids)
        except EsiError as error:
            log.info("names of %d id(s) not known now: %s", len(ids), error)
            return []
        if answer.body is None and len(ids) > 1:
            # ESI refuses the whole list for one unknown id: ask in halves to find it.
            middle = len(ids) // 2
            return await self._ask_names(ids[:middle]) + await self._ask_names(ids[middle:])
        listed = answer.body if isinstance(answer.body, list) else []
        entries = [
            Named(entry["category"], entry["id"], entry["name"])
            for entry in listed
            if _is_named(entry)
        ]
        self.learn(entries)
        return entries

    async def _ask_ids(self, name: str) -> list[Named] | None:
        try:
            answer = await self._esi.post("/universe/ids/", [name])
        except EsiError as error:
            log.info("search by exact name failed: %s", error)
            return None
        body = answer.body if isinstance(answer.body, dict) else {}
        found = []
        for kind in KINDS:
            for entry in body.get(kind + "s") or []:
                if _is_named({**entry, "category": kind} if isinstance(entry, dict) else None):
                    found.append(Named(kind, entry["id"], entry["name"]))
        return found


def _keep(cache: dict[K, V], key: K, value: V) -> None:
    """Put `value` in a cache bounded to MAX_CACHED entries, dropping the oldest first."""
    cache.pop(key, None)
    cache[key] = value
    while len(cache) > MAX_CACHED:
        cache.pop(next(iter(cache)))


def _is_named(entry: object) -> bool:
    return (
        isinstance(entry, dict)
        and entry.get("category") in KINDS
        and isinstance(entry.get("id"), int)
        and not isinstance(entry.get("id"), bool)
        and 0 < entry["id"] < 2**63
        and isinstance(entry.get("name"), str)
        and 0 < len(entry["name"]) <= 100
    )


def _affiliation(entry: object, until: int) -> Affiliation | None:
    if not isinstance(entry, dict):
        return None
    values = [entry.get("character_id"), entry.get("corporation_id"), entry.get("alliance_id")]
    if values[2] is None:
        values[2] = 0  # checked with the others below, then put back
    if not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**63 for v in values):
        return None
    character_id, corporation_id, alliance_id = values
    if not character_id or not corporation_id:
        return None
    return Affiliation(character_id, corporation_id, alliance_id or None, until)

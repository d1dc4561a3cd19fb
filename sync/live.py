"""Applying what ESI said: to the character status projection in SQL, to the user's live
document (`/ws/users/me`), to the `pilots` of chain awareness, and, for a jump, to the chains
the pilot has open.

A jump between two known-space systems that stargates do not explain is not written to any
chain: it goes to the user's live document as an offer (`offers`, keyed `"{from}>{to}"`, at
most `MAX_OFFERS`, the oldest dropped), and the user's page asks them to confirm it as a
wormhole or a bridge, which it then writes as an ordinary edit.

Only what changed is written, and only there: an unchanged answer writes nothing and wakes
nobody. The live documents are rebuilt from the projection whenever a room loads.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from pycrdt import Doc, Map

from mapper.persistence.sync_store import Character, SyncStore
from mapper.presence.tracker import PresenceTracker
from mapper.sync.jumps import (
    OFFER,
    Sighting,
    gate_jumps_possible,
    holds_connection,
    jump_kind,
    map_jump,
    passage,
)
from mapper.sync.tokens import Grant

log = logging.getLogger("mapper.sync")

USER_ROOM_PREFIX = "user:"
MAX_OFFERS = 20  # moves waiting in a user's live document for them to confirm

# Projection columns -> fields of a character in the user's live document.
LIVE_FIELDS = {"online": "online", "system_id": "systemId", "ship_type_id": "shipTypeId"}


def user_room_key(user_id: str) -> str:
    return USER_ROOM_PREFIX + user_id


class LiveDocument(Protocol):
    """A live document the engine writes to; the rooms implement it."""

    # The document itself, to read (writes go through `edit`).
    doc: Doc

    def edit(self, change: Callable[[Doc], None]) -> None:
        """Change the document as the service: stored, broadcast, held to its rules."""
        ...

    def set_service_state(self, state: dict[str, Any] | None) -> None:
        """Publish (None: withdraw) the service's own awareness state in the room."""
        ...


class LiveDocuments(Protocol):
    def get(self, key: str) -> LiveDocument | None:
        """The document if its room is loaded here; nobody watches the others."""
        ...


class StarMap(Protocol):
    async def gate_jumps(self, a: int, b: int, limit: int) -> int | None:
        """Stargate jumps from `a` to `b`, or None when more than `limit`."""
        ...

    async def ship_mass(self, type_id: int) -> float | None:
        """A ship type's mass in kg, when static data knows it."""
        ...


class LiveStatus:
    def __init__(
        self,
        store: SyncStore,
        rooms: LiveDocuments,
        tracker: PresenceTracker,
        star_map: StarMap,
        *,
        jump_gap_s: float,
    ) -> None:
        self._store = store
        self._rooms = rooms
        self._tracker = tracker
        self._star_map = star_map
        self._jump_gap_s = jump_gap_s
        self._characters: dict[int, Character] = {}
        self._by_user: dict[str, set[int]] = {}
        self._sightings: dict[int, Sighting] = {}
        self._pilots: dict[str, _Published] = {}
        # One per user seen: a run (change in memory, then save) and a load of the user's
        # characters take turns. Else a user who left and came back while a run saved would be
        # loaded from a store that lacks what the run learned, the run's memory being dropped.
        self._turns: dict[str, asyncio.Lock] = {}
        self.live_writes = 0  # changes written to live documents and awareness, for tests

    async def load_user(self, user_id: str) -> None:
        """Hold the user's characters' last known status (once, when they become present);
        after the user's run in progress, if any, has saved what it learned."""
        async with self._turn(user_id):
            await self._load_user(user_id)

    def _turn(self, user_id: str) -> asyncio.Lock:
        return self._turns.setdefault(user_id, asyncio.Lock())

    async def _load_user(self, user_id: str) -> None:
        if user_id in self._by_user:
            return
        characters = await self._store.characters([user_id])
        self._by_user[user_id] = {c.character_id for c in characters}
        for character in characters:
            self._characters[character.character_id] = character

    def unload_user(self, user_id: str) -> None:
        for character_id in self._by_user.pop(user_id, ()):
            self._characters.pop(character_id, None)
            self._sightings.pop(character_id, None)

    async def user_document(self, room_key: str) -> list[bytes]:
        """The user's live document, rebuilt from the projection (the room's `load` hook)."""
        characters = await self._store.characters([room_key.removeprefix(USER_ROOM_PREFIX)])
        doc = Doc()
        entries = doc.get("characters", type=Map)
        with doc.transaction():
            for character in characters:
                entries[str(character.character_id)] = Map(_live_fields(character))
        return [doc.get_update()]

    async def apply(
        self,
        user_id: str,
        grants: Iterable[Grant],
        answers: Mapping[int, dict[str, Any] | None],
        refused: Iterable[int],
        at: float,
        *,
        located: bool = False,
    ) -> None:
        """Take one run's results: `answers` maps each character read to its fresh fields
        (None when ESI had nothing new); `refused` characters lost their token. `located`:
        the answers say where the characters are, so jumps may be mapped from them."""
        async with self._turn(user_id):
            await self._take(user_id, grants, answers, set(refused), at)
        if located:
            await self._map_jumps(user_id, answers, at)

    async def _take(
        self,
        user_id: str,
        grants: Iterable[Grant],
        answers: Mapping[int, dict[str, Any] | None],
        refused: set[int],
        at: float,
    ) -> None:
        """Change the user's characters in memory, save them, and write what changed live."""
        changes: dict[int, dict[str, Any]] = {}
        await self._load_user(user_id)  # the user may have left and come back meanwhile
        owned = self._by_user[user_id]
        for grant in grants:
            known = self._characters.get(grant.character_id)
            wanted: dict[str, Any] = {
                "user_id": user_id,
                "name": grant.name,
                "tracked": grant.access_token is not None and grant.character_id not in refused,
                **(answers.get(grant.character_id) or {}),
            }
            if known is None:
                known = Character(grant.character_id, user_id, grant.name, True, *[None] * 4)
                changed = wanted
            else:
                changed = {k: v for k, v in wanted.items() if getattr(known, k) != v}
            if changed.get("tracked") is False:
                log.warning(
                    "character %s of user %s is no longer tracked", grant.character_id, user_id
                )
            if changed:
                changes[grant.character_id] = changed
                self._characters[grant.character_id] = dataclasses.replace(known, **changed)
            owned.add(grant.character_id)
        unlinked = owned - {grant.character_id for grant in grants}
        if unlinked:
            log.info("user %s no longer has character(s) %s", user_id, sorted(unlinked))
            await self._store.delete_characters(user_id, unlinked)
            owned -= unlinked
            for character_id in unlinked:
                self._characters.pop(character_id, None)
                self._sightings.pop(character_id, None)
        # What the document gets, read before the awaits below: the user may go cold meanwhile,
        # and unload_user drops their characters from memory.
        records = {character_id: self._characters[character_id] for character_id in changes}
        if changes:
            await self._store.save_characters(changes, int(at * 1000))
        if changes or unlinked:
            self._write_user_document(user_id, changes, records, unlinked)
            pilot_fields = ("online", "system_id", "tracked")
            if unlinked or any(k in f for f in changes.values() for k in pilot_fields):
                self.refresh_pilots(user_id)

    def refresh_pilots(self, user_id: str) -> None:
        """Republish `pilots` in the chain rooms the user is in, or just left."""
        rooms = self._tracker.connected_chain_rooms(user_id)
        rooms.update(key for key, published in self._pilots.items() if user_id in published.users)
        for room_key in rooms:
            self._publish_pilots(room_key)

    def _publish_pilots(self, room_key: str) -> None:
        room = self._rooms.get(room_key)
        if room is None:
            self._pilots.pop(room_key, None)
            return
        users = self._tracker.users_in(room_key)
        pilots = [
            {
                "characterId": character.character_id,
                "userId": user_id,
                "systemId": character.system_id,
                "online": bool(character.online),
            }
            for user_id in users
            for character_id in sorted(self._by_user.get(user_id, ()))
            if (character := self._characters.get(character_id)) is not None and character.tracked
        ]
        published = self._pilots.get(room_key)
        # A room loaded anew has published nothing yet, whatever its predecessor had.
        if published is not None and published.room is room and published.pilots == pilots:
            return
        self._pilots[room_key] = _Published(room, pilots, set(users))
        room.set_service_state({"pilots": pilots} if pilots else None)
        self.live_writes += 1

    def _write_user_document(
        self,
        user_id: str,
        changes: Mapping[int, Mapping[str, Any]],
        records: Mapping[int, Character],
        unlinked: Iterable[int] = (),
    ) -> None:
        room = self._rooms.get(user_room_key(user_id))
        if room is None:
            return
        unlinked = [str(character_id) for character_id in unlinked]
        live = {
            character_id: {LIVE_FIELDS[k]: v for k, v in fields.items() if k in LIVE_FIELDS}
            for character_id, fields in changes.items()
        }
        live = {character_id: fields for character_id, fields in live.items() if fields}
        if not live and not unlinked:
            return

        def write(doc: Doc) -> None:
            entries = doc.get("characters", type=Map)
            with doc.transaction():
                for key in unlinked:
                    if key in entries:
                        del entries[key]
                for character_id, fields in live.items():
                    entry = entries.get(str(character_id))
                    if isinstance(entry, Map):
                        for name, value in fields.items():
                            entry[name] = value
                    else:
                        entries[str(character_id)] = Map(_live_fields(records[character_id]))

        room.edit(write)
        self.live_writes += 1

    async def _map_jumps(self, user_id: str, located: Iterable[int], at: float) -> None:
        for character_id in located:
            character = self._characters.get(character_id)
            if character is None or character.system_id is None:
                continue
            after = Sighting(
                character.system_id, bool(character.docked), character.ship_type_id, at
            )
            before = self._sightings.get(character_id)
            self._sightings[character_id] = after
            if before is None or before.system_id == after.system_id:
                continue
            gates = await self._star_map.gate_jumps(
                before.system_id, after.system_id, gate_jumps_possible(at - before.at)
            )
            kind = jump_kind(before, after, gap_s=self._jump_gap_s, gate_jumps=gates)
            if kind is None:
                log.info(
                    "character %s moved %s -> %s: not mapped as a jump",
                    character_id,
                    before.system_id,
                    after.system_id,
                )
                continue
            ship_type = after.ship_type_id
            mass = await self._star_map.ship_mass(ship_type) if ship_type is not None else None
            ship = passage(int(at * 1000), character_id, ship_type, mass)
            rooms = {
                room_key: room
                for room_key, can_edit in self._tracker.chain_rooms(user_id).items()
                if can_edit and (room := self._rooms.get(room_key)) is not None
            }
            origin, target = before.system_id, after.system_id
            for room_key, room in rooms.items():
                self._map_jump(room_key, room, origin, target, kind, user_id, ship)
            if kind == OFFER and _offer_wanted(rooms.values(), origin, target):
                self._offer(user_id, origin, target, ship)

    def _map_jump(
        self,
        room_key: str,
        room: LiveDocument,
        origin: int,
        target: int,
        kind: str,
        user_id: str,
        ship: dict[str, Any],
    ) -> None:
        mapped: list[bool] = []

        def write(doc: Doc) -> None:
            mapped.append(map_jump(doc, origin, target, kind, user_id, ship["at"], ship))

        room.edit(write)
        if any(mapped):
            self.live_writes += 1
            log.info("chain %s: mapped a %s jump %s -> %s", room_key, kind, origin, target)

    def _offer(self, user_id: str, origin: int, target: int, ship: dict[str, Any]) -> None:
        """Ask the user, through their live document, whether the move was a wormhole or a
        bridge."""
        room = self._rooms.get(user_room_key(user_id))
        if room is None:
            return
        offer = {"from": origin, "to": target, **ship}

        def write(doc: Doc) -> None:
            offers = doc.get("offers", type=Map)
            with doc.transaction():
                offers[f"{origin}>{target}"] = offer
                by_age = sorted(offers.items(), key=lambda item: _offer_at(item[1]))
                for key, _ in by_age[: max(0, len(by_age) - MAX_OFFERS)]:
                    del offers[key]

        room.edit(write)
        self.live_writes += 1
        log.info("offered user %s the move %s -> %s to confirm", user_id, origin, target)


def _offer_wanted(rooms: Iterable[LiveDocument], origin: int, target: int) -> bool:
    """A move is worth offering when a chain the user has open holds one of its systems, and
    none has a connection that explains it already."""
    docs = [room.doc for room in rooms]
    if any(holds_connection(doc, origin, target) for doc in docs):
        return False
    return any(
        str(origin) in systems or str(target) in systems
        for systems in (doc.get("systems", type=Map) for doc in docs)
    )


def _offer_at(offer: object) -> float:
    at = offer.get("at") if isinstance(offer, dict) else None
    return at if isinstance(at, int | float) else 0.0


@dataclasses.dataclass(slots=True)
class _Published:
    """What the service last published as `pilots` in a room (and to which room object)."""

    room: LiveDocument
    pilots: list[dict[str, Any]]
    users: set[str]


def _live_fields(character: Character) -> dict[str, Any]:
    return {
        "online": bool(character.online),
        "systemId": character.system_id,
        "shipTypeId": character.ship_type_id,
    }

"""Who is present, and where: derived from live connections and their awareness `visible` and
`activeAt`.

A user is present while at least one of their connections (to a chain or to `/ws/users/me`)
has awareness renewed within `cold_after_s` that shows `visible: true`, or whose `activeAt`
(ms epoch: the last moment the tab was visible or had input) is within `idle_after_s`. A scout
flying with the map in a background tab stays present; a tab left hidden and untouched stops
counting once `idle_after_s` has passed, a returning one counts at once, a silent one goes cold,
a closed one stops at once. Presence lives here, in memory, apart from the synced data:
awareness beats never write to a database or a document.

`activeAt` comes from the client: one in the future counts as the moment it was heard, and
renewals repeating it do not move it on.

Listeners hear the user id whenever that user's presence, or the set of chain rooms they
watch, may have changed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mapper.core.clock import Clock

Listener = Callable[[str], None]


@dataclass(slots=True)
class _Watch:
    user_id: str
    room_key: str
    chain: bool  # a chain room, not the user's own status room
    can_edit: bool
    visible: bool
    renewed_at: float
    active_at: float  # seconds since the epoch, never after when it was heard; -inf: never said
    said_active_at: float  # what the tab said, so that a renewal repeating it changes nothing


class PresenceTracker:
    def __init__(self, clock: Clock, cold_after_s: float, *, idle_after_s: float = 0.0) -> None:
        self._now = clock.now
        self._cold_after_s = cold_after_s
        self._idle_after_s = idle_after_s
        self._watches: dict[Hashable, _Watch] = {}
        self._by_user: dict[str, set[Hashable]] = {}
        self._by_room: dict[str, set[Hashable]] = {}
        self._present: set[str] = set()
        self._left_at: dict[str, float] = {}  # users whose last connection here closed
        self._listeners: list[Listener] = []

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def seen(
        self,
        connection: Hashable,
        *,
        user_id: str,
        room_key: str,
        chain: bool,
        can_edit: bool,
        states: Iterable[Mapping[str, Any]],
    ) -> None:
        """A connection sent awareness: `states` are the ones it holds now."""
        states = list(states)
        now = self._now()
        visible = any(state.get("visible") is True for state in states)
        said = max((_active_at(state) for state in states), default=-math.inf)
        before = self._watches.get(connection)
        # A tab renews its state every 15 s as it was: an activeAt ahead of the service's clock
        # (a page whose clock is fast) counts as the moment it was first heard, not as now on
        # every renewal, or the tab would never go idle.
        if before is not None and before.said_active_at == said:
            active_at = before.active_at
        else:
            active_at = min(said, now)
        watch = _Watch(user_id, room_key, chain, can_edit, visible, now, active_at, said)
        self._watches[connection] = watch
        self._by_user.setdefault(user_id, set()).add(connection)
        self._by_room.setdefault(room_key, set()).add(connection)
        # No scan of the user's other connections here: this runs on every awareness renewal.
        # A present user going idle is the sweep's to notice; an absent user's renewal that
        # does not count changes nothing (their other connections do not count either).
        counts = self._counts(watch, now)
        if (
            before is None
            or self._counts(before, now) != counts
            or (counts and user_id not in self._present)
        ):
            self._changed(user_id)

    def left(self, connection: Hashable) -> None:
        watch = self._watches.pop(connection, None)
        if watch is None:
            return
        watching = self._by_room.get(watch.room_key)
        if watching is not None:
            watching.discard(connection)
            if not watching:
                del self._by_room[watch.room_key]
        connections = self._by_user.get(watch.user_id)
        if connections is not None:
            connections.discard(connection)
            if not connections:
                del self._by_user[watch.user_id]
                self._left_at[watch.user_id] = self._now()
        self._changed(watch.user_id)

    def sweep(self) -> None:
        """Let users whose last visible sign is too old go cold."""
        for user_id in list(self._present):
            if not self.is_present(user_id):
                self._changed(user_id)
        cutoff = self._now() - self._cold_after_s
        for user_id, at in list(self._left_at.items()):
            if at < cutoff or user_id in self._by_user:
                del self._left_at[user_id]

    def is_present(self, user_id: str) -> bool:
        return any(True for _ in self._live(user_id))

    def absent_here(self, user_id: str) -> bool:
        """This process sees the user absent: connected but hidden or cold, or gone lately.
        (A user it has not seen may be present through another process.)"""
        if user_id in self._by_user:
            return not self.is_present(user_id)
        left_at = self._left_at.get(user_id)
        return left_at is not None and self._now() - left_at < self._cold_after_s

    def present_users(self) -> list[str]:
        return [user_id for user_id in self._by_user if self.is_present(user_id)]

    def chain_rooms(self, user_id: str) -> dict[str, bool]:
        """The chain rooms the user has open and visible: room key -> may edit there."""
        rooms: dict[str, bool] = {}
        for watch in self._live(user_id):
            if watch.chain:
                rooms[watch.room_key] = rooms.get(watch.room_key, False) or watch.can_edit
        return rooms

    def connected_chain_rooms(self, user_id: str) -> set[str]:
        """The chain rooms the user has open, visible or not."""
        return {
            watch.room_key
            for connection in self._by_user.get(user_id, ())
            if (watch := self._watches[connection]).chain
        }

    def users_in(self, room_key: str) -> list[str]:
        """Users with the room open who are present (through this room or another), sorted."""
        users = {
            self._watches[connection].user_id for connection in self._by_room.get(room_key, ())
        }
        return sorted(user_id for user_id in users if self.is_present(user_id))

    def _live(self, user_id: str) -> Iterable[_Watch]:
        now = self._now()
        for connection in self._by_user.get(user_id, ()):
            watch = self._watches[connection]
            if self._counts(watch, now):
                yield watch

    def _counts(self, watch: _Watch, now: float) -> bool:
        """Whether the connection keeps its user present."""
        if watch.renewed_at < now - self._cold_after_s:
            return False
        return watch.visible or watch.active_at >= now - self._idle_after_s

    def _changed(self, user_id: str) -> None:
        if self.is_present(user_id):
            self._present.add(user_id)
        else:
            self._present.discard(user_id)
        for listener in self._listeners:
            listener(user_id)


def _active_at(state: Mapping[str, Any]) -> float:
    """A state's `activeAt` in epoch seconds, or -inf when it has none that reads."""
    value = state.get("activeAt")
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return -math.inf
    return value / 1000

"""One room's awareness table: who is connected, with what state, owned by which connection.

The rules that keep awareness honest and cheap:
- A connection owns the awareness client ids it introduces; entries it sends for ids owned by
  another connection are relays (stock clients re-send every entry they receive) and are
  dropped, so one change in a room of N costs N messages, not N x N.
- An entry is accepted only when its clock is newer than the last one its owner sent; only
  accepted entries are forwarded. Renewals (same state, newer clock) are forwarded too: clients
  drop remote states that are not renewed within 30 s.
- The `user` field is rewritten from the token, so nobody can pose as another user.
- Removed states leave a tombstone with their clock, so a late relay of an old state cannot
  bring a departed client back. A reconnecting client (same id, new connection) may reclaim
  its id: its first entry is re-stamped above the tombstone so every peer accepts it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mapper.protocol import AwarenessEntry

Owner = Hashable


@dataclass(slots=True)
class _Client:
    owner: Owner | None
    clock: int  # the clock peers last received from the room
    sent_clock: int  # the clock the owner last sent
    state: dict[str, Any] | None
    updated_at: float


@dataclass(slots=True)
class RoomAwareness:
    clock: Callable[[], float] = time.monotonic
    _clients: dict[int, _Client] = field(default_factory=dict)
    _owned: dict[Owner, set[int]] = field(default_factory=dict)

    def apply(
        self, owner: Owner, entries: Iterable[AwarenessEntry], user: dict[str, Any] | None
    ) -> list[AwarenessEntry]:
        """Take `owner`'s entries; return the ones to forward, with `user` set from the token.

        `user` None keeps the states as they are (another process already set it).
        """
        forward = []
        now = self.clock()
        for entry in entries:
            client = self._clients.get(entry.client_id)
            if client is not None and client.owner is not None and client.owner != owner:
                continue  # a relay of someone else's state
            if client is not None and client.owner == owner:
                accepted = entry.clock > client.sent_clock or (
                    entry.clock == client.sent_clock
                    and entry.state is None
                    and client.state is not None
                )
                if not accepted:
                    continue
            elif entry.state is None:
                continue  # nothing to remove
            elif client is not None and entry.clock <= client.clock and self._owned.get(owner):
                continue  # an old state of a departed client, relayed late
            state = entry.state
            if state is not None and user is not None:
                state = {**state, "user": user}
            clock = entry.clock if client is None else max(entry.clock, client.clock + 1)
            if state is None:
                # A removal ends ownership, as a closed connection does: the client may come
                # back through another connection, or through another process.
                self._clients[entry.client_id] = _Client(None, clock, entry.clock, None, now)
                self._owned.get(owner, set()).discard(entry.client_id)
            else:
                self._clients[entry.client_id] = _Client(owner, clock, entry.clock, state, now)
                self._owned.setdefault(owner, set()).add(entry.client_id)
            forward.append(AwarenessEntry(entry.client_id, clock, state))
        return forward

    def remove_owner(self, owner: Owner) -> list[AwarenessEntry]:
        """Forget a closed connection's states; return the removals to send to everyone."""
        removed = []
        for client_id in self._owned.pop(owner, ()):
            client = self._clients[client_id]
            client.owner = None
            if client.state is not None:
                removed.append(self._tombstone(client_id, client))
        return removed

    def expire(self, timeout_s: float) -> list[AwarenessEntry]:
        """Remove states not renewed within `timeout_s` (a stalled client's ghost)."""
        cutoff = self.clock() - timeout_s
        return [
            self._tombstone(client_id, client)
            for client_id, client in self._clients.items()
            if client.state is not None and client.updated_at < cutoff and client.owner is not None
        ]

    def current(
        self, owned_by: Callable[[Owner | None], bool] | None = None
    ) -> list[AwarenessEntry]:
        """Every live state (of the owners `owned_by` picks), for a client that just joined."""
        return [
            AwarenessEntry(client_id, client.clock, client.state)
            for client_id, client in self._clients.items()
            if client.state is not None and (owned_by is None or owned_by(client.owner))
        ]

    def states(self) -> dict[int, dict[str, Any]]:
        return {cid: c.state for cid, c in self._clients.items() if c.state is not None}

    def owner_states(self, owner: Owner) -> list[dict[str, Any]]:
        """The live states one connection holds (for presence: is this tab visible?)."""
        return [
            state
            for client_id in self._owned.get(owner, ())
            if (state := self._clients[client_id].state) is not None
        ]

    def _tombstone(self, client_id: int, client: _Client) -> AwarenessEntry:
        client.clock += 1
        client.state = None
        return AwarenessEntry(client_id, client.clock, None)

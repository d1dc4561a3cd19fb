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
  Tombstones go once `expire` finds them older than its timeout: relays come within moments.
- What a connection can make the room hold is bounded (contract section 4): it may describe
  at most `MAX_CLIENTS_PER_OWNER` client ids of its own, each state at most
  `MAX_STATE_BYTES` of JSON, and a message may carry no more entries than the room knows of
  plus that many. A state's JSON is decoded only once the entry is accepted. `pilots` is the
  service's to publish: a client's is dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mapper.core.protocol import AwarenessEntry, ProtocolError, RawAwarenessEntry

Owner = Hashable

MAX_CLIENTS_PER_OWNER = 8
MAX_STATE_BYTES = 16 * 1024
SERVICE_FIELDS = ("pilots",)  # written by the service only


@dataclass(slots=True)
class _Client:
    owner: Owner | None
    clock: int  # the clock peers last received from the room
    sent_clock: int  # the clock the owner last sent
    state: dict[str, Any] | None
    updated_at: float


@dataclass(slots=True)
class RoomAwareness:
    clock: Callable[[], float]  # the service clock's monotonic reading
    _clients: dict[int, _Client] = field(default_factory=dict)
    _owned: dict[Owner, set[int]] = field(default_factory=dict)
    _introduced: dict[Owner, set[int]] = field(default_factory=dict)  # ids a client described

    def apply(
        self,
        owner: Owner,
        entries: Iterable[AwarenessEntry | RawAwarenessEntry],
        user: dict[str, Any] | None,
    ) -> list[AwarenessEntry]:
        """Take `owner`'s entries; return the ones to forward, with `user` set from the token.

        `user` None keeps the states as they are (another process, or the service, set them).
        Raises ProtocolError when a client's entries break a limit.
        """
        forward = []
        now = self.clock()
        for entry in entries:
            client = self._clients.get(entry.client_id)
            if client is not None and client.owner is not None and client.owner != owner:
                continue  # a relay of someone else's state
            leaves = entry.leaves if isinstance(entry, RawAwarenessEntry) else entry.state is None
            if client is not None and client.owner == owner:
                accepted = entry.clock > client.sent_clock or (
                    entry.clock == client.sent_clock and leaves and client.state is not None
                )
                if not accepted:
                    continue
            elif leaves:
                continue  # nothing to remove
            elif client is not None and entry.clock <= client.clock and self._owned.get(owner):
                continue  # an old state of a departed client, relayed late
            state = self._state(owner, entry, user)
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

    def check_count(self, count: int) -> None:
        """Refuse a client's message announcing more entries than it could mean."""
        if count > len(self._clients) + MAX_CLIENTS_PER_OWNER:
            raise ProtocolError(f"awareness message with {count} entries")

    def _state(
        self, owner: Owner, entry: AwarenessEntry | RawAwarenessEntry, user: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        if not isinstance(entry, RawAwarenessEntry):
            return entry.state
        if len(entry.json) > MAX_STATE_BYTES:
            raise ProtocolError(f"awareness state over {MAX_STATE_BYTES} bytes")
        introduced = self._introduced.setdefault(owner, set())
        if entry.client_id not in introduced:
            if len(introduced) >= MAX_CLIENTS_PER_OWNER:
                raise ProtocolError(f"awareness for over {MAX_CLIENTS_PER_OWNER} client ids")
            introduced.add(entry.client_id)
        state = entry.state()
        if state is None:
            return None
        for name in SERVICE_FIELDS:
            state.pop(name, None)
        if user is not None:
            state["user"] = user
        return state

    def remove_owner(self, owner: Owner) -> list[AwarenessEntry]:
        """Forget a closed connection's states; return the removals to send to everyone."""
        self._introduced.pop(owner, None)
        removed = []
        for client_id in self._owned.pop(owner, ()):
            client = self._clients[client_id]
            client.owner = None
            if client.state is not None:
                removed.append(self._tombstone(client_id, client))
        return removed

    def expire(self, timeout_s: float) -> list[AwarenessEntry]:
        """Remove states not renewed within `timeout_s` (a stalled client's ghost), and forget
        tombstones older than that."""
        now = self.clock()
        cutoff = now - timeout_s
        stale = [
            client_id
            for client_id, client in self._clients.items()
            if client.state is None and client.owner is None and client.updated_at < cutoff
        ]
        for client_id in stale:
            del self._clients[client_id]
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
        client.updated_at = self.clock()
        return AwarenessEntry(client_id, client.clock, None)

    def __len__(self) -> int:
        """How many client ids it holds, tombstones included."""
        return len(self._clients)

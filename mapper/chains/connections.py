"""The effect of a member change or a deletion on this process's open chain sockets."""

from __future__ import annotations

from collections.abc import Callable

from mapper.core import roles
from mapper.core.identity import Identity
from mapper.core.ids import is_chain_id
from mapper.persistence.store import Store
from mapper.rooms.connection import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_UNAUTHORIZED
from mapper.rooms.manager import RoomManager


class OpenConnections:
    def __init__(self, store: Store, rooms: RoomManager) -> None:
        self._store = store
        self._rooms = rooms

    async def apply_members(self, chain_id: str) -> None:
        """Give each open socket its role as the members now say; close the revoked ones."""
        room = self._rooms.get(chain_id)
        if room is None:
            return
        members = await self._store.members(chain_id)
        for connection in list(room.connections):
            role = roles.role_of(connection.identity, members)
            if role is None:
                connection.close(CLOSE_FORBIDDEN, "your access to this chain was revoked")
            else:
                connection.role = role

    async def apply_user(
        self, user_id: str, current: Callable[[Identity], Identity | None]
    ) -> None:
        """A user's identity changed (characters, corporations, alliances): give each of their
        open sockets the identity `current` makes of it, and its role; close a socket whose
        identity was withdrawn (None) or that lost its chain."""
        for room in self._rooms.rooms():
            mine = [c for c in room.connections if c.identity.user_id == user_id]
            if not mine:
                continue
            members = await self._store.members(room.key) if is_chain_id(room.key) else None
            for connection in mine:
                identity = current(connection.identity)
                if identity is None:
                    connection.close(CLOSE_UNAUTHORIZED, "you signed out")
                    continue
                connection.identity = identity
                if members is None:
                    continue
                role = roles.role_of(identity, members)
                if role is None:
                    connection.close(CLOSE_FORBIDDEN, "your access to this chain was revoked")
                else:
                    connection.role = role

    def close_deleted(self, chain_id: str) -> None:
        room = self._rooms.get(chain_id)
        if room is not None:
            room.close_all(CLOSE_NOT_FOUND, "this chain was deleted")

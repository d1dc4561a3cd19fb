"""The effect of a member change or a deletion on this process's open chain sockets."""

from __future__ import annotations

from mapper.core import roles
from mapper.persistence.store import Store
from mapper.rooms.connection import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND
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

    def close_deleted(self, chain_id: str) -> None:
        room = self._rooms.get(chain_id)
        if room is not None:
            room.close_all(CLOSE_NOT_FOUND, "this chain was deleted")

"""A chain's content as it is now: the live room's document, or the database's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pycrdt import Doc, Map

from mapper.chains.schema import MAX_TEXT, document_json
from mapper.persistence.folding import load_document
from mapper.persistence.store import Store
from mapper.rooms.manager import RoomKind, RoomManager

Flush = Callable[[str], Awaitable[None]]
"""Makes a chain's accepted updates durable."""


class ChainDocuments:
    def __init__(self, store: Store, rooms: RoomManager, flush: Flush, kind: RoomKind) -> None:
        self._store = store
        self._rooms = rooms
        self._flush = flush
        self._kind = kind

    async def set_name(self, chain_id: str, name: str) -> None:
        """Write the chain's name into its document's `meta` (when it differs), as an edit
        every open client receives and the writer stores."""
        room = await self._rooms.open(chain_id, self._kind)
        try:

            def rename(doc: Doc) -> None:
                meta = doc.get("meta", type=Map)
                if meta.get("name") != name[:MAX_TEXT]:
                    meta["name"] = name[:MAX_TEXT]

            room.edit(rename)
        finally:
            self._rooms.release(room)
        await self._flush(chain_id)

    async def current(self, chain_id: str) -> Doc:
        """The chain's live document, or one rebuilt from the database when no room is loaded
        (for a deleted chain: its content when it was deleted)."""
        room = self._rooms.get(chain_id)
        if room is not None:
            return room.doc
        await self._flush(chain_id)
        return await self.stored(chain_id)

    async def stored(self, chain_id: str) -> Doc:
        """The chain as the database alone has it."""
        updates = await self._store.load_chain_updates(chain_id)
        if not updates:
            final = await self._store.deleted_state(chain_id)
            updates = [] if final is None else [final]
        return await load_document(updates)

    async def content(self, chain_id: str) -> dict[str, Any]:
        """The current content in its JSON form."""
        return document_json(await self.current(chain_id))

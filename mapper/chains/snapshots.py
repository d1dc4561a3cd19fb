"""Snapshots, restore, diff and verify (contract section 7): each use case checks the caller's
role, then does its work. Service admins reach a deleted chain's snapshots, and restoring one of
them brings the chain back."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc

from mapper.chains.access import ChainAccess
from mapper.chains.diff import ENTRY_ROOTS, content_diff, is_empty
from mapper.chains.documents import ChainDocuments, Flush
from mapper.chains.errors import NO_CHAIN, NO_SNAPSHOT, Forbidden, Invalid, NotFound
from mapper.chains.maintenance import ChainMaintenance
from mapper.chains.restore import make_equal
from mapper.chains.schema import counts, document_json
from mapper.core import roles
from mapper.core.identity import Identity
from mapper.persistence.folding import load_document
from mapper.persistence.records import SnapshotInfo
from mapper.persistence.store import Store
from mapper.rooms.manager import RoomKind, RoomManager
from mapper.rooms.room import Room

log = logging.getLogger("mapper.chains.snapshots")

MAX_LABEL_CHARS = 100


@dataclass(frozen=True)
class _Captured:
    """A live document's state, and the newest log row it certainly holds."""

    state: bytes
    counts: dict[str, int]
    last_update_id: int


class Snapshots:
    def __init__(
        self,
        store: Store,
        access: ChainAccess,
        documents: ChainDocuments,
        rooms: RoomManager,
        chain_rooms: RoomKind,
        flush: Flush,
        maintenance: ChainMaintenance,
    ) -> None:
        self._store = store
        self._access = access
        self._documents = documents
        self._rooms = rooms
        self._chain_rooms = chain_rooms
        self._flush = flush
        self._maintenance = maintenance

    async def of_chain(self, identity: Identity, chain_id: str) -> list[SnapshotInfo]:
        """The chain's snapshots, newest first."""
        await self._access.authorize(identity, chain_id, roles.OWNER, deleted=True)
        return await self._store.list_snapshots(chain_id)

    async def create(self, identity: Identity, chain_id: str, label: object) -> SnapshotInfo:
        """A `manual` snapshot of the chain's current state: the live document's when a room
        is loaded (cheaper than rebuilding it), else the database's."""
        await self._access.authorize(identity, chain_id, roles.OWNER)
        if label is not None and (not isinstance(label, str) or len(label) > MAX_LABEL_CHARS):
            raise Invalid(f"'label' must be a string of at most {MAX_LABEL_CHARS} characters")
        await self._flush(chain_id)
        room = self._rooms.get(chain_id)
        if room is None:
            snapshot = await self._maintenance.fold(
                chain_id, snapshot_reason="manual", actor=identity.user_id, label=label
            )
        else:
            captured = await self._capture(chain_id, room)
            snapshot = await self._store.add_snapshot(
                chain_id,
                state=captured.state,
                reason="manual",
                counts=captured.counts,
                last_update_id=captured.last_update_id,
                created_by=identity.user_id,
                label=label,
            )
        if snapshot is None:
            raise NotFound(NO_CHAIN)  # deleted meanwhile
        return snapshot

    async def content(self, identity: Identity, chain_id: str, snapshot_id: int) -> dict[str, Any]:
        """The snapshot's content as JSON."""
        await self._access.authorize(identity, chain_id, roles.OWNER, deleted=True)
        return document_json(await self._document(chain_id, snapshot_id))

    async def diff(self, identity: Identity, chain_id: str, snapshot_id: int) -> dict[str, Any]:
        """What restoring the snapshot would add, remove and change in the chain as it is."""
        target = await self.content(identity, chain_id, snapshot_id)
        return content_diff(await self._documents.content(chain_id), target)

    async def delete(self, identity: Identity, chain_id: str, snapshot_id: int) -> None:
        """Delete one snapshot, with its audit entry."""
        await self._access.authorize(identity, chain_id, roles.OWNER, deleted=True)
        if not await self._store.delete_snapshot(chain_id, snapshot_id, identity.user_id):
            raise NotFound(NO_SNAPSHOT)

    async def restore(self, identity: Identity, chain_id: str, snapshot_id: int) -> SnapshotInfo:
        """Make the chain's content equal to a snapshot's, as a forward edit every client
        receives; returns the `pre-restore` snapshot that undoes it. A deleted chain comes
        back first (with the content it had when deleted)."""
        await self._access.authorize(identity, chain_id, roles.OWNER, deleted=True)
        actor = identity.user_id
        target = await self._document(chain_id, snapshot_id)
        if await self._store.undelete_chain(chain_id, actor):
            log.info("chain %s undeleted by %s", chain_id, actor)
        room = await self._rooms.open(chain_id, self._chain_rooms)
        try:
            await self._flush(chain_id)
            captured = await self._capture(chain_id, room)
            before = await self._store.record_restore(
                chain_id,
                snapshot_id,
                actor=actor,
                state=captured.state,
                counts=captured.counts,
                last_update_id=captured.last_update_id,
            )
            if before is None:
                raise NotFound(NO_CHAIN)  # deleted meanwhile
            # Straight after the audit entry commits, with no wait between: the edit is made
            # in memory, and the writer stores it as it stores every edit.
            room.edit(lambda doc: make_equal(doc, target))
        finally:
            self._rooms.release(room)
        await self._flush(chain_id)
        log.info("chain %s restored to snapshot %d by %s", chain_id, snapshot_id, actor)
        return before

    async def verify(self, identity: Identity, chain_id: str) -> dict[str, Any]:
        """Rebuild the chain from the database alone and compare it with the live room; for
        service admins."""
        if not identity.admin:
            raise Forbidden("verify is for service admins")
        await self._access.authorize(identity, chain_id, roles.OWNER)
        room = self._rooms.get(chain_id)
        await self._flush(chain_id)
        rebuilt = document_json(await self._documents.stored(chain_id))
        result: dict[str, Any] = {"chainId": chain_id, "loaded": room is not None}
        if room is not None:
            difference = content_diff(document_json(room.doc), rebuilt)
            result.update(equal=is_empty(difference), difference=difference)
        else:
            result.update(equal=None, difference=None)
        result["counts"] = {root: len(rebuilt[root]) for root in ENTRY_ROOTS}
        return result

    async def _document(self, chain_id: str, snapshot_id: int) -> Doc:
        state = await self._store.snapshot_state(chain_id, snapshot_id)
        if state is None:
            raise NotFound(NO_SNAPSHOT)
        return await load_document([state])

    async def _capture(self, chain_id: str, room: Room) -> _Captured:
        # The log row id first: rows written afterwards may hold changes the state lacks, and
        # replaying a row the state already has is harmless.
        last_update_id = await self._store.latest_update_id(chain_id)
        return _Captured(room.doc.get_update(), counts(room.doc), last_update_id)

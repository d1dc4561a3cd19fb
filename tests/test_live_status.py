"""Live status in memory against its projection in SQL, on SQLite and Postgres: a user who
leaves and comes back while a sync run of theirs is saving is loaded with what the run learned."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any

from pycrdt import Doc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.core.clock import ManualClock
from mapper.persistence.sync_store import SyncStore
from mapper.presence.tracker import PresenceTracker
from mapper.sync.live import LiveStatus
from mapper.sync.tokens import Grant

CHAIN = "chain-1"
CHARACTER = 90000001


class ChainRoom:
    """A loaded chain room, as the engine sees it: what it last published as awareness."""

    def __init__(self) -> None:
        self.doc = Doc()
        self.state: dict[str, Any] | None = None

    def edit(self, change: Callable[[Doc], None]) -> None:
        change(self.doc)

    def set_service_state(self, state: dict[str, Any] | None) -> None:
        self.state = state


class Rooms:
    def __init__(self, rooms: dict[str, ChainRoom]) -> None:
        self._rooms = rooms

    def get(self, key: str) -> ChainRoom | None:
        return self._rooms.get(key)


class NoStarMap:
    async def gate_jumps(self, a: int, b: int, limit: int) -> int | None:
        return None

    async def ship_mass(self, type_id: int) -> float | None:
        return None


@contextlib.asynccontextmanager
async def writes_held(engine: AsyncEngine) -> AsyncIterator[None]:
    """Another connection holds the database's write lock: writers wait, readers do not."""
    if engine.dialect.name == "sqlite":
        holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    async with engine.connect() as conn:
        await conn.execute(text("LOCK TABLE character_status IN EXCLUSIVE MODE"))
        try:
            yield
        finally:
            await conn.rollback()


async def test_a_user_back_while_their_run_saves_is_loaded_with_what_it_learned(
    engine: AsyncEngine,
) -> None:
    store = SyncStore(engine)
    clock = ManualClock()
    tracker = PresenceTracker(clock, cold_after_s=60)
    room = ChainRoom()
    live = LiveStatus(store, Rooms({CHAIN: room}), tracker, NoStarMap(), jump_gap_s=60)
    tracker.seen(
        "tab",
        user_id="alice",
        room_key=CHAIN,
        chain=True,
        can_edit=True,
        states=[{"visible": True}],
    )
    await live.load_user("alice")  # present; nothing known of her characters yet

    grant = Grant(CHARACTER, "Alice Main", "access", clock.now() + 600)
    async with writes_held(engine):
        run = asyncio.create_task(
            live.apply("alice", [grant], {CHARACTER: {"online": True}}, [], clock.now())
        )
        await asyncio.sleep(0)  # the run takes in the answer and starts saving it
        live.unload_user("alice")  # she goes away ...
        back = asyncio.create_task(live.load_user("alice"))  # ... and comes back at once
        # Reads do not wait for the write lock: a load that did not wait for the run would
        # have read the store, without the character, by the time this read returns.
        assert await store.characters(["alice"]) == []
    await asyncio.wait_for(asyncio.gather(run, back), 10)

    live.refresh_pilots("alice")
    pilot = {"characterId": CHARACTER, "userId": "alice", "systemId": None, "online": True}
    assert room.state == {"pilots": [pilot]}

"""Sync subjects in the database: one runner at a time, dead runs taken over, cold and
unseen users left alone, on SQLite and Postgres."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.persistence.sync_store import SyncStore

T = 1_800_000_000_000  # ms
DATASETS = ("onlineStatus", "location")


async def test_claims_are_exclusive_and_dead_runs_are_taken_over(engine: AsyncEngine) -> None:
    store = SyncStore(engine)
    await store.request("alice", DATASETS, T)
    due = await store.due(T, hot_since=T - 60_000, stale_before=T - 120_000, limit=10)
    assert sorted(due) == [("location", "alice"), ("onlineStatus", "alice")]
    first = await store.claim("location", "alice", "w1", T, stale_before=T - 120_000)
    assert first is not None and first.failures == 0
    assert await store.claim("location", "alice", "w2", T, stale_before=T - 120_000) is None
    assert await store.due(T, hot_since=T - 60_000, stale_before=T - 120_000, limit=10) == [
        ("onlineStatus", "alice")
    ]

    # w1's process died: after the stale limit, w3 takes the run over; w1's late finish
    # changes nothing.
    later = T + 200_000
    await store.touch(["alice"], later)
    taken = await store.claim("location", "alice", "w3", later, stale_before=later - 120_000)
    assert taken is not None
    await store.finish(
        first, "w1", next_due_at=T, min_expires_at=T, failures=9, synced_character_ids=[1]
    )
    await store.finish(
        taken,
        "w3",
        next_due_at=later + 5000,
        min_expires_at=later + 5000,
        failures=0,
        synced_character_ids=[7, 8],
    )
    assert await store.claim("location", "alice", "w4", later, stale_before=later) is None
    assert await store.next_due_at("location", "alice") == later + 5000  # when to try again
    assert await store.next_due_at("location", "nobody") is None
    due = await store.claim("location", "alice", "w4", later + 5000, stale_before=later)
    assert due is not None and due.failures == 0 and due.synced_character_ids == [7, 8]


async def test_cold_users_are_not_due_and_unseen_ones_are_forgotten(engine: AsyncEngine) -> None:
    store = SyncStore(engine)
    await store.request("alice", DATASETS, T)
    await store.request("bob", DATASETS, T - 90_000)
    due = await store.due(T, hot_since=T - 60_000, stale_before=T, limit=10)
    assert {user for _, user in due} == {"alice"}
    assert len(await store.due(T, hot_since=T - 60_000, stale_before=T, limit=1)) == 1

    week = 7 * 86_400_000
    await store.touch(["alice"], T + week)
    assert await store.forget(T + week - 1) == 2  # bob's two subjects
    due = await store.due(T + week, hot_since=T, stale_before=T, limit=10)
    assert {user for _, user in due} == {"alice"}


async def test_only_the_given_status_fields_are_written(engine: AsyncEngine) -> None:
    store = SyncStore(engine)
    await store.save_characters(
        {5: {"user_id": "alice", "name": "Alice", "tracked": True, "online": True}}, T
    )
    await store.save_characters({5: {"system_id": 31000001, "docked": False}}, T + 1)
    (character,) = await store.characters(["alice"])
    assert (character.name, character.online, character.system_id, character.docked) == (
        "Alice",
        True,
        31000001,
        False,
    )
    assert character.ship_type_id is None

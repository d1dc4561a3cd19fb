"""The persistence layer against real SQLite and real Postgres (see tests/databases.py)."""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from pycrdt import Array, Doc, Map
from sqlalchemy import func, select, text

from mapper.chains.diff import ENTRY_ROOTS
from mapper.core.clock import SystemClock
from mapper.core.tasks import Tasks
from mapper.persistence.database import DatabaseUrlError, create_engine
from mapper.persistence.folding import Folder, merge
from mapper.persistence.migrations import alembic_config, upgrade_database
from mapper.persistence.models import Base, ChainBase, ChainUpdate
from mapper.persistence.records import Folded, MemberChange
from mapper.persistence.store import Store, now_ms
from mapper.persistence.writer import UpdateWriter
from tests.databases import POSTGRES


@pytest.fixture
def url(database_url: str) -> str:
    """SQLite, then a fresh Postgres database (tests/conftest.py)."""
    return database_url


@pytest.fixture
async def store(url: str) -> AsyncIterator[Store]:
    await upgrade_database(url)
    store = Store(create_engine(url))
    yield store
    await store.close()


@pytest.fixture(scope="session")
def fold_updates() -> Iterator[Folder]:
    """The service's folder: a worker process that merges a chain's stored updates."""
    folder = Folder(ENTRY_ROOTS)
    yield folder
    folder.close()


class EditedDoc:
    """A pycrdt document that records each change as the Yjs update a room would store."""

    def __init__(self) -> None:
        self.doc = Doc()
        self.systems = self.doc.get("systems", type=Map)
        self.connections = self.doc.get("connections", type=Array)
        self.updates: list[bytes] = []
        self.doc.observe(lambda event: self.updates.append(event.update))

    def edit(self, count: int) -> list[bytes]:
        """`count` changes, each its own update (a drag storm moves the same few systems)."""
        first = len(self.updates)
        for step in range(count):
            if step % 10 == 9:
                self.connections.append(f"J{step % 7}-J{(step + 1) % 7}")
            else:
                self.systems[f"J{step % 7}"] = {"x": step, "y": -step}
        assert len(self.updates) - first == count
        return self.updates[first:]

    def assert_rebuilt_by(self, updates: Sequence[bytes]) -> None:
        rebuilt = Doc()
        for update in updates:
            rebuilt.apply_update(update)
        assert rebuilt.get("systems", type=Map).to_py() == self.systems.to_py()
        assert rebuilt.get("connections", type=Array).to_py() == self.connections.to_py()
        assert rebuilt.get_state() == self.doc.get_state()


async def log_rows(store: Store, chain_id: str) -> int:
    query = select(func.count()).where(ChainUpdate.chain_id == chain_id)
    async with store.engine.connect() as conn:
        return await conn.scalar(query)


async def poll(condition: Callable[[], Awaitable[bool]], seconds: float) -> None:
    """Wait for something only observable by looking, e.g. rows arriving in the database."""
    async with asyncio.timeout(seconds):
        while True:
            if await condition():
                return
            await asyncio.sleep(0.005)


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    async def check() -> bool:
        return condition()

    await poll(check, seconds)


# Schema


async def test_upgrade_is_idempotent_and_matches_the_models(url: str) -> None:
    await upgrade_database(url)
    await upgrade_database(url)
    engine = create_engine(url)
    async with engine.connect() as conn:
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    await engine.dispose()
    assert version == ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert differences == []


async def test_concurrent_upgrades_do_not_collide(url: str) -> None:
    await asyncio.gather(*(upgrade_database(url) for _ in range(3)))
    store = Store(create_engine(url))
    assert (await store.create_chain("after", "u1")).name == "after"
    await store.close()


@pytest.mark.parametrize(
    ("bad_url", "advice"),
    [
        ("postgresql://me@db:5432/mapper", "write postgresql+psycopg://me@db:5432/mapper"),
        ("postgres://me@db/mapper", "write postgresql+psycopg://"),
        ("postgresql+asyncpg://me@db/mapper", "write postgresql+psycopg://"),
        ("sqlite:///data/mapper.db", "write sqlite+aiosqlite:///data/mapper.db"),
        ("sqlite+aiosqlite://", "SQLite needs a file"),
        ("sqlite+aiosqlite:///:memory:", "SQLite needs a file"),
        ("mysql+aiomysql://me@db/mapper", "unsupported database URL scheme"),
        ("not a url", "not a database URL"),
    ],
)
def test_unusable_urls_are_refused_with_advice(bad_url: str, advice: str) -> None:
    with pytest.raises(DatabaseUrlError, match=re.escape(advice)):
        create_engine(bad_url)


async def test_sqlite_engine_makes_its_folder_and_sets_pragmas(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "mapper.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    assert path.parent.is_dir()
    async with engine.connect() as conn:
        assert await conn.scalar(text("PRAGMA journal_mode")) == "wal"
        assert await conn.scalar(text("PRAGMA foreign_keys")) == 1
        assert await conn.scalar(text("PRAGMA busy_timeout")) == 5000
    await engine.dispose()


# Store


async def test_chains_are_created_read_and_listed(store: Store) -> None:
    first = await store.create_chain("Home", "alice")
    second = await store.create_chain("Scouting", "bob")
    assert first.created_by == "alice" and first.deleted_at is None
    assert abs(first.created_at - time.time() * 1000) < 60_000
    assert await store.get_chain(first.id) == first
    assert await store.get_chain("no-such-chain") is None
    assert await store.members(first.id) == {"user:alice": "owner"}
    assert [chain.id for chain in await store.list_chains(None)] == [first.id, second.id]
    assert await store.list_chains(["user:alice", "corp:1"]) == [first]
    assert await store.list_chains([]) == []
    [created] = await store.list_audit(first.id)
    assert (created.actor, created.action, created.detail) == ("alice", "create", {"name": "Home"})


def allow(members: Mapping[str, str]) -> None:
    """A member check that refuses nothing."""


async def test_members_and_roles(store: Store) -> None:
    chain = await store.create_chain("Home", "alice")
    await store.change_member(chain.id, "corp:98000001", "viewer", actor="alice", check=allow)
    await store.change_member(chain.id, "alliance:99000001", "editor", actor="alice", check=allow)
    # A change, not a second row.
    await store.change_member(chain.id, "corp:98000001", "editor", actor="alice", check=allow)
    assert await store.members(chain.id) == {
        "alliance:99000001": "editor",
        "corp:98000001": "editor",
        "user:alice": "owner",
    }
    roles = await store.roles_for(chain.id, ["user:alice", "corp:98000001", "corp:5"])
    assert sorted(roles) == ["editor", "owner"]
    assert await store.roles_for(chain.id, ["user:mallory"]) == []
    assert await store.list_chains(["alliance:99000001"]) == [chain]
    revoked = await store.change_member(chain.id, "corp:98000001", None, actor="bob", check=allow)
    assert revoked == MemberChange("corp:98000001", "editor", None)
    assert "corp:98000001" not in await store.members(chain.id)
    with pytest.raises(ValueError, match="role"):
        await store.change_member(chain.id, "user:bob", "admin", actor="alice", check=allow)
    with pytest.raises(ValueError, match="member"):
        await store.change_member(chain.id, "bob", "viewer", actor="alice", check=allow)


async def test_a_member_change_and_its_audit_entry_commit_together(store: Store) -> None:
    chain = await store.create_chain("Home", "alice")
    grant = await store.change_member(chain.id, "corp:1", "viewer", actor="alice", check=allow)
    change = await store.change_member(chain.id, "corp:1", "editor", actor="bob", check=allow)
    revoke = await store.change_member(chain.id, "corp:1", None, actor="carol", check=allow)
    entries = [(e.actor, e.action, e.detail) for e in await store.list_audit(chain.id)]
    assert entries == [
        ("carol", "revoke", {"member": "corp:1", "previous": "editor"}),
        ("bob", "change", {"member": "corp:1", "role": "editor", "previous": "viewer"}),
        ("alice", "grant", {"member": "corp:1", "role": "viewer", "previous": None}),
        ("alice", "create", {"name": "Home"}),
    ]
    assert [c and c.action for c in (grant, change, revoke)] == ["grant", "change", "revoke"]

    # The check sees the members as they are; its refusal writes neither change nor entry.
    seen: list[dict[str, str]] = []

    def refuse(members: Mapping[str, str]) -> None:
        seen.append(dict(members))
        raise LookupError("no")

    with pytest.raises(LookupError):
        await store.change_member(chain.id, "corp:2", "owner", actor="alice", check=refuse)
    assert seen == [{"user:alice": "owner"}]
    assert await store.members(chain.id) == {"user:alice": "owner"}
    assert len(await store.list_audit(chain.id)) == 4

    # A deleted chain takes no member change, and logs none.
    await store.delete_chain(chain.id, actor="alice", final_state=b"", counts={})
    assert await store.change_member(chain.id, "corp:3", "viewer", actor="a", check=allow) is None
    assert await store.members(chain.id) == {"user:alice": "owner"}
    assert (await store.list_audit(chain.id))[0].action == "delete"


async def test_concurrent_member_changes_each_see_the_others(store: Store) -> None:
    """Five owners revoke one another at once, each only if an owner would be left: the
    checks run one after the other inside their transactions, so exactly one owner stays."""
    chain = await store.create_chain("Home", "owner0")
    owners = [f"user:owner{n}" for n in range(5)]
    for member in owners[1:]:
        await store.change_member(chain.id, member, "owner", actor="owner0", check=allow)

    class LastOwner(Exception):
        pass

    def keep_an_owner(member: str) -> Callable[[Mapping[str, str]], None]:
        def check(members: Mapping[str, str]) -> None:
            if {m for m, role in members.items() if role == "owner"} == {member}:
                raise LastOwner(member)

        return check

    results = await asyncio.gather(
        *(store.change_member(chain.id, m, None, actor=m, check=keep_an_owner(m)) for m in owners),
        return_exceptions=True,
    )
    refused = [result for result in results if isinstance(result, LastOwner)]
    assert len(refused) == 1, results
    assert list((await store.members(chain.id)).values()) == ["owner"]
    revokes = [entry for entry in await store.list_audit(chain.id) if entry.action == "revoke"]
    assert len(revokes) == 4


async def test_a_restore_and_its_pre_restore_snapshot_commit_together(store: Store) -> None:
    chain = await store.create_chain("Home", "alice")
    state = EditedDoc().doc.get_update()
    before = await store.record_restore(
        chain.id, 7, actor="bob", state=state, counts={"systems": 0}, last_update_id=0
    )
    assert before is not None
    [listed] = await store.list_snapshots(chain.id)
    assert listed == before and (before.reason, before.created_by) == ("pre-restore", "bob")
    latest = (await store.list_audit(chain.id))[0]
    assert (latest.actor, latest.action) == ("bob", "restore")
    assert latest.detail == {"snapshotId": 7, "preRestoreSnapshotId": before.id}

    # A chain deleted meanwhile: nothing is recorded.
    await store.delete_chain(chain.id, actor="alice", final_state=state, counts={})
    again = await store.record_restore(
        chain.id, 7, actor="bob", state=state, counts={}, last_update_id=0
    )
    assert again is None
    actions = [entry.action for entry in await store.list_audit(chain.id)]
    assert actions == ["delete", "restore", "create"]
    assert [snapshot.reason for snapshot in await store.list_snapshots(chain.id)] == [
        "delete",
        "pre-restore",
    ]


async def test_snapshots_are_stored_and_listed(store: Store) -> None:
    chain = await store.create_chain("Home", "alice")
    edited = EditedDoc()
    await store.append_updates({chain.id: edited.edit(30)})
    last_update_id = await store.latest_update_id(chain.id)
    state = edited.doc.get_update()
    counts = {"systems": 7, "connections": 3, "signatures": 0}
    snapshot = await store.add_snapshot(
        chain.id,
        state=state,
        reason="manual",
        counts=counts,
        last_update_id=last_update_id,
        created_by="alice",
        label="before the wormhole rolled",
    )
    [listed] = await store.list_snapshots(chain.id)
    assert listed == snapshot
    assert (listed.bytes, listed.counts, listed.label) == (len(state), counts, snapshot.label)
    assert await store.snapshot_state(chain.id, snapshot.id) == state
    with pytest.raises(ValueError, match="reason"):
        await store.add_snapshot(chain.id, state=state, reason="whim", counts={}, last_update_id=0)


async def test_folding_moves_the_log_into_the_base(store: Store, fold_updates: Folder) -> None:
    chain = await store.create_chain("Home", "alice")
    edited = EditedDoc()
    await store.append_updates({chain.id: edited.edit(30)})
    assert await store.fold(chain.id, fold_updates) is None  # no snapshot asked for
    assert await log_rows(store, chain.id) == 0
    [base] = await store.load_chain_updates(chain.id)
    late = edited.edit(12)
    await store.append_updates({chain.id: late})

    loaded = await store.load_chain_updates(chain.id)
    assert loaded == [base, *late]
    edited.assert_rebuilt_by(loaded)
    assert await store.latest_update_id(chain.id) > 0

    snapshot = await store.fold(chain.id, fold_updates, snapshot_reason="periodic")
    assert snapshot is not None and snapshot.reason == "periodic"
    [base] = await store.load_chain_updates(chain.id)
    assert await store.snapshot_state(chain.id, snapshot.id) == base
    edited.assert_rebuilt_by([base])
    # Nothing changed since: an automatic snapshot is skipped, an asked-for one is not.
    assert (
        await store.fold(chain.id, fold_updates, snapshot_reason="periodic", only_if_changed=True)
        is None
    )
    assert await store.changed_since_snapshot() == []
    await store.append_updates({chain.id: edited.edit(1)})
    assert await store.changed_since_snapshot() == [chain.id]
    await store.fold(chain.id, fold_updates)  # the change now sits in the base alone
    assert await store.changed_since_snapshot() == [chain.id]
    assert await store.fold(chain.id, fold_updates, snapshot_reason="manual") is not None
    assert len(await store.list_snapshots(chain.id)) == 2


async def test_a_fold_that_fails_changes_nothing(store: Store) -> None:
    chain = await store.create_chain("Home", "alice")
    edited = EditedDoc()
    updates = edited.edit(20)
    await store.append_updates({chain.id: updates})

    async def crash(updates: list[bytes]) -> Folded:
        raise RuntimeError("killed mid-compaction")

    with pytest.raises(RuntimeError):
        await store.fold(chain.id, crash, snapshot_reason="periodic")
    assert await store.load_chain_updates(chain.id) == updates
    assert await store.list_snapshots(chain.id) == []


async def test_folds_racing_appends_lose_and_repeat_nothing(
    store: Store, fold_updates: Folder
) -> None:
    chain = await store.create_chain("Home", "alice")
    edited = EditedDoc()

    appended = asyncio.Event()

    async def append() -> None:
        for _ in range(40):
            await store.append_updates({chain.id: edited.edit(3)})
        appended.set()

    async def fold() -> None:
        # Until the appends end, however the two interleave (on SQLite the writer's thread
        # can finish a batch before a fold starts, or not); bounded all the same.
        for _ in range(500):
            await store.fold(chain.id, fold_updates)
            if appended.is_set():
                return

    await asyncio.gather(append(), fold(), fold())
    await store.fold(chain.id, fold_updates)
    loaded = await store.load_chain_updates(chain.id)
    edited.assert_rebuilt_by(loaded)
    # Each update is held once: by the base, or by a row after it, never by both.
    async with store.engine.connect() as conn:
        base_id = await conn.scalar(
            select(ChainBase.last_update_id).where(ChainBase.chain_id == chain.id)
        )
        oldest_row = await conn.scalar(
            select(func.min(ChainUpdate.id)).where(ChainUpdate.chain_id == chain.id)
        )
    assert base_id is not None and (oldest_row is None or oldest_row > base_id)


async def test_delete_keeps_snapshots_members_and_audit_and_undelete_brings_it_back(
    store: Store,
    fold_updates: Folder,
) -> None:
    chain = await store.create_chain("Home", "alice")
    other = await store.create_chain("Other", "alice")
    await store.change_member(chain.id, "corp:1", "editor", actor="alice", check=allow)
    edited = EditedDoc()
    await store.append_updates({chain.id: edited.edit(20), other.id: [b"kept"]})
    periodic = await store.fold(chain.id, fold_updates, snapshot_reason="periodic")
    final_state = edited.doc.get_update()
    counts = {"systems": 7, "connections": 2, "signatures": 0}

    assert await store.delete_chain(chain.id, actor="bob", final_state=final_state, counts=counts)

    assert await store.get_chain(chain.id) is None
    deleted = await store.get_chain(chain.id, include_deleted=True)
    assert deleted is not None and deleted.deleted_at is not None
    assert await store.list_chains(None) == [other]
    assert await log_rows(store, chain.id) == 0
    assert await log_rows(store, other.id) == 1
    assert await store.load_chain_updates(chain.id) == []
    snapshot, kept = await store.list_snapshots(chain.id)
    assert kept == periodic
    assert (snapshot.reason, snapshot.created_by, snapshot.counts) == ("delete", "bob", counts)
    assert await store.snapshot_state(chain.id, snapshot.id) == final_state
    assert await store.deleted_state(chain.id) == final_state
    latest = (await store.list_audit(chain.id))[0]
    assert (latest.actor, latest.action) == ("bob", "delete")
    assert latest.detail == {"snapshotId": snapshot.id}
    assert not await store.delete_chain(chain.id, actor="bob", final_state=b"", counts={})
    assert await store.fold(chain.id, fold_updates, snapshot_reason="manual") is None

    assert await store.undelete_chain(chain.id, "root")
    assert not await store.undelete_chain(chain.id, "root")
    assert await store.get_chain(chain.id) is not None
    assert await store.members(chain.id) == {"corp:1": "editor", "user:alice": "owner"}
    edited.assert_rebuilt_by(await store.load_chain_updates(chain.id))
    assert (await store.list_audit(chain.id))[0].action == "undelete"


async def test_thinning_and_deleting_snapshots(store: Store) -> None:
    chain = await store.create_chain("Home", "alice")
    state = EditedDoc().doc.get_update()
    for reason in ("periodic", "unload", "manual", "pre-restore", "periodic"):
        await store.add_snapshot(chain.id, state=state, reason=reason, counts={}, last_update_id=0)
    ids = [snapshot.id for snapshot in await store.list_snapshots(chain.id)]
    candidates = await store.thinning_candidates(now_ms() + 1000)
    assert [snapshot_id for snapshot_id, _ in candidates[chain.id]] == [ids[0], ids[3], ids[4]]
    # Only automatic snapshots are ever thinned, whatever the caller asks.
    assert await store.thin_snapshots(ids) == 3
    assert [s.reason for s in await store.list_snapshots(chain.id)] == ["pre-restore", "manual"]
    assert await store.delete_snapshot(chain.id, ids[1], "alice")
    assert not await store.delete_snapshot(chain.id, ids[1], "alice")
    latest = (await store.list_audit(chain.id))[0]
    assert (latest.action, latest.detail) == (
        "delete-snapshot",
        {"snapshotId": ids[1], "reason": "pre-restore"},
    )


async def test_updates_for_deleted_or_unknown_chains_do_not_block_a_batch(store: Store) -> None:
    live = await store.create_chain("Live", "alice")
    gone = await store.create_chain("Gone", "alice")
    await store.delete_chain(gone.id, actor="alice", final_state=b"\x00\x00", counts={})
    await store.append_updates({live.id: [b"a", b"b"], gone.id: [b"c"], "no-such-chain": [b"d"]})
    assert await store.load_chain_updates(live.id) == [b"a", b"b"]
    assert await log_rows(store, gone.id) == 0


async def test_ping(store: Store) -> None:
    await store.ping()


# Writer on a real database


@pytest.fixture
async def writer(store: Store) -> AsyncIterator[UpdateWriter]:
    writer = UpdateWriter(store, clock=SystemClock(), tasks=Tasks(), flush_ms=250)
    writer.start()
    yield writer
    await writer.close()


async def test_an_update_is_stored_within_flush_ms(store: Store, writer: UpdateWriter) -> None:
    chain = await store.create_chain("Home", "alice")

    async def rows_are(count: int) -> bool:
        return await log_rows(store, chain.id) == count

    edited = EditedDoc()
    for stored, update in enumerate(edited.edit(3), start=1):
        started = time.perf_counter()
        writer.add(chain.id, update)
        await poll(functools.partial(rows_are, stored), 1)
        assert time.perf_counter() - started < 0.25


async def test_a_burst_becomes_one_row_per_chain(store: Store) -> None:
    flushes: list[tuple[float, int, int]] = []
    writer = UpdateWriter(
        store, clock=SystemClock(), tasks=Tasks(), on_flush=lambda *flush: flushes.append(flush)
    )
    writer.start()
    home, other = await store.create_chain("Home", "a"), await store.create_chain("Other", "a")
    home_doc, other_doc = EditedDoc(), EditedDoc()
    for update in home_doc.edit(500):  # enough to need merging in groups
        writer.add(home.id, update)
    for update in other_doc.edit(40):
        writer.add(other.id, update)
    assert writer.pending_count == 540

    await writer.flush()

    assert writer.pending_count == 0
    assert (await log_rows(store, home.id), await log_rows(store, other.id)) == (1, 1)
    [(seconds, rows, updates)] = flushes
    assert (rows, updates) == (2, 540) and 0 < seconds < 1
    home_doc.assert_rebuilt_by(await store.load_chain_updates(home.id))
    other_doc.assert_rebuilt_by(await store.load_chain_updates(other.id))
    await writer.close()


async def test_flush_of_one_chain_waits_for_it(store: Store, writer: UpdateWriter) -> None:
    chain = await store.create_chain("Home", "alice")
    await writer.flush(chain.id)  # nothing pending: returns at once
    edited = EditedDoc()
    for update in edited.edit(5):
        writer.add(chain.id, update)
    await writer.flush(chain.id)
    edited.assert_rebuilt_by(await store.load_chain_updates(chain.id))


async def test_close_writes_everything_first(store: Store) -> None:
    # close() must not sit out a 2.5 s window
    writer = UpdateWriter(store, clock=SystemClock(), tasks=Tasks(), flush_ms=10_000)
    writer.start()
    chain = await store.create_chain("Home", "alice")
    edited = EditedDoc()
    for update in edited.edit(25):
        writer.add(chain.id, update)
    started = time.perf_counter()
    await writer.close()
    assert time.perf_counter() - started < 1
    edited.assert_rebuilt_by(await store.load_chain_updates(chain.id))
    with pytest.raises(RuntimeError, match="closed"):
        writer.add(chain.id, b"late")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_postgres_outage_loses_nothing(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    postgres_url = database_url
    caplog.set_level(logging.DEBUG, logger="mapper.persistence.writer")
    name = postgres_url.rsplit("/", 1)[1]
    await upgrade_database(postgres_url)
    store = Store(create_engine(postgres_url))
    chain = await store.create_chain("Home", "alice")
    writer = UpdateWriter(store, clock=SystemClock(), tasks=Tasks(), flush_ms=40)
    writer.start()
    edited = EditedDoc()
    for update in edited.edit(10):
        writer.add(chain.id, update)
    await writer.flush()

    admin = await psycopg.AsyncConnection.connect(POSTGRES, autocommit=True)
    await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
    )
    try:
        for update in edited.edit(30):
            writer.add(chain.id, update)
        await wait_until(lambda: not writer.healthy, 5)
        with pytest.raises(Exception, match="not currently accepting connections"):
            await store.ping()
        await asyncio.sleep(0.6)  # several retries
        for update in edited.edit(15):
            writer.add(chain.id, update)
        assert writer.pending_count == 45 and not writer.healthy
    finally:
        await admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        await admin.close()

    await asyncio.wait_for(writer.flush(), 10)
    assert writer.healthy and writer.pending_count == 0
    await store.ping()
    edited.assert_rebuilt_by(await store.load_chain_updates(chain.id))
    messages = [record.getMessage() for record in caplog.records]
    assert sum("database write failed; keeping" in message for message in messages) == 1
    assert sum("database write failed again" in message for message in messages) >= 2
    assert any("recovered" in message for message in messages)
    await writer.close()
    await store.close()


# Writer logic, with a stand-in store


class FakeStore:
    """Records each batch; can be made to fail, or to hold a write until released."""

    def __init__(self) -> None:
        self.batches: list[dict[str, list[bytes]]] = []
        self.failures = 0
        self.writing = asyncio.Event()
        self.release: asyncio.Event | None = None

    async def append_updates(self, batch: Mapping[str, Sequence[bytes]]) -> None:
        self.writing.set()
        if self.release is not None:
            await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise OSError("connection refused")
        self.batches.append({chain_id: list(updates) for chain_id, updates in batch.items()})


def fast_retrying_writer(fake: FakeStore) -> UpdateWriter:
    writer = UpdateWriter(fake, clock=SystemClock(), tasks=Tasks(), flush_ms=20)  # type: ignore[arg-type]
    writer.retry_first_s = writer.retry_max_s = 0.01
    return writer


async def test_updates_added_during_a_write_go_into_the_next() -> None:
    fake = FakeStore()
    fake.release = asyncio.Event()
    writer = fast_retrying_writer(fake)
    writer.start()
    edited = EditedDoc()
    first, second, third = edited.edit(3)
    writer.add("c", first)
    await fake.writing.wait()
    writer.add("c", second)
    writer.add("c", third)
    fake.release.set()
    await writer.flush("c")
    assert [len(batch["c"]) for batch in fake.batches] == [1, 1]
    assert fake.batches[0] == {"c": [first]}
    edited.assert_rebuilt_by([first, *fake.batches[1]["c"]])
    await writer.close()


async def test_failed_writes_are_retried_and_reported_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="mapper.persistence.writer")
    fake = FakeStore()
    fake.failures = 5
    writer = fast_retrying_writer(fake)
    writer.start()
    edited = EditedDoc()
    for update in edited.edit(4):
        writer.add("c", update)
    await wait_until(lambda: not writer.healthy, 2)
    assert writer.pending_count == 4
    await asyncio.wait_for(writer.flush(), 2)
    assert writer.healthy and writer.pending_count == 0
    [batch] = fake.batches
    edited.assert_rebuilt_by(batch["c"])
    levels = [(record.levelname, record.getMessage()[:22]) for record in caplog.records]
    assert levels.count(("WARNING", "database write failed;")) == 1
    assert levels.count(("DEBUG", "database write failed ")) == 4
    assert any(message.startswith("database writes recove") for _, message in levels)
    await writer.close()


async def test_close_gives_up_loudly_when_the_database_stays_away(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeStore()
    fake.failures = 1_000_000
    writer = fast_retrying_writer(fake)
    writer.start()
    writer.add("c", EditedDoc().edit(1)[0])
    waiting = asyncio.create_task(writer.flush())
    started = time.perf_counter()
    await writer.close(timeout=0.2)
    assert time.perf_counter() - started < 1
    assert "1 updates for 1 chains are LOST" in caplog.text
    with pytest.raises(RuntimeError, match="stopped"):
        await waiting


def test_unmergeable_updates_are_kept_as_they_are(caplog: pytest.LogCaptureFixture) -> None:
    [update] = EditedDoc().edit(1)
    assert merge([b"\xff\xff", update]) == [b"\xff\xff", update]
    assert "unmerged" in caplog.text

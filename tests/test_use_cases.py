"""The chain use cases (mapper.chains) on a real database, SQLite and Postgres, without HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mapper.chains.access import ChainAccess
from mapper.chains.chains import Chains
from mapper.chains.documents import ChainDocuments
from mapper.chains.errors import Conflict, Forbidden, Invalid, NotFound
from mapper.core.clock import SystemClock
from mapper.core.identity import Identity
from mapper.core.metrics import Metrics
from mapper.core.tasks import Tasks
from mapper.persistence.database import create_engine
from mapper.persistence.migrations import upgrade_database
from mapper.persistence.store import Store
from mapper.rooms.manager import RoomKind, RoomManager


def user(user_id: str, *groups: str) -> Identity:
    return Identity(user_id, user_id, admin=False, groups=groups, expires_at=float("inf"))


class Announced:
    """What the use cases told the wiring: chains whose members changed, chains deleted."""

    def __init__(self) -> None:
        self.members: list[str] = []
        self.deleted: list[str] = []

    async def members_changed(self, chain_id: str) -> None:
        self.members.append(chain_id)

    def chain_deleted(self, chain_id: str) -> None:
        self.deleted.append(chain_id)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    await upgrade_database(database_url)
    store = Store(create_engine(database_url))
    yield store
    await store.close()


@pytest.fixture
def announced() -> Announced:
    return Announced()


@pytest.fixture
def chains(store: Store, announced: Announced) -> Chains:
    async def flush(chain_id: str) -> None:
        """Nothing to flush: these tests write no document updates through a writer."""

    rooms = RoomManager(Metrics(), clock=SystemClock(), tasks=Tasks(), idle_s=60)
    kind = RoomKind("chain", store.load_chain_updates, store=None, flush=None)
    return Chains(
        store,
        ChainAccess(store),
        ChainDocuments(store, rooms, flush, kind),
        flush,
        members_changed=announced.members_changed,
        deleted=announced.chain_deleted,
    )


async def test_owners_revoking_each_other_at_once(chains: Chains, announced: Announced) -> None:
    """Each revocation checks its caller's role inside its own transaction: whichever commits
    first, the other caller is no longer a member and is refused."""
    alice, bob = user("alice"), user("bob")
    chain = await chains.create(alice, "Home")
    await chains.set_role(alice, chain.id, "user:bob", "owner")
    results = await asyncio.gather(
        chains.revoke(alice, chain.id, "user:bob"),
        chains.revoke(bob, chain.id, "user:alice"),
        return_exceptions=True,
    )
    assert sorted(type(result).__name__ for result in results) == ["MemberChange", "NotFound"]
    admin = Identity("root", "root", admin=True, groups=(), expires_at=float("inf"))
    assert list((await chains.members(admin, chain.id)).values()) == ["owner"]
    actions = [entry.action for entry in await chains.audit(admin, chain.id)]
    assert actions == ["revoke", "grant", "create"]
    assert announced.members == [chain.id, chain.id]  # the grant and the one revocation


async def test_refusals_change_nothing_and_announce_nothing(
    chains: Chains, announced: Announced
) -> None:
    alice, pilot = user("alice"), user("pilot", "corp:1")
    chain = await chains.create(alice, "Home")
    await chains.set_role(alice, chain.id, "corp:1", "editor")
    announced.members.clear()
    with pytest.raises(Conflict):
        await chains.revoke(alice, chain.id, "user:alice")
    with pytest.raises(Conflict):
        await chains.set_role(alice, chain.id, "user:alice", "editor")
    with pytest.raises(NotFound):
        await chains.revoke(alice, chain.id, "corp:2")
    with pytest.raises(Forbidden):
        await chains.set_role(pilot, chain.id, "user:pilot", "owner")
    with pytest.raises(NotFound):
        await chains.set_role(user("stranger"), chain.id, "user:stranger", "owner")
    with pytest.raises(Invalid):
        await chains.set_role(alice, chain.id, "corp:3", "admin")
    with pytest.raises(Invalid):
        await chains.set_role(alice, chain.id, "corp:three", "viewer")
    with pytest.raises(NotFound):
        await chains.revoke(alice, "not-a-chain-id", "corp:1")
    with pytest.raises(Invalid):
        await chains.create(alice, "   ")
    assert await chains.members(alice, chain.id) == {"corp:1": "editor", "user:alice": "owner"}
    assert [entry.action for entry in await chains.audit(alice, chain.id)] == ["grant", "create"]
    assert announced.members == []


async def test_a_deleted_chain_takes_no_member_change(chains: Chains, announced: Announced) -> None:
    alice = user("alice")
    chain = await chains.create(alice, "Home")
    await chains.delete(alice, chain.id)
    assert announced.deleted == [chain.id]
    with pytest.raises(NotFound):
        await chains.set_role(alice, chain.id, "corp:1", "viewer")
    assert await chains.visible(alice) == []

"""Chains and their members (contract section 3): each use case checks the caller's role,
checks its input, and does its work; a change and its audit entry commit together."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from mapper.chains.access import ChainAccess, require
from mapper.chains.documents import ChainDocuments, Flush
from mapper.chains.errors import BAD_MEMBER, NO_CHAIN, Conflict, Invalid, NotFound
from mapper.chains.schema import counts, new_chain_update
from mapper.core import roles
from mapper.core.identity import Identity
from mapper.persistence.records import AuditEntry, ChainRecord, MemberChange
from mapper.persistence.store import Store

MAX_NAME_CHARS = 100

MembersChanged = Callable[[str], Awaitable[None]]
"""Applies a chain's new members to its open sockets, in every process of the service."""
Deleted = Callable[[str], None]
"""Closes a deleted chain's open sockets, in every process of the service."""
MemberNames = Callable[[list[str]], Awaitable[dict[str, str]]]
"""The names of members (a character's, corporation's, alliance's or user's) where known."""


class Chains:
    def __init__(
        self,
        store: Store,
        access: ChainAccess,
        documents: ChainDocuments,
        flush: Flush,
        *,
        members_changed: MembersChanged,
        deleted: Deleted,
        names: MemberNames | None = None,
    ) -> None:
        self._store = store
        self._access = access
        self._documents = documents
        self._flush = flush
        self._members_changed = members_changed
        self._deleted = deleted
        self._names = names

    async def create(self, identity: Identity, name: object) -> ChainRecord:
        """A new chain, owned by the caller."""
        name = _chain_name(name)
        # The document starts with its meta entry, stored before anyone can join.
        return await self._store.create_chain(name, identity.user_id, new_chain_update(name))

    async def visible(self, identity: Identity) -> list[tuple[ChainRecord, str | None]]:
        """The chains the caller can see (service admins: all), each with the caller's role."""
        chains = await self._store.list_chains(None if identity.admin else identity.member_keys)
        return [(chain, await self._access.role(identity, chain.id)) for chain in chains]

    async def get(self, identity: Identity, chain_id: str) -> tuple[ChainRecord, str]:
        """The chain and the caller's role, for a viewer at least."""
        return await self._access.authorize(identity, chain_id, roles.VIEWER)

    async def document(self, identity: Identity, chain_id: str) -> dict[str, Any]:
        """The chain's current content as JSON, for a viewer at least."""
        await self._access.authorize(identity, chain_id, roles.VIEWER)
        return await self._documents.content(chain_id)

    async def delete(self, identity: Identity, chain_id: str) -> None:
        """Delete the chain's history, keeping a `delete` snapshot of its last content."""
        await self._access.authorize(identity, chain_id, roles.OWNER)
        doc = await self._documents.current(chain_id)
        await self._flush(chain_id)
        await self._store.delete_chain(
            chain_id, actor=identity.user_id, final_state=doc.get_update(), counts=counts(doc)
        )
        # Only once the deletion has committed: a client that reconnects at once (y-websocket
        # always does) must find the chain gone, not rejoin its room.
        self._deleted(chain_id)

    async def members(self, identity: Identity, chain_id: str) -> dict[str, str]:
        """Member key to role, for an owner."""
        await self._access.authorize(identity, chain_id, roles.OWNER)
        return await self._store.members(chain_id)

    async def member_list(
        self, identity: Identity, chain_id: str
    ) -> list[tuple[str, str, str | None]]:
        """(member, role, name where known) of each member, for an owner."""
        members = await self.members(identity, chain_id)
        keys = sorted(members)
        names = await self._names(keys) if self._names is not None and keys else {}
        return [(key, members[key], names.get(key)) for key in keys]

    async def rename(self, identity: Identity, chain_id: str, name: object) -> ChainRecord:
        """Give the chain a new name, for an owner."""
        await self._access.authorize(identity, chain_id, roles.OWNER)
        chain = await self._store.rename_chain(chain_id, _chain_name(name), actor=identity.user_id)
        if chain is None:
            raise NotFound(NO_CHAIN)
        await self._documents.set_name(chain_id, chain.name)
        return chain

    async def set_role(
        self, identity: Identity, chain_id: str, member: str, role: object
    ) -> MemberChange:
        """Grant a member a role or change it, for an owner."""
        await self._access.authorize(identity, chain_id, roles.OWNER)
        if not isinstance(role, str) or role not in roles.ROLES:
            raise Invalid(f"'role' must be one of {', '.join(roles.ROLES)}")
        return await self._change(identity, chain_id, member, role)

    async def revoke(self, identity: Identity, chain_id: str, member: str) -> MemberChange:
        """Take a member's role away, for an owner; their open sockets close."""
        await self._access.authorize(identity, chain_id, roles.OWNER)
        return await self._change(identity, chain_id, member, None)

    async def audit(self, identity: Identity, chain_id: str) -> list[AuditEntry]:
        """The chain's audit log, newest first, for an owner (and, once the chain is deleted,
        for service admins)."""
        await self._access.authorize(identity, chain_id, roles.OWNER, deleted=True)
        return await self._store.list_audit(chain_id)

    async def _change(
        self, identity: Identity, chain_id: str, member: str, role: str | None
    ) -> MemberChange:
        if not roles.MEMBER_PATTERN.fullmatch(member):
            raise Invalid(BAD_MEMBER)

        def check(members: Mapping[str, str]) -> None:
            # Judged on the members as they are inside the change's transaction: two owners
            # revoking each other at once cannot both pass, nor can an owner demoted meanwhile.
            require(roles.role_of(identity, members), roles.OWNER)
            if role is None and member not in members:
                raise NotFound(f"{member} is not a member of this chain")
            _keep_an_owner(members, member, role)

        change = await self._store.change_member(
            chain_id, member, role, actor=identity.user_id, check=check
        )
        if change is None:
            raise NotFound(NO_CHAIN)
        await self._members_changed(chain_id)
        return change


def _chain_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Invalid("'name' must be a non-empty string")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise Invalid(f"'name' must be at most {MAX_NAME_CHARS} characters")
    return name


def _keep_an_owner(members: Mapping[str, str], member: str, new_role: str | None) -> None:
    """A chain must keep at least one owner, or nobody could manage it but service admins."""
    owners = {m for m, r in members.items() if r == roles.OWNER}
    if owners == {member} and new_role != roles.OWNER:
        raise Conflict("that would leave the chain without an owner; add another first")

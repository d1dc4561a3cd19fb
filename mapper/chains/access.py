"""Who may do what on a chain: the caller's role, checked before a use case does its work."""

from __future__ import annotations

from mapper.chains.errors import NO_CHAIN, Forbidden, NotFound
from mapper.core import roles
from mapper.core.identity import Identity
from mapper.core.ids import is_chain_id
from mapper.persistence.records import ChainRecord
from mapper.persistence.store import Store


class ChainAccess:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def role(self, identity: Identity, chain_id: str) -> str | None:
        """The caller's role on the chain; service admins act as owner everywhere."""
        if identity.admin:
            return roles.OWNER
        return roles.strongest(await self._store.roles_for(chain_id, identity.member_keys))

    async def authorize(
        self, identity: Identity, chain_id: str, needed: str, *, deleted: bool = False
    ) -> tuple[ChainRecord, str]:
        """The chain and the caller's role on it, if that is at least `needed`; else NotFound
        (not a member, or no such chain: the same) or Forbidden. With `deleted`, service
        admins also reach deleted chains (to see and restore their snapshots)."""
        # An id no chain can have is not looked up: the database may refuse it, and a refusal
        # would read as "try again".
        if not is_chain_id(chain_id):
            raise NotFound(NO_CHAIN)
        chain = await self._store.get_chain(chain_id, include_deleted=deleted and identity.admin)
        # Both lookups either way, so the time taken does not tell the two cases apart.
        role = await self.role(identity, chain_id)
        if chain is None:
            raise NotFound(NO_CHAIN)
        return chain, require(role, needed)


def require(role: str | None, needed: str) -> str:
    """`role` if it is at least `needed`; a caller without a role is not a member: NotFound."""
    if role is None:
        raise NotFound(NO_CHAIN)
    if not roles.at_least(role, needed):
        raise Forbidden(f"this needs the {needed} role on the chain; you are {role}")
    return role

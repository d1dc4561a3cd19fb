"""Chains and their members (contract section 3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mapper.api.edge import NO_CHAIN, EdgeRoute, json_body
from mapper.api.errors import ApiError
from mapper.api.identity import caller
from mapper.core import roles
from mapper.core.identity import Identity
from mapper.persistence.store import ChainRecord

if TYPE_CHECKING:
    from mapper.service import Service

MAX_NAME_CHARS = 100


def service_of(request: Request) -> Service:
    return request.app.state.service


def chain_json(chain: ChainRecord, role: str | None) -> dict[str, Any]:
    return {
        "id": chain.id,
        "name": chain.name,
        "createdAt": chain.created_at,
        "createdBy": chain.created_by,
        "role": role,
    }


async def authorize(
    request: Request, needed: str, *, deleted: bool = False
) -> tuple[Identity, ChainRecord, str]:
    """The caller, the chain and the caller's role, or 401/404/403. With `deleted`, service
    admins also reach deleted chains (to see and restore their snapshots)."""
    identity = await caller(request)
    service = service_of(request)
    chain_id = request.path_params["chain_id"]
    chain = await service.store.get_chain(chain_id, include_deleted=deleted and identity.admin)
    # Non-members learn nothing about a chain's existence: the same answer, after the same
    # lookups, as for a chain that does not exist.
    role = await service.role(identity, chain_id)
    if chain is None or role is None:
        raise ApiError(404, NO_CHAIN)
    if not roles.at_least(role, needed):
        raise ApiError(403, f"this needs the {needed} role on the chain; you are {role}")
    return identity, chain, role


def _chain_name(data: dict[str, Any]) -> str:
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(422, "'name' must be a non-empty string")
    name = name.strip()
    if len(name) > MAX_NAME_CHARS:
        raise ApiError(422, f"'name' must be at most {MAX_NAME_CHARS} characters")
    return name


async def create_chain(request: Request) -> Response:
    identity = await caller(request)
    name = _chain_name(json_body(request))
    chain = await service_of(request).create_chain(name, identity.user_id)
    return JSONResponse(chain_json(chain, roles.OWNER), status_code=201)


async def list_chains(request: Request) -> Response:
    identity = await caller(request)
    service = service_of(request)
    chains = await service.store.list_chains(None if identity.admin else identity.member_keys)
    items = [chain_json(chain, await service.role(identity, chain.id)) for chain in chains]
    return JSONResponse({"items": items})


async def get_chain(request: Request) -> Response:
    _, chain, role = await authorize(request, roles.VIEWER)
    return JSONResponse(chain_json(chain, role))


async def get_document(request: Request) -> Response:
    _, chain, _ = await authorize(request, roles.VIEWER)
    return JSONResponse(await service_of(request).chain_content(chain.id))


async def delete_chain(request: Request) -> Response:
    identity, chain, _ = await authorize(request, roles.OWNER)
    await service_of(request).delete_chain(chain.id, identity.user_id)
    return Response(status_code=204)


async def list_members(request: Request) -> Response:
    _, chain, _ = await authorize(request, roles.OWNER)
    members = await service_of(request).store.members(chain.id)
    return JSONResponse({"items": [{"member": m, "role": r} for m, r in sorted(members.items())]})


async def put_member(request: Request) -> Response:
    identity, chain, _ = await authorize(request, roles.OWNER)
    member: str = request.path_params["member"]
    role = json_body(request).get("role")
    if role not in roles.ROLES:
        raise ApiError(422, f"'role' must be one of {', '.join(roles.ROLES)}")
    service = service_of(request)
    members = await service.store.members(chain.id)
    _keep_an_owner(members, member, role)
    await service.store.set_member(chain.id, member, role)
    action = "grant" if member not in members else "change"
    detail = {"member": member, "role": role, "previous": members.get(member)}
    await service.store.add_audit(chain.id, identity.user_id, action, detail)
    await service.refresh_access(chain.id)
    return JSONResponse({"member": member, "role": role})


async def delete_member(request: Request) -> Response:
    identity, chain, _ = await authorize(request, roles.OWNER)
    member: str = request.path_params["member"]
    service = service_of(request)
    members = await service.store.members(chain.id)
    if member not in members:
        raise ApiError(404, f"{member} is not a member of this chain")
    _keep_an_owner(members, member, None)
    await service.store.remove_member(chain.id, member)
    detail = {"member": member, "previous": members[member]}
    await service.store.add_audit(chain.id, identity.user_id, "revoke", detail)
    await service.refresh_access(chain.id)
    return Response(status_code=204)


def _keep_an_owner(members: dict[str, str], member: str, new_role: str | None) -> None:
    """A chain must keep at least one owner, or nobody could manage it but service admins."""
    owners = {m for m, r in members.items() if r == roles.OWNER}
    if owners == {member} and new_role != roles.OWNER:
        raise ApiError(409, "that would leave the chain without an owner; add another first")


routes = [
    EdgeRoute("/api/chains", create_chain, "POST"),
    EdgeRoute("/api/chains", list_chains, "GET"),
    EdgeRoute("/api/chains/{chain_id}", get_chain, "GET"),
    EdgeRoute("/api/chains/{chain_id}", delete_chain, "DELETE"),
    EdgeRoute("/api/chains/{chain_id}/document", get_document, "GET"),
    EdgeRoute("/api/chains/{chain_id}/members", list_members, "GET"),
    EdgeRoute("/api/chains/{chain_id}/members/{member}", put_member, "PUT"),
    EdgeRoute("/api/chains/{chain_id}/members/{member}", delete_member, "DELETE"),
]

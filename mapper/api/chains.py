"""Chains and their members (contract section 3): the HTTP form of `mapper.chains.chains`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mapper.api.edge import EdgeRoute, json_body
from mapper.api.identity import caller
from mapper.chains.webhooks import webhook_json
from mapper.core import roles
from mapper.persistence.records import ChainRecord

if TYPE_CHECKING:
    from mapper.service import Service


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


def chain_id_of(request: Request) -> str:
    chain_id: str = request.path_params["chain_id"]
    return chain_id


async def create_chain(request: Request) -> Response:
    identity = await caller(request)
    chain = await service_of(request).chains.create(identity, json_body(request).get("name"))
    return JSONResponse(chain_json(chain, roles.OWNER), status_code=201)


async def list_chains(request: Request) -> Response:
    identity = await caller(request)
    chains = await service_of(request).chains.visible(identity)
    return JSONResponse({"items": [chain_json(chain, role) for chain, role in chains]})


async def get_chain(request: Request) -> Response:
    identity = await caller(request)
    chain, role = await service_of(request).chains.get(identity, chain_id_of(request))
    return JSONResponse(chain_json(chain, role))


async def get_document(request: Request) -> Response:
    identity = await caller(request)
    return JSONResponse(await service_of(request).chains.document(identity, chain_id_of(request)))


async def delete_chain(request: Request) -> Response:
    identity = await caller(request)
    await service_of(request).chains.delete(identity, chain_id_of(request))
    return Response(status_code=204)


async def list_members(request: Request) -> Response:
    identity = await caller(request)
    members = await service_of(request).chains.member_list(identity, chain_id_of(request))
    return JSONResponse(
        {"items": [{"member": m, "role": r, "name": name} for m, r, name in members]}
    )


async def rename_chain(request: Request) -> Response:
    identity = await caller(request)
    chain = await service_of(request).chains.rename(
        identity, chain_id_of(request), json_body(request).get("name")
    )
    return JSONResponse(chain_json(chain, roles.OWNER))  # only an owner may rename


async def put_member(request: Request) -> Response:
    identity = await caller(request)
    change = await service_of(request).chains.set_role(
        identity,
        chain_id_of(request),
        request.path_params["member"],
        json_body(request).get("role"),
    )
    return JSONResponse({"member": change.member, "role": change.role})


async def delete_member(request: Request) -> Response:
    identity = await caller(request)
    await service_of(request).chains.revoke(
        identity, chain_id_of(request), request.path_params["member"]
    )
    return Response(status_code=204)


async def get_webhook(request: Request) -> Response:
    identity = await caller(request)
    record = await service_of(request).webhooks.get(identity, chain_id_of(request))
    return JSONResponse(webhook_json(record))


async def put_webhook(request: Request) -> Response:
    identity = await caller(request)
    record = await service_of(request).webhooks.set(
        identity, chain_id_of(request), json_body(request)
    )
    return JSONResponse(webhook_json(record))


async def delete_webhook(request: Request) -> Response:
    identity = await caller(request)
    await service_of(request).webhooks.clear(identity, chain_id_of(request))
    return Response(status_code=204)


routes = [
    EdgeRoute("/api/chains", create_chain, "POST"),
    EdgeRoute("/api/chains", list_chains, "GET"),
    EdgeRoute("/api/chains/{chain_id}", get_chain, "GET"),
    EdgeRoute("/api/chains/{chain_id}", rename_chain, "PATCH"),
    EdgeRoute("/api/chains/{chain_id}", delete_chain, "DELETE"),
    EdgeRoute("/api/chains/{chain_id}/document", get_document, "GET"),
    EdgeRoute("/api/chains/{chain_id}/members", list_members, "GET"),
    EdgeRoute("/api/chains/{chain_id}/members/{member}", put_member, "PUT"),
    EdgeRoute("/api/chains/{chain_id}/members/{member}", delete_member, "DELETE"),
    EdgeRoute("/api/chains/{chain_id}/webhook", get_webhook, "GET"),
    EdgeRoute("/api/chains/{chain_id}/webhook", put_webhook, "PUT"),
    EdgeRoute("/api/chains/{chain_id}/webhook", delete_webhook, "DELETE"),
]

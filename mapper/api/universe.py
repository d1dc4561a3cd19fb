"""Static data over HTTP (contract section 8). Answers are cacheable: an ETag that changes
with each import, and Cache-Control, so an offline browser can keep what it has used."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mapper import access
from mapper.api.chains import service_of
from mapper.api.errors import ApiError
from mapper.api.identity import caller
from universe.index import UniverseIndex
from universe.route import chain_links, shortest_path

MAX_IDS = 1000
MAX_LIMIT = 100
MAX_SEARCH_CHARS = 100
CACHE_CONTROL = "private, max-age=300"
_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits only, and short: int() gets nothing odd


def _cached(request: Request, index: UniverseIndex, body: Any) -> Response:
    content = json.dumps(body, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(b"%d:" % index.version + content).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(content, media_type="application/json", headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """If-None-Match compares weakly, a list or `*` (RFC 9110 13.1.2)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags


def _system_id(raw: str, name: str) -> int:
    if not _ID.fullmatch(raw.strip()):
        raise ApiError(400, f"'{name}' must be a system id (a positive integer), not {raw!r}")
    return int(raw)


def _int_param(request: Request, name: str) -> int:
    return _system_id(request.query_params.get(name, ""), name)


def _flag(request: Request, name: str) -> bool:
    return request.query_params.get(name, "").lower() in ("1", "true", "yes")


async def _index(request: Request) -> UniverseIndex:
    await caller(request)
    return await service_of(request).universe.index()


async def systems(request: Request) -> Response:
    index = await _index(request)
    if "ids" in request.query_params:
        parts = [part for part in request.query_params["ids"].split(",") if part.strip()]
        if len(parts) > MAX_IDS:
            raise ApiError(400, f"at most {MAX_IDS} ids at once")
        ids = [_system_id(part, "ids") for part in parts]
        items = [index.systems[key] for key in ids if key in index.systems]
    elif "search" in request.query_params:
        raw_limit = request.query_params.get("limit", "20")
        if not _ID.fullmatch(raw_limit) or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise ApiError(400, f"'limit' must be 1 to {MAX_LIMIT}")
        text = request.query_params["search"]
        if len(text) > MAX_SEARCH_CHARS:
            raise ApiError(400, f"'search' is at most {MAX_SEARCH_CHARS} characters")
        items = index.search(text, int(raw_limit)) if text.strip() else []
    else:
        raise ApiError(400, "give ?ids=1,2 or ?search=prefix")
    return _cached(request, index, {"items": items})


async def system(request: Request) -> Response:
    index = await _index(request)
    raw = request.path_params["system_id"]
    found = index.systems.get(int(raw)) if _ID.fullmatch(raw) else None
    if found is None:
        raise ApiError(404, f"no system {raw!r} in the static data")
    body = {
        **found,
        "neighbours": index.neighbours.get(found["id"], []),
        "statics": index.statics.get(found["id"], []),
    }
    return _cached(request, index, body)


async def wormholes(request: Request) -> Response:
    index = await _index(request)
    return _cached(request, index, {"items": index.wormholes})


async def route(request: Request) -> Response:
    identity = await caller(request)
    service = service_of(request)
    index = await service.universe.index()
    start, goal = _int_param(request, "from"), _int_param(request, "to")
    links: dict[int, set[int]] = {}
    chain_id = request.query_params.get("chain")
    if chain_id:
        chain = await service.store.get_chain(chain_id)
        role = await service.role(identity, chain_id) if chain is not None else None
        if role is None or not access.at_least(role, access.VIEWER):
            raise ApiError(404, f"no chain {chain_id!r} that you can see")
        content = await service.chain_content(chain_id)
        links = chain_links(
            content["connections"],
            avoid_eol=_flag(request, "avoidEol"),
            avoid_critical=_flag(request, "avoidCritical"),
        )
    avoid_unsafe = _flag(request, "avoidLowNull")

    def neighbours(system_id: int) -> list[int]:
        return [*index.neighbours.get(system_id, []), *sorted(links.get(system_id, ()))]

    def allowed(system_id: int) -> bool:
        return not (avoid_unsafe and index.is_low_or_null(system_id))

    path = shortest_path(start, goal, neighbours, allowed)
    if path is None:
        raise ApiError(404, f"no path from {start} to {goal}")
    body = {"jumps": len(path) - 1, "path": path}
    if chain_id:  # depends on the chain's live content: not for caches
        headers = {"Cache-Control": "no-store"}
        return Response(json.dumps(body), media_type="application/json", headers=headers)
    return _cached(request, index, body)


routes = [
    Route("/api/universe/systems", systems, methods=["GET"]),
    Route("/api/universe/systems/{system_id}", system, methods=["GET"]),
    Route("/api/universe/wormholes", wormholes, methods=["GET"]),
    Route("/api/universe/route", route, methods=["GET"]),
]

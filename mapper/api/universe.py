"""Static data over HTTP (contract section 8). Answers are cacheable: an ETag that changes
with each import, and Cache-Control, so an offline browser can keep what it has used."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from mapper.api.chains import service_of
from mapper.api.edge import EdgeRoute, query_chain_id, query_number, query_numbers
from mapper.api.errors import ApiError
from mapper.api.identity import caller
from mapper.core import ids
from mapper.universe.index import UniverseIndex
from mapper.universe.route import SIZES, Link, adjacency, chain_links, shortest_path

MAX_IDS = 1000
MAX_LIMIT = 100
MAX_SEARCH_CHARS = 100
CACHE_CONTROL = "private, max-age=300"


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


def _flag(request: Request, name: str) -> bool:
    """`&name`, `&name=1` (or true, yes) ask for the option; absent or anything else not."""
    value = request.query_params.get(name)
    return value is not None and value.lower() in ("", "1", "true", "yes")


async def _index(request: Request) -> UniverseIndex:
    await caller(request)
    return await service_of(request).universe.index()


def _lookup(
    request: Request,
    by_id: Mapping[int, dict[str, Any]],
    search: Callable[[str, int], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """The items a lookup asks for: `?ids=1,2` (unknown ids left out) or `?search=prefix`."""
    if "ids" in request.query_params:
        wanted = query_numbers(request, "ids", ids.MAX_EVE_ID, MAX_IDS)
        return [by_id[key] for key in wanted if key in by_id]
    if "search" in request.query_params:
        limit = query_number(request, "limit", 1, MAX_LIMIT, default=20)
        text = request.query_params["search"]
        if len(text) > MAX_SEARCH_CHARS:
            raise ApiError(400, f"'search' is at most {MAX_SEARCH_CHARS} characters")
        return search(text, limit) if text.strip() else []
    raise ApiError(400, "give ?ids=1,2 or ?search=prefix")


async def systems(request: Request) -> Response:
    index = await _index(request)
    return _cached(request, index, {"items": _lookup(request, index.systems, index.search)})


async def system(request: Request) -> Response:
    index = await _index(request)
    system_id: int = request.path_params["system_id"]
    found = index.systems.get(system_id)
    if found is None:
        raise ApiError(404, f"no system {system_id} in the static data")
    body = {**found, "neighbours": index.neighbours.get(found["id"], [])}
    return _cached(request, index, body)


async def ships(request: Request) -> Response:
    """Ship types by name (`?search=`, for picking a ship) or by id (`?ids=`)."""
    index = await _index(request)
    return _cached(request, index, {"items": _lookup(request, index.ships, index.search_ships)})


async def wormholes(request: Request) -> Response:
    index = await _index(request)
    return _cached(request, index, {"items": index.wormholes})


async def route(request: Request) -> Response:
    identity = await caller(request)
    service = service_of(request)
    index = await service.universe.index()
    start = query_number(request, "from", 0, ids.MAX_EVE_ID)
    goal = query_number(request, "to", 0, ids.MAX_EVE_ID)
    min_size = request.query_params.get("minSize") or None
    if min_size is not None and min_size not in SIZES:
        raise ApiError(400, f"'minSize' is one of {', '.join(SIZES)}")
    # Connections besides stargates: the chain's, and any other source a route may use.
    extra: list[Link] = []
    chain_id = query_chain_id(request, "chain")
    if chain_id:
        content = await service.chains.document(identity, chain_id)
        extra += chain_links(
            content["connections"],
            avoid_eol=_flag(request, "avoidEol"),
            avoid_critical=_flag(request, "avoidCritical"),
            sizes=index.sizes,
        )
    eve_scout = _flag(request, "eveScout")
    if eve_scout:  # EVE-Scout's Thera and Turnur connections, sized as it says
        extra += [
            Link(c.in_system, c.out_system, c.size or None) for c in service.intel.connections()
        ]
    links = adjacency(extra, min_size=min_size)
    avoid_unsafe = _flag(request, "avoidLowNull")

    def neighbours(system_id: int) -> list[int]:
        return [*index.neighbours.get(system_id, []), *sorted(links.get(system_id, ()))]

    def allowed(system_id: int) -> bool:
        return not (avoid_unsafe and index.is_low_or_null(system_id))

    path = shortest_path(start, goal, neighbours, allowed)
    if path is None:
        raise ApiError(404, f"no path from {start} to {goal}")
    body = {"jumps": len(path) - 1, "path": path}
    if chain_id or eve_scout:  # depends on live content: not for caches
        headers = {"Cache-Control": "no-store"}
        return Response(json.dumps(body), media_type="application/json", headers=headers)
    return _cached(request, index, body)


routes = [
    EdgeRoute("/api/universe/systems", systems, "GET"),
    EdgeRoute("/api/universe/systems/{system_id}", system, "GET"),
    EdgeRoute("/api/universe/wormholes", wormholes, "GET"),
    EdgeRoute("/api/universe/ships", ships, "GET"),
    EdgeRoute("/api/universe/route", route, "GET"),
]

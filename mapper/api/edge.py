"""The API's edge: every route's path parameters, query string and body are checked here,
before its handler runs, so a handler only ever sees well-formed input.

Routes are declared as `EdgeRoute`s. A path parameter is checked by its name (see
`PATH_PARAMS`); a route with a parameter name that has no check fails at import, so a new
route cannot forget one. `create_app` refuses a plain `Route` in the API.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mapper.api.errors import ApiError
from mapper.chains.errors import BAD_MEMBER, NO_CHAIN, NO_SNAPSHOT
from mapper.core import ids, roles

Endpoint = Callable[[Request], Awaitable[Response]]

MAX_BODY_BYTES = 64 * 1024
MAX_JSON_DEPTH = 32  # arrays and objects within each other; real bodies nest two or three


def _chain_id(raw: str) -> str:
    if not ids.is_chain_id(raw):
        raise ApiError(404, NO_CHAIN)
    return raw


def _snapshot_id(raw: str) -> int:
    value = ids.number(raw, ids.MAX_ROW_ID)
    if value is None:
        raise ApiError(404, NO_SNAPSHOT)
    return value


def _system_id(raw: str) -> int:
    value = ids.number(raw, ids.MAX_EVE_ID)
    if value is None:
        raise ApiError(404, "no such system in the static data")
    return value


def _character_id(raw: str) -> int:
    value = ids.number(raw, ids.MAX_ROW_ID)
    if value is None:
        raise ApiError(404, "no such character of yours")
    return value


def _member(raw: str) -> str:
    if not roles.MEMBER_PATTERN.fullmatch(raw):
        raise ApiError(422, BAD_MEMBER)
    return raw


# Each path parameter's check by name: the raw text in, the handler's value out, or an error.
PATH_PARAMS: dict[str, Callable[[str], object]] = {
    "chain_id": _chain_id,
    "snapshot_id": _snapshot_id,
    "system_id": _system_id,
    "member": _member,
    "character_id": _character_id,
}


class EdgeRoute(Route):
    """An API route whose input is checked before its handler runs."""

    def __init__(self, path: str, endpoint: Endpoint, method: str) -> None:
        async def checked(request: Request) -> Response:
            await _check(request)
            return await endpoint(request)

        super().__init__(path, checked, methods=[method], name=endpoint.__name__)
        unchecked = sorted(self.param_convertors.keys() - PATH_PARAMS.keys())
        if unchecked:
            raise ValueError(f"{path}: add a check to edge.PATH_PARAMS for {unchecked}")


async def _check(request: Request) -> None:
    params = request.path_params
    request.scope["path_params"] = {name: PATH_PARAMS[name](raw) for name, raw in params.items()}
    for key, value in request.query_params.multi_items():
        if "\x00" in key or "\x00" in value:
            raise ApiError(400, "the query string may not contain NUL characters")
    request.state.json_body = await _read_json(request)


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, as the edge read and checked it; no body reads as `{}`."""
    body: dict[str, Any] = request.state.json_body
    return body


async def _read_json(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    # The HTTP server has checked the header's form: only a size over the limit fails here.
    if declared and ids.number(declared, MAX_BODY_BYTES) is None:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body:
        return {}
    _check_media_type(request.headers.get("content-type"))
    if _nesting(body) > MAX_JSON_DEPTH:
        raise ApiError(400, f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except ValueError:  # UnicodeDecodeError is one too
        raise ApiError(400, "request body is not valid JSON in UTF-8") from None
    if not isinstance(data, dict):
        raise ApiError(422, "request body must be a JSON object")
    for text in _strings(data):
        if "\x00" in text:
            raise ApiError(422, "strings in the request body may not contain NUL characters")
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate escape such as "\ud800"
                raise ApiError(400, "request body has a string that is not Unicode text") from None
    return data


def _check_media_type(content_type: str | None) -> None:
    """JSON, or no Content-Type at all (as `curl --data-binary` sends)."""
    if content_type is None:
        return
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise ApiError(
            400, "send the body as JSON (Content-Type: application/json)", "unsupported_media_type"
        )


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _nesting(body: bytes) -> int:
    """How deep arrays and objects nest in `body`, found before parsing, which recurses."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to go too deep: the usual case, and cheap
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in b"[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > MAX_JSON_DEPTH:
                    break
        elif byte in b"]}":
            depth -= 1
    return deepest


def _strings(value: object) -> Iterator[str]:
    """Every string in a parsed JSON value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def query_number(
    request: Request, name: str, low: int, high: int, default: int | None = None
) -> int:
    """The query parameter `name` as an int from `low` to `high`, or a 400."""
    raw = request.query_params.get(name)
    if raw is None and default is not None:
        return default
    value = ids.number((raw or "").strip(), high)
    if value is None or value < low:
        raise ApiError(400, f"'{name}' must be a whole number from {low} to {high}")
    return value


def query_numbers(request: Request, name: str, high: int, most: int) -> list[int]:
    """The query parameter `name` as up to `most` comma-separated ints from 0 to `high`."""
    parts = [part.strip() for part in request.query_params.get(name, "").split(",")]
    parts = [part for part in parts if part]
    if len(parts) > most:
        raise ApiError(400, f"at most {most} values in '{name}'")
    numbers = [value for part in parts if (value := ids.number(part, high)) is not None]
    if len(numbers) < len(parts):
        raise ApiError(400, f"'{name}' must be whole numbers from 0 to {high}, comma-separated")
    return numbers


def query_chain_id(request: Request, name: str) -> str | None:
    """The query parameter `name` as a chain id, None when absent or empty, or a 404."""
    raw = request.query_params.get(name)
    return _chain_id(raw) if raw else None


def check_routes(routes: list[Any], pages: set[str]) -> None:
    """Refuse a plain HTTP `Route` (one whose input nobody checks) other than `pages`."""
    unchecked = [route.path for route in routes if type(route) is Route and route.path not in pages]
    if unchecked:
        raise ValueError(f"declare these as edge.EdgeRoute, so their input is checked: {unchecked}")

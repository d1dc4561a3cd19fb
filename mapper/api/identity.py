"""Who is calling: the bearer token of an HTTP request, verified."""

from __future__ import annotations

from starlette.requests import Request

from mapper.api.errors import ApiError
from mapper.auth import AuthError
from mapper.core.identity import Identity


async def caller(request: Request) -> Identity:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "send your token as 'Authorization: Bearer <JWT>'")
    try:
        return await request.app.state.service.auth.verify(token.strip())
    except AuthError as error:
        raise ApiError(401, f"invalid token: {error}") from None

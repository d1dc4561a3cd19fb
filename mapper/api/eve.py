"""The built-in EVE login over HTTP (contract section 9): sign in, link, the caller's characters,
sign out, and the search for characters, corporations and alliances to share chains with.

The browser leaves for EVE from `GET /auth/eve/login` (or, to link one more character, from the
URL that `POST /auth/eve/login?link=1` answers to a caller who sends their token in the
`Authorization` header: a token never rides in a query string). It comes back to
`/auth/eve/callback` and ends on `/#token=<JWT>`, in the fragment, which no server logs.
"""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from mapper.api.edge import EdgeRoute
from mapper.api.errors import ApiError
from mapper.api.identity import caller
from mapper.eve.accounts import NotLinked
from mapper.eve.login import CALLBACK_PATH, COOKIE, LOGIN_TTL_S, LoginFailed, Started, TooManyLogins
from mapper.eve.lookup import MAX_QUERY, MIN_QUERY
from mapper.eve.setup import EveLogin, TooManySearches

NOT_SET_UP = "the EVE login is not set up on this service (MAPPER_EVE_CLIENT_ID)"
# The token and EVE's code pass through these pages: no caching, no Referer to elsewhere.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def eve_of(request: Request) -> EveLogin:
    eve: EveLogin | None = request.app.state.service.eve
    if eve is None:
        raise ApiError(404, NOT_SET_UP)
    return eve


def _with_cookie(response: Response, nonce: str, secure: bool) -> Response:
    response.set_cookie(
        COOKIE,
        nonce,
        max_age=int(LOGIN_TTL_S),
        path=CALLBACK_PATH,
        secure=secure,
        httponly=True,
        samesite="lax",  # sent on EVE's redirect back (a top-level GET), not on other requests
    )
    return response


def _page(status: int, message: str) -> HTMLResponse:
    body = (
        "<!doctype html><meta charset=utf-8><title>Sign in with EVE</title>"
        f"<p>{html.escape(message)}</p><p><a href=/>Back to the map</a></p>"
    )
    return HTMLResponse(body, status_code=status, headers=PRIVATE)


async def status(request: Request) -> Response:
    """Whether the page should offer "Sign in with EVE"."""
    enabled = request.app.state.service.eve is not None
    return JSONResponse({"enabled": enabled, "loginUrl": "/auth/eve/login" if enabled else None})


async def login(request: Request) -> Response:
    """The browser's way in: off to EVE's login page."""
    eve = eve_of(request)
    if request.query_params.get("link"):
        return _page(
            400,
            "To link another character, use the Link character button of the page while "
            "signed in: it sends your token the safe way.",
        )
    try:
        started = await eve.login.begin(None)
    except TooManyLogins as refused:
        return _page(429, str(refused))
    response = RedirectResponse(started.url, status_code=302, headers=PRIVATE)
    return _with_cookie(response, started.cookie, eve.secure_cookie)


async def login_url(request: Request) -> Response:
    """EVE's login URL for the page to send the browser to; with `?link=1`, the character
    signed in there joins the caller (whose token this request carries in its header)."""
    eve = eve_of(request)
    link = request.query_params.get("link") in ("1", "true")
    identity = await caller(request) if link else None
    started = await _begin(eve, identity.user_id if identity is not None else None)
    response = JSONResponse({"url": started.url}, headers=PRIVATE)
    return _with_cookie(response, started.cookie, eve.secure_cookie)


async def _begin(eve: EveLogin, link_user_id: str | None) -> Started:
    try:
        return await eve.login.begin(link_user_id)
    except TooManyLogins as refused:
        raise ApiError(429, str(refused)) from None


async def callback(request: Request) -> Response:
    eve = eve_of(request)
    if request.query_params.get("error"):
        return _page(400, "EVE's login was cancelled or refused; nobody was signed in.")
    try:
        token = await eve.login.finish(
            request.query_params.get("state"),
            request.query_params.get("code"),
            request.cookies.get(COOKIE),
        )
    except LoginFailed as failure:
        response: Response = _page(400, str(failure))
    else:
        response = RedirectResponse(f"/#token={token}", status_code=303, headers=PRIVATE)
    # The login is over either way: its state was used up.
    response.delete_cookie(COOKIE, path=CALLBACK_PATH)
    return response


async def my_characters(request: Request) -> Response:
    identity = await caller(request)
    items = await eve_of(request).accounts.characters(identity)
    return JSONResponse({"items": items})


async def unlink_character(request: Request) -> Response:
    identity = await caller(request)
    try:
        await eve_of(request).accounts.unlink(identity, request.path_params["character_id"])
    except NotLinked as missing:
        raise ApiError(404, str(missing)) from None
    return Response(status_code=204)


async def sign_out(request: Request) -> Response:
    identity = await caller(request)
    await eve_of(request).accounts.sign_out(identity)
    return Response(status_code=204)


async def search(request: Request) -> Response:
    identity = await caller(request)
    eve = eve_of(request)
    query = request.query_params.get("q", "").strip()
    if not MIN_QUERY <= len(query) <= MAX_QUERY:
        raise ApiError(400, f"'q' must be {MIN_QUERY} to {MAX_QUERY} characters")
    try:
        found = await eve.search(identity.user_id, query)
    except TooManySearches as refused:
        raise ApiError(429, str(refused)) from None
    items = [
        {"member": entry.member, "kind": entry.kind, "id": entry.id, "name": entry.name}
        for entry in found
    ]
    return JSONResponse({"items": items})


routes = [
    EdgeRoute("/auth/eve", status, "GET"),
    EdgeRoute("/auth/eve/login", login, "GET"),
    EdgeRoute("/auth/eve/login", login_url, "POST"),
    EdgeRoute(CALLBACK_PATH, callback, "GET"),
    EdgeRoute("/auth/eve/logout", sign_out, "POST"),
    EdgeRoute("/api/me/characters", my_characters, "GET"),
    EdgeRoute("/api/me/characters/{character_id}", unlink_character, "DELETE"),
    EdgeRoute("/api/eve/search", search, "GET"),
]

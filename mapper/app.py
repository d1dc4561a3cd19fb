"""The ASGI application: routes, error handlers, and the service's start and stop."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.exc import DataError, OperationalError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from mapper import web
from mapper.api import chains, edge, eve, health, snapshots, universe
from mapper.api.errors import (
    ApiError,
    handle_api_error,
    handle_database_error,
    handle_http_exception,
    handle_refused,
    handle_unexpected,
    handle_unstorable,
)
from mapper.api.sockets import chain_socket, intel_socket, user_socket
from mapper.chains.errors import Refused
from mapper.core.clock import Clock
from mapper.service import Service
from mapper.settings import Settings

WEB_ROOT = Path(web.__file__).resolve().parent / "static"


async def web_app(request: Request) -> Response:
    """The map page; the browser app routes itself from the path."""
    return FileResponse(WEB_ROOT / "index.html")


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Starlette:
    """The service as an ASGI app; `clock` drives the sync engine (default: the system's)."""
    service = Service(settings or Settings.load(), clock)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        *health.routes,
        *chains.routes,
        *snapshots.routes,
        *universe.routes,
        *eve.routes,
        WebSocketRoute("/ws/chains/{chain_id}", chain_socket),
        WebSocketRoute("/ws/users/me", user_socket),
        WebSocketRoute("/ws/intel", intel_socket),
        Route("/chains/{chain_id}", web_app, methods=["GET"]),
        Mount("/", StaticFiles(directory=WEB_ROOT, html=True), name="web"),
    ]
    # The page takes any path: the browser app shows what the API answers for its chain id.
    edge.check_routes(routes, pages={"/chains/{chain_id}"})
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: handle_api_error,
            Refused: handle_refused,
            HTTPException: handle_http_exception,
            # Connection-level failures (server down, connection refused or lost).
            OperationalError: handle_database_error,
            DataError: handle_unstorable,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.service = service
    return app

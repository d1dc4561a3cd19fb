"""Liveness, readiness and metrics (contract section 1)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mapper.api.edge import EdgeRoute
from mapper.api.errors import ApiError
from mapper.api.identity import caller

if TYPE_CHECKING:
    from mapper.service import Service

READY_TIMEOUT_S = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    service = request.app.state.service
    try:
        await asyncio.wait_for(service.check_database(), READY_TIMEOUT_S)
        database = service.writer.healthy
    except Exception:
        database = False
    build = await _static_data_build(service) if database else None
    body = {
        "status": "ok" if database else "unavailable",
        "database": database,
        "pendingUpdates": service.writer.pending_count,
        # Without static data the service still runs (systems show by id): never a 503.
        "staticData": build is not None,
        # Which data is in use: the package's own file, or what was imported (and when).
        "staticDataBuild": build,
    }
    return JSONResponse(body, status_code=200 if database else 503)


async def _static_data_build(service: Service) -> str | None:
    """What the systems come from, or None without any. The universe index is loaded once
    per import and then rechecked every few seconds with one tiny query, so this costs
    nothing per probe. A slow first load goes on in the background (shielded) and a later
    probe sees it."""
    try:
        index = await asyncio.wait_for(asyncio.shield(service.universe.index()), READY_TIMEOUT_S)
    except Exception:
        return None
    return (index.build or "unknown") if index.systems else None


async def metrics(request: Request) -> Response:
    service = request.app.state.service
    if not service.settings.metrics_public:
        identity = await caller(request)
        if not identity.admin:
            raise ApiError(403, "metrics are for service admins (or set MAPPER_METRICS_PUBLIC=1)")
    service.metrics.pending_updates.set(service.writer.pending_count)
    return Response(service.metrics.render(), media_type="text/plain; version=0.0.4")


routes = [
    EdgeRoute("/healthz", healthz, "GET"),
    EdgeRoute("/readyz", readyz, "GET"),
    EdgeRoute("/metrics", metrics, "GET"),
]

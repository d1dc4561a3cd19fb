"""EVE-Scout from the outside, faked: `GET /v2/public/signatures` served on loopback with the
real API's field names (as EVE-Scout documents them and other mappers read them), on the
test's clock, with switchable misbehaviour."""

from __future__ import annotations

import asyncio
import email.utils
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mapper.core.clock import ManualClock
from tests.live_server import serve_in_loop
from tests.server import free_port

THERA, TURNUR = 31000005, 30002086


def iso(at: float) -> str:
    """A time as EVE-Scout writes it: `2023-12-03T04:24:49.000Z`."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def signature(
    sig_id: int,
    in_system: int,
    *,
    clock: ManualClock,
    out_system: int = THERA,
    wh_type: str = "Q063",
    size: str = "medium",
    in_sig: str = "LPI-677",
    out_sig: str = "HMM-222",
    hours: float = 14,
) -> dict[str, Any]:
    """One signature as the real API answers it."""
    now = clock.now()
    return {
        "id": str(sig_id),
        "created_at": iso(now - 3600),
        "created_by_id": 93027866,
        "created_by_name": "Scout",
        "updated_at": iso(now - 1800),
        "updated_by_id": 93027866,
        "updated_by_name": "Scout",
        "completed_at": iso(now - 1800),
        "completed_by_id": 93027866,
        "completed_by_name": "Scout",
        "completed": True,
        "wh_exits_outward": True,
        "wh_type": wh_type,
        "max_ship_size": size,
        "expires_at": iso(now + hours * 3600),
        "remaining_hours": int(hours),
        "signature_type": "wormhole",
        "out_system_id": out_system,
        "out_system_name": "Thera" if out_system == THERA else "Turnur",
        "out_signature": out_sig,
        "in_system_id": in_system,
        "in_system_class": "hs",
        "in_system_name": "Somewhere",
        "in_region_id": 10000002,
        "in_region_name": "The Forge",
        "in_signature": in_sig,
        "comment": None,
    }


@dataclass
class FakeEveScout:
    clock: ManualClock
    signatures: list[dict[str, Any]] = field(default_factory=list)
    cache_control: str = "public, max-age=60"  # shorter than the service's 5 minute floor
    # Misbehaviour: bodies to give before the real ones.
    scripted: deque[bytes] = field(default_factory=deque)
    calls: list[float] = field(default_factory=list)  # when (on the test's clock)
    port: int = field(default_factory=free_port)
    _server: tuple[uvicorn.Server, asyncio.Task[None]] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> FakeEveScout:
        app = Starlette(routes=[Route("/v2/public/signatures", self._signatures)])
        self._server = await serve_in_loop(app, self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None:
            server, task = self._server
            server.should_exit = True
            await task

    async def _signatures(self, request: Request) -> Response:
        self.calls.append(self.clock.now())
        body = self.scripted.popleft() if self.scripted else json.dumps(self.signatures).encode()
        headers = {
            "Date": email.utils.formatdate(self.clock.now(), usegmt=True),
            "Cache-Control": self.cache_control,
        }
        return Response(body, headers=headers, media_type="application/json")

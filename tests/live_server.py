"""The service in the test's own process and event loop, on a loopback port, so that its sync
engine runs on the test's hand-driven clock. Everything else is as `mapper serve` runs it:
real websockets, a real database, uvicorn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp

from mapper.app import create_app
from mapper.core.clock import ManualClock
from mapper.service import Service
from mapper.settings import Settings
from tests.server import OnLoopback, free_port
from tests.wire import WireClient


@dataclass
class LiveServer(OnLoopback):
    data_dir: Path
    database_url: str
    clock: ManualClock
    settings: dict[str, Any] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    service: Service | None = None
    # Every client's awareness: client -> (id, clock, state, renews as stock clients do).
    awareness: dict[WireClient, tuple[int, int, dict[str, Any], bool]] = field(default_factory=dict)
    _renewed_at: float = 0.0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    async def start(self) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        settings = Settings(
            data_dir=self.data_dir,
            database_url=self.database_url,
            room_idle_s=1.0,
            # Nothing leaves loopback: intel polls only when a test points it at its fakes.
            **{"intel": False, **self.settings},
        )
        app = create_app(settings, self.clock)
        self.service = app.state.service
        self._server, self._task = await serve_in_loop(app, self.port)
        return self

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    async def create_chain(self, token: str, name: str = "Home chain") -> str:
        return (await self._call("POST", "/api/chains", token, {"name": name}, 201))["id"]

    async def grant(self, token: str, chain: str, member: str, role: str) -> None:
        await self._call("PUT", f"/api/chains/{chain}/members/{member}", token, {"role": role})

    async def _call(
        self, method: str, path: str, token: str, body: dict[str, Any], expected: int = 200
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=self.http) as client:
            response = await client.request(method, path, json=body, headers=headers)
        assert response.status_code == expected, response.text
        return response.json()

    async def present(
        self,
        path: str,
        token: str,
        *,
        visible: bool = True,
        client_id: int = 1,
        renews: bool = True,
    ) -> WireClient:
        """A synced websocket client on `path` that shows itself (in)visible and, unless
        `renews` is False, renews its awareness every 15 s of engine time (see `renew`)."""
        client = await WireClient.connect(self.ws, path, token)
        await asyncio.wait_for(client.synced.wait(), 5)
        self.awareness[client] = (client_id, 0, {"selected": None}, renews)
        await self.show(client, visible)
        return client

    async def show(self, client: WireClient, visible: bool) -> None:
        """The tab becomes visible or hidden."""
        await self.update(client, visible=visible)

    async def update(self, client: WireClient, **fields: Any) -> None:
        """The tab changes fields of its awareness state (`visible`, `activeAt`, ...)."""
        client_id, clock, state, renews = self.awareness[client]
        state = {**state, **fields}
        self.awareness[client] = (client_id, clock + 1, state, renews)
        await client.set_awareness(client_id, clock + 1, state)

    async def renew(self) -> None:
        """What stock clients do every 15 s: send their awareness state again."""
        if self.clock.now() - self._renewed_at < 15:
            return
        self._renewed_at = self.clock.now()
        for client, (client_id, clock, state, renews) in list(self.awareness.items()):
            if client.closed.is_set():
                del self.awareness[client]
            elif renews:
                self.awareness[client] = (client_id, clock + 1, state, renews)
                await client.set_awareness(client_id, clock + 1, state)


async def serve_in_loop(app: ASGIApp, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """uvicorn serving `app` on a loopback port, as a task of the running loop."""
    # No uvicorn Date header: the fakes send their own, from the test's clock.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", date_header=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # it failed to start: say why
        await asyncio.sleep(0.01)
    return server, task


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (in real time) for something the service does on its own, such as taking in a
    websocket message."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)

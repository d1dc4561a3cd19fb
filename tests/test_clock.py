"""The service runs on one clock: a test moves it, and timeouts pass without sleeping.

A live server (in the test's loop, on a `ManualClock`) with real websockets: awareness timeouts
and room unloading follow the clock the test drives, not the wall.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mapper.core.clock import ManualClock
from mapper.rooms.manager import AWARENESS_TIMEOUT_S
from tests.live_server import LiveServer, until
from tests.wire import WireClient


@pytest.fixture
async def live(sqlite_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    server = await LiveServer(tmp_path / "data", sqlite_url, ManualClock()).start()
    yield server
    await server.stop()


async def test_a_silent_peer_expires_when_the_clock_says_so(live: LiveServer) -> None:
    token = live.token("alice")
    chain = await live.create_chain(token)
    scout = await WireClient.connect(live.ws, f"/ws/chains/{chain}", token)
    watcher = await WireClient.connect(live.ws, f"/ws/chains/{chain}", token)
    await scout.set_awareness(7, 1, {"selected": None})
    await until(lambda: watcher.awareness.get(7) is not None)

    await live.clock.advance(AWARENESS_TIMEOUT_S - 6)
    assert watcher.awareness.get(7) is not None, "renewed in time as far as the clock knows"
    await live.clock.advance(12)  # past the timeout and the next sweep
    await until(lambda: 7 in watcher.awareness and watcher.awareness[7] is None)
    await scout.close()
    await watcher.close()


async def test_an_idle_room_unloads_when_the_clock_says_so(live: LiveServer) -> None:
    token = live.token("alice")
    chain = await live.create_chain(token)
    client = await WireClient.connect(live.ws, f"/ws/chains/{chain}", token)
    await until(lambda: client.synced.is_set())
    assert live.service is not None
    rooms = live.service.rooms
    assert rooms.get(chain) is not None
    await client.close()
    await until(lambda: rooms.get(chain) is not None and not rooms.get(chain).connections)  # type: ignore[union-attr]

    await live.clock.advance(0.5)  # the server's room_idle_s is 1 s
    assert rooms.get(chain) is not None
    await live.clock.advance(1)
    await until(lambda: rooms.get(chain) is None)

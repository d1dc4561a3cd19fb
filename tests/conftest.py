from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.persistence.database import create_engine
from mapper.persistence.migrations import upgrade_database
from tests.databases import database
from tests.server import MapperServer
from tests.yclient import ensure_node_modules


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated, empty database on SQLite and on Postgres."""
    await upgrade_database(database_url)
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    with database("sqlite", tmp_path) as url:
        yield url


@pytest.fixture
def server(database_url: str, tmp_path: Path) -> Iterator[MapperServer]:
    """`mapper serve` on SQLite and on Postgres."""
    instance = MapperServer(tmp_path / "data", database_url).start()
    yield instance
    instance.stop()


@pytest.fixture
def sqlite_server(sqlite_url: str, tmp_path: Path) -> Iterator[MapperServer]:
    """`mapper serve` on SQLite only, for tests whose subject is not storage."""
    instance = MapperServer(tmp_path / "data", sqlite_url).start()
    yield instance
    instance.stop()


@pytest.fixture
def compacting_server(database_url: str, tmp_path: Path) -> Iterator[MapperServer]:
    """`mapper serve` that compacts every few rows and snapshots changed chains twice a
    second: upkeep runs all the time."""
    env = {
        "MAPPER_COMPACT_UPDATES": "3",
        "MAPPER_FLUSH_MS": "10",
        "MAPPER_SNAPSHOT_INTERVAL_S": "0.5",
    }
    instance = MapperServer(tmp_path / "data", database_url, env=env).start()
    yield instance
    instance.kill()


@pytest.fixture(scope="session")
def node_modules() -> None:
    """The Node Yjs clients (tests/node), installed from the lockfile on first use."""
    ensure_node_modules()


REDIS_URL = os.environ.get("MAPPER_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The machine's Redis, for several processes as one service."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as error:
        message = f"Redis at {REDIS_URL} is not reachable: {error}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI needs it)")
        pytest.skip(message)
    return REDIS_URL

"""Throwaway databases for tests: a SQLite file, or a fresh database on the local Postgres.

Postgres comes from MAPPER_TEST_POSTGRES (default: the local server, user postgres). Under CI
(CI=true) a missing Postgres fails the tests that need it; elsewhere they are skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

POSTGRES = os.environ.get("MAPPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _admin_connection() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as error:
        message = f"Postgres at {POSTGRES} is not reachable: {error}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI needs it: start it, see README)")
        pytest.skip(message)


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new empty database; yields its SQLAlchemy URL and drops it afterwards."""
    name = f"mapper_test_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with _admin_connection() as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / 'mapper.db'}"
    else:
        with postgres_database() as url:
            yield url

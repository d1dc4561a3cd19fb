"""Turn a `MAPPER_DATABASE_URL` into an async SQLAlchemy engine, refusing URLs we cannot serve."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, event, make_url
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

POSTGRES_DRIVER = "postgresql+psycopg"
SQLITE_DRIVER = "sqlite+aiosqlite"

# A blackholed host would otherwise hold one connection attempt for minutes, and the writer
# could not report the outage until it gave up.
_PG_CONNECT_TIMEOUT_S = 5
_SQLITE_BUSY_TIMEOUT_MS = 5000
# Switching a file to WAL can be refused at once, without the busy handler, while another
# connection holds the file's write lock (another process upgrading the schema, say).
_WAL_SWITCH_WAIT_S = 30.0
_WAL_SWITCH_RETRY_S = 0.05


class DatabaseUrlError(ValueError):
    """The database URL cannot be used; the message says what to write instead."""


def create_engine(url: str) -> AsyncEngine:
    """An engine for `postgresql+psycopg://USER@HOST:PORT/DB` or `sqlite+aiosqlite:///PATH`."""
    parsed = _parse(url)
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return _postgres_engine(parsed)
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    raise DatabaseUrlError(
        f"unsupported database URL scheme {parsed.drivername!r}; "
        f"use {POSTGRES_DRIVER}://USER@HOST:PORT/DB or {SQLITE_DRIVER}:///PATH"
    )


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError:
        raise DatabaseUrlError(
            f"not a database URL; write {POSTGRES_DRIVER}://USER@HOST:PORT/DB "
            f"or {SQLITE_DRIVER}:///PATH"
        ) from None


def _postgres_engine(url: URL) -> AsyncEngine:
    if url.drivername != POSTGRES_DRIVER:
        fixed = url.set(drivername=POSTGRES_DRIVER).render_as_string(hide_password=True)
        raise DatabaseUrlError(
            f"database URL scheme {url.drivername!r} is not supported; write {fixed}"
        )
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = _PG_CONNECT_TIMEOUT_S
    # Pre-ping throws away connections that died while Postgres was away, so the first
    # write after an outage does not fail on a stale socket.
    return create_async_engine(url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(url: URL) -> AsyncEngine:
    if url.drivername != SQLITE_DRIVER:
        raise DatabaseUrlError(
            f"database URL scheme {url.drivername!r} is not supported; "
            f"write {SQLITE_DRIVER}:///{url.database or 'PATH'}"
        )
    if not url.database or url.database == ":memory:" or url.query.get("mode") == "memory":
        raise DatabaseUrlError(
            f"SQLite needs a file: write {SQLITE_DRIVER}:///PATH "
            "(four slashes before an absolute path)"
        )
    if "uri" not in url.query:
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def sqlite_thread_engine(engine: AsyncEngine) -> Engine | None:
    """For a SQLite engine, a synchronous one on the same file, for work done whole in a worker
    thread: through aiosqlite every statement, cursor and commit is a round trip between the
    event loop and aiosqlite's thread. None for other databases (their drivers are async)."""
    if engine.dialect.name != "sqlite":
        return None
    # The pool hands connections to whichever worker thread runs the work.
    url = engine.url.set(drivername="sqlite")
    sync = create_sync_engine(url, connect_args={"check_same_thread": False})
    event.listen(sync, "connect", _configure_sqlite)
    return sync


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while the writer commits; busy_timeout makes a second writer wait
    # instead of failing at once; SQLite leaves foreign keys off unless asked. In WAL mode,
    # synchronous=NORMAL keeps every commit through a killed process and skips an fsync per
    # commit; only a power cut can cost the last commits, which connected clients resend.
    # busy_timeout first: switching a new file to WAL takes a lock that another connection
    # opening at the same moment may hold.
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """`PRAGMA journal_mode=WAL`, tried again while the file is locked, for a bounded time.
    Runs in a worker thread (aiosqlite's or the writer's), never on the event loop."""
    deadline = time.monotonic() + _WAL_SWITCH_WAIT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(_WAL_SWITCH_RETRY_S)

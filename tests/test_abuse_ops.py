"""Hardening of the running service: no token in the log, slow and silent clients, start-up
checks."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import resource
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from pycrdt import Map, Text

from mapper.core.logs import REDACTED, redact
from tests.chains import auth, create_chain, join
from tests.server import MapperServer, free_port
from tests.wire import WireClient

EXIT_BOUND_S = 30.0


def test_redact_hides_every_token_shape() -> None:
    jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    opaque = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
    lines = [
        f'127.0.0.1:5000 - "WebSocket /ws/chains/abc?token={opaque}&x=1" [accepted]',
        f"Illegal header value b'Bearer {opaque}'",
        f"http://host/#token={opaque}",
        f'{{"characterId": 1, "accessToken": "{opaque}"}}',
        f"a bare JWT {jwt} in a message",
        f"GET /x?access_token%3D{opaque}",
    ]
    for line in lines:
        scrubbed = redact(line)
        assert opaque not in scrubbed and "eyJ" not in scrubbed, scrubbed
        assert REDACTED in scrubbed
    assert redact("provider said: s3cr3t!", ["s3cr3t!"]) == f"provider said: {REDACTED}"
    plain = "chain 5f2c open user=alice room=chain:5f2c role=owner /api/chains/5f2c/document"
    assert redact(plain) == plain


async def test_no_token_reaches_the_log(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    client = await join(server, chain, token)  # accepted: uvicorn logs the path and query
    stranger = server.token("mallory")
    refused = await WireClient.connect(server.ws, f"/ws/chains/{chain}", stranger)
    assert await refused.wait_closed() in (4403, 4404)  # not a member
    broken = token[:-4] + "AAAA"  # a bad signature, refused with 4401
    bad = await WireClient.connect(server.ws, f"/ws/chains/{chain}", broken)
    assert await bad.wait_closed() == 4401
    assert httpx.get(f"{server.http}/api/chains", headers=auth(token)).status_code == 200
    for each in (client, refused, bad):
        await each.close()

    deadline = time.monotonic() + 5
    while f"/ws/chains/{chain}" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.05)
    log = server.log()
    assert f"/ws/chains/{chain}?token={REDACTED}" in log, "the websocket line is still logged"
    for secret in (token, stranger, broken):
        for part in secret.split("."):
            assert part not in log
    assert "#token=" not in log, "the login link goes to a terminal only"


def test_a_provider_url_without_secret_stops_serve(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "MAPPER_DATA_DIR": str(tmp_path),
        "MAPPER_TOKEN_PROVIDER_URL": "http://127.0.0.1:9/tokens",
        "MAPPER_TOKEN_PROVIDER_SECRET": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "mapper", "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=EXIT_BOUND_S,
    )
    assert done.returncode != 0
    assert "MAPPER_TOKEN_PROVIDER_SECRET" in done.stderr


SERVER_FILES = 256  # the server's open-files limit: fewer than the silent sockets below
SILENT_SOCKETS = 400
PENDING_CAP = 64
REQUEST_TIMEOUT_S = 1.0
KEEP_ALIVE_S = 1.0
CLOSED_WITHIN_S = REQUEST_TIMEOUT_S + 4.0  # the deadline, plus slack for a loaded machine


@contextlib.contextmanager
def open_files_limit(limit: int) -> Iterator[None]:
    """Processes started inside inherit this open-files limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(limit, hard), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture
def guarded_server(sqlite_url: str, tmp_path: Path) -> Iterator[MapperServer]:
    """`mapper serve` with short request and keep-alive timeouts, a small cap on waiting
    connections and fewer open files than the silent sockets the tests open."""
    env = {
        "MAPPER_HANDSHAKE_TIMEOUT_S": str(REQUEST_TIMEOUT_S),
        "MAPPER_KEEP_ALIVE_S": str(KEEP_ALIVE_S),
        "MAPPER_MAX_PENDING_CONNECTIONS": str(PENDING_CAP),
    }
    with open_files_limit(SERVER_FILES):
        instance = MapperServer(tmp_path / "data", sqlite_url, env=env).start()
    yield instance
    instance.stop()


def silent_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setblocking(False)
    return sock


def closed_by_peer(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.02)


async def test_silent_sockets_neither_lock_users_out_nor_stay(
    guarded_server: MapperServer,
) -> None:
    server = guarded_server
    token = server.token("alice")
    chain = create_chain(server, token)
    silent = [silent_socket(server.port) for _ in range(SILENT_SOCKETS)]
    try:
        # The flood is over the server's open-files limit, yet a user gets through at once.
        opened = time.monotonic()
        response = httpx.get(f"{server.http}/api/chains", headers=auth(token), timeout=5)
        assert response.status_code == 200
        client = await join(server, chain, token)
        await asyncio.wait_for(client.synced.wait(), 5)
        assert time.monotonic() - opened < REQUEST_TIMEOUT_S, "served before any deadline"
        await client.close()

        wait_until(
            lambda: all(closed_by_peer(sock) for sock in silent),
            CLOSED_WITHIN_S,
            "every silent socket closed by the server",
        )
        log = server.log()
        assert "MAPPER_MAX_PENDING_CONNECTIONS" in log, "the cap is logged when it bites"
        assert log.count("MAPPER_MAX_PENDING_CONNECTIONS") < 10, "and the log is not flooded"
        assert "sent no whole request within" in log
    finally:
        for sock in silent:
            sock.close()


def test_a_request_trickled_byte_by_byte_is_cut_off(guarded_server: MapperServer) -> None:
    sock = socket.create_connection(("127.0.0.1", guarded_server.port), timeout=5)
    started = time.monotonic()
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        with contextlib.suppress(OSError):  # the server closes mid-trickle
            while time.monotonic() - started < CLOSED_WITHIN_S:
                sock.sendall(b"X-Slow: y\r\n")
                time.sleep(0.1)
        sock.setblocking(False)
        wait_until(lambda: closed_by_peer(sock), CLOSED_WITHIN_S, "the trickle cut off")
    finally:
        sock.close()


def test_an_idle_keep_alive_connection_is_closed(guarded_server: MapperServer) -> None:
    sock = socket.create_connection(("127.0.0.1", guarded_server.port), timeout=5)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.setblocking(False)
        wait_until(lambda: closed_by_peer(sock), KEEP_ALIVE_S + 4.0, "keep-alive closed")
    finally:
        sock.close()


async def test_an_abrupt_disconnect_mid_stream_logs_no_error(sqlite_server: MapperServer) -> None:
    server = sqlite_server
    token = server.token("alice")
    chain = create_chain(server, token)
    writer = await join(server, chain, token)
    reader = stalled_websocket(server.port, f"/ws/chains/{chain}?token={token}")
    try:
        for step in range(400):  # about 4 MB of broadcasts the reader never reads
            system = Map({"id": 31000001 + step, "x": 0.0, "y": 0.0, "notes": Text("n" * 9_000)})
            writer.edit(
                lambda doc, key=str(31000001 + step), entry=system: doc.get(
                    "systems", type=Map
                ).__setitem__(key, entry)
            )
            await asyncio.sleep(0.002)
        # Gone mid-stream with a reset, no close frame: what a dropped network does.
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    finally:
        reader.close()
    deadline = time.monotonic() + 10
    while "close user=alice" not in server.log():
        assert time.monotonic() < deadline, "the close was not logged"
        await asyncio.sleep(0.05)
    await writer.close()
    log = server.log()
    assert "Cannot call" not in log
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]


def stalled_websocket(port: int, target: str) -> socket.socket:
    """A websocket client that completes the handshake and then never reads: a small receive
    window, so the server's sends back up and queue at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(5)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "closed during the handshake"
        head += chunk
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock

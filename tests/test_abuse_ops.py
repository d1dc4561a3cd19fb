"""Hardening of the running service: no token in the log, start-up checks."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from mapper.logs import REDACTED, redact
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

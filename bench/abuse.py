"""What the attacks of issue 11 cost the service now: a real `mapper serve` (SQLite in a
temporary folder) with a ~220 KB chain, and each attack made as a spy would make it.

For each attack it prints how the attacker's connection ended and after how long, the worst
`GET /healthz` latency while the attack ran (probed every 20 ms), and the server's resident
memory before and after.

    python -m bench.abuse
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from pycrdt import Doc, Map, write_var_uint
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.idle_connections import free_port, rss_kb, start_server, stop_server
from mapper.auth import BuiltinIssuer
from mapper.core import protocol

PROBE_EVERY_S = 0.02
ATTACK_TIMEOUT_S = 60.0


def worst_healthz_ms(port: int, stop: threading.Event) -> float:
    """Probe from a thread of its own, so that the attackers' work here does not count."""
    worst = 0.0
    with httpx.Client() as client:
        while True:  # at least one probe, however short the attack
            started = time.perf_counter()
            client.get(f"http://127.0.0.1:{port}/healthz", timeout=60)
            worst = max(worst, (time.perf_counter() - started) * 1000)
            if stop.wait(PROBE_EVERY_S):
                return worst


async def until_closed(socket: ClientConnection) -> int | None:
    """Read (and drop) whatever the server sends until it closes the socket."""
    with contextlib.suppress(ConnectionClosed):
        async for _ in socket:
            pass
    return socket.close_code


def nested_update(depth: int) -> bytes:
    doc: Doc = Doc()
    current = doc.get("systems", type=Map)
    key = "31000001"
    with doc.transaction():
        for _ in range(depth - 1):
            current[key] = Map()
            current = current[key]
            key = "deep"
    return doc.get_update()


def awareness(entries: list[tuple[int, int, bytes]]) -> bytes:
    body = b"".join(
        write_var_uint(client) + write_var_uint(clock) + write_var_uint(len(state)) + state
        for client, clock, state in entries
    )
    return protocol.create_awareness_message(write_var_uint(len(entries)) + body)


def create_chain(port: int, owner: str) -> str:
    """A chain the owner owns and `viewer` may watch."""
    headers = {"Authorization": f"Bearer {owner}"}
    base = f"http://127.0.0.1:{port}"
    chain_id = httpx.post(f"{base}/api/chains", json={"name": "b"}, headers=headers).json()["id"]
    member = f"{base}/api/chains/{chain_id}/members/user:viewer"
    httpx.put(member, json={"role": "viewer"}, headers=headers).raise_for_status()
    return chain_id


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        port = free_port()
        process = start_server(data, port, data / "server.log")
        issuer = BuiltinIssuer(data)
        owner = issuer.issue("owner")
        chain_id = await asyncio.to_thread(create_chain, port, owner)
        url = f"ws://127.0.0.1:{port}/ws/chains/{chain_id}?token="
        viewer = issuer.issue("viewer")
        # A ~220 KB document and a 16 KiB awareness state (the most a state may hold).
        async with connect(url + owner, max_size=None) as writer:
            doc: Doc = Doc()
            meta = doc.get("meta", type=Map)
            before = doc.get_state()
            meta["pad"] = "x" * 220_000
            await writer.send(protocol.create_update_message(doc.get_update(before)))
            state = b'{"visible":true,"note":"' + b"x" * 16_000 + b'"}'
            await writer.send(awareness([(424242, 1, state)]))
            await asyncio.sleep(1.0)

            async def one_socket(token: str, frame: bytes) -> int | None:
                async with connect(url + token, max_size=None) as socket:
                    await socket.send(frame)
                    return await until_closed(socket)

            async def silent_readers() -> int | None:
                frames = b"".join(
                    protocol.create_sync_step1_message(
                        write_var_uint(1) + write_var_uint(c) + b"\x00"
                    )
                    for c in range(1, 2_101)
                )
                sockets = [
                    await connect(url + viewer, max_size=None, max_queue=1, close_timeout=0.1)
                    for _ in range(4)
                ]
                for socket in sockets:
                    await socket.send(frames)
                await asyncio.sleep(5.0)  # they never read; what does the service hold?
                codes = []
                for socket in sockets:
                    codes.append(socket.close_code)
                    await socket.close()
                return codes[0]

            deep = protocol.create_update_message(nested_update(40_000))
            step1s = protocol.create_sync_step1_message(b"\x00") * 50_000
            attacks: list[tuple[str, Callable[[], Awaitable[int | None]]]] = [
                ("editor: one update nesting maps 40,000 deep", lambda: one_socket(owner, deep)),
                (
                    "viewer: one frame of 50,000 sync step 1s (220 KB document)",
                    lambda: one_socket(viewer, step1s),
                ),
                (
                    "viewer: one frame of 20,000 awareness queries (16 KiB state present)",
                    lambda: one_socket(viewer, b"\x03" * 20_000),
                ),
                (
                    "viewer: one awareness message of 90,000 client ids",
                    lambda: one_socket(
                        viewer, awareness([(i, 1, b"null") for i in range(1, 90_001)])
                    ),
                ),
                ("4 viewers: 2,100 step 1s each, never reading (5 s)", silent_readers),
            ]
            columns = f"{'close':>6} {'seconds':>8} {'healthz max ms':>15} {'RSS MB':>14}"
            print(f"{'attack':<72} {columns}")
            for name, attack in attacks:
                rss_before = rss_kb(process.pid) / 1024
                stop = threading.Event()
                probe = asyncio.create_task(asyncio.to_thread(worst_healthz_ms, port, stop))
                started = time.perf_counter()
                code = await asyncio.wait_for(attack(), ATTACK_TIMEOUT_S)
                seconds = time.perf_counter() - started
                stop.set()
                worst = await probe
                rss_after = rss_kb(process.pid) / 1024
                print(
                    f"{name:<72} {code!s:>6} {seconds:8.2f} {worst:15.1f} "
                    f"{rss_before:6.0f} -> {rss_after:4.0f}"
                )
        stop_server(process)


if __name__ == "__main__":
    asyncio.run(main())

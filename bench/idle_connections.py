"""What idle websockets cost: a real `mapper serve` (SQLite in a temporary folder) holding
1,000 authenticated websockets on a handful of chains, each past the y-websocket handshake
(sync step 1 and an awareness state, as a stock client sends).

Prints the server's resident memory before and after, the cost per connection, and the
latency of `GET /healthz` while the connections are open.

    python -m bench.idle_connections [--connections 1000] [--chains 5] [--users 50]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from pycrdt import Doc
from websockets.asyncio.client import ClientConnection, connect

from mapper.auth import BuiltinIssuer
from mapper.core import protocol

START_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 30.0
SETTLE_S = 3.0  # for the awareness broadcasts of the last joins to be sent and read
HEALTHZ_REQUESTS = 200
OPEN_AT_ONCE = 50  # joins in flight at a time, well under MAPPER_MAX_PENDING_CONNECTIONS
FILES_WANTED = 4096


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raise_open_files() -> None:
    """In the server's process, before exec: room for the connections."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FILES_WANTED if hard == resource.RLIM_INFINITY else min(FILES_WANTED, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start_server(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MAPPER_DATA_DIR": str(data_dir),
        "MAPPER_LOG_LEVEL": "warning",
        "MAPPER_INTEL": "0",  # no EVE-Scout or ESI polls: a bench stays on loopback
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "mapper", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=raise_open_files,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mapper serve exited:\n{log_path.read_text()[-2000:]}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError("mapper serve did not start in time")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def healthz_latencies_ms(port: int) -> list[float]:
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
        for _ in range(HEALTHZ_REQUESTS):
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            times.append((time.perf_counter() - started) * 1000)
    return times


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def drain(socket_: ClientConnection) -> None:
    """Read and drop what the server sends (other clients' awareness), as a client would."""
    with contextlib.suppress(Exception):
        async for _ in socket_:
            pass


async def join(
    url: str, user_id: str, client_id: int, tasks: list[asyncio.Task[None]]
) -> ClientConnection:
    socket_ = await connect(url, max_size=None, ping_interval=None)
    await socket_.send(protocol.create_sync_step1_message(Doc().get_state()))
    state = {
        "user": {"id": user_id, "name": user_id},
        "visible": True,
        "activeAt": time.time() * 1000,
        "selected": None,
        "characters": [],
    }
    await socket_.send(protocol.encode_awareness([protocol.AwarenessEntry(client_id, 1, state)]))
    await socket_.recv()  # the server's side of the sync: the handshake is done
    tasks.append(asyncio.create_task(drain(socket_)))
    return socket_


async def open_connections(
    port: int, data_dir: Path, count: int, chains: int, users: int
) -> tuple[list[ClientConnection], list[asyncio.Task[None]]]:
    issuer = BuiltinIssuer(data_dir)
    owner = issuer.issue("bench-owner")
    tokens = [issuer.issue(f"bench-{n}") for n in range(users)]
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {owner}"}
    ) as http:
        chain_ids = []
        for n in range(chains):
            response = await http.post("/api/chains", json={"name": f"bench {n}"})
            chain_ids.append(response.json()["id"])
            for user in range(users):
                await http.put(
                    f"/api/chains/{chain_ids[-1]}/members/user:bench-{user}",
                    json={"role": "editor"},
                )
    sockets: list[ClientConnection] = []
    tasks: list[asyncio.Task[None]] = []
    gate = asyncio.Semaphore(OPEN_AT_ONCE)

    async def one(n: int) -> None:
        chain = chain_ids[n % chains]
        url = f"ws://127.0.0.1:{port}/ws/chains/{chain}?token={tokens[n % users]}"
        async with gate:
            sockets.append(await join(url, f"bench-{n % users}", 1000 + n, tasks))

    await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(count))), CONNECT_TIMEOUT_S)
    return sockets, tasks


async def main(count: int, chains: int, users: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        data_dir = Path(folder) / "data"
        data_dir.mkdir()
        port = free_port()
        process = start_server(data_dir, port, Path(folder) / "server.log")
        try:
            idle = healthz_latencies_ms(port)
            before = rss_kb(process.pid)
            started = time.monotonic()
            sockets, tasks = await open_connections(port, data_dir, count, chains, users)
            opened_s = time.monotonic() - started
            await asyncio.sleep(SETTLE_S)
            after = rss_kb(process.pid)
            busy = await asyncio.to_thread(healthz_latencies_ms, port)
            still_open = sum(1 for s in sockets if s.close_code is None)
            print(f"connections      {len(sockets)} opened in {opened_s:.1f} s, {still_open} open")
            print(f"server RSS       {before / 1024:.1f} MiB before, {after / 1024:.1f} MiB after")
            print(f"per connection   {(after - before) / len(sockets):.1f} kB")
            print(
                f"/healthz idle    median {statistics.median(idle):.2f} ms, "
                f"p99 {percentile(idle, 0.99):.2f} ms"
            )
            print(
                f"/healthz loaded  median {statistics.median(busy):.2f} ms, "
                f"p99 {percentile(busy, 0.99):.2f} ms ({HEALTHZ_REQUESTS} requests)"
            )
            for socket_ in sockets:
                await socket_.close()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            stop_server(process)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--chains", type=int, default=5)
    parser.add_argument("--users", type=int, default=50)
    args = parser.parse_args()
    asyncio.run(main(args.connections, args.chains, args.users))

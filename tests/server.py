"""A real `mapper serve` process for tests: start, stop, kill, restart on the same data."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class OnLoopback:
    """A test server's addresses and tokens, from its `port` and its data folder's key."""

    port: int
    data_dir: Path

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def token(self, user_id: str, **claims: object) -> str:
        from mapper.auth import BuiltinIssuer

        return BuiltinIssuer(self.data_dir).issue(user_id, **claims)  # type: ignore[arg-type]


@dataclass
class MapperServer(OnLoopback):
    data_dir: Path
    database_url: str
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self) -> MapperServer:
        assert self.process is None, "already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.data_dir / f"server-{time.time_ns()}.log"
        env = {
            **os.environ,
            "MAPPER_DATA_DIR": str(self.data_dir),
            "MAPPER_DATABASE_URL": self.database_url,
            "MAPPER_ROOM_IDLE_S": "1",
            "MAPPER_INTEL": "0",  # nothing leaves loopback unless a test asks
            **self.env,
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mapper", "serve", "--port", str(self.port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mapper serve exited early:\n{self.log()}")
            try:
                if httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"mapper serve did not start in {START_TIMEOUT_S}s:\n{self.log()}")

    def stop(self, timeout: float = 15.0) -> bool:
        """Graceful stop (SIGTERM); True when the process shut down cleanly in time.

        uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit.
        """
        if self.process is None:
            return True
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code in (0, -signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: no flush, no goodbye."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""


@contextlib.contextmanager
def running(*servers: MapperServer) -> Iterator[tuple[MapperServer, ...]]:
    """Start the servers one after the other (the first creates the signing key); stop all."""
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


def node(data_dir: Path, database_url: str, redis_url: str, **env: str) -> MapperServer:
    return MapperServer(data_dir, database_url, env={"MAPPER_REDIS_URL": redis_url, **env})

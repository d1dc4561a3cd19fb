"""Asyncio wrapper around tests/node/yclient.mjs: a real Yjs client (y-websocket v3 or v4).

    async with YClient.start(url, room, token, client="v3") as c:
        await c.wait_synced()
        await c.set(["systems", "31000005", "x"], 5)
        await other.wait_for(["systems", "31000005", "x"], 5)

Every method sends one JSON command to the Node process and awaits its reply; a failing
command raises YClientError. Unsolicited events ({"event": "synced"}, {"event":
"connection-close", "code": 4401, ...}) accumulate in `c.events`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import subprocess
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = NODE_DIR / "yclient.mjs"
# Packages yclient.mjs imports; their presence means `npm ci` completed.
REQUIRED_PACKAGES = ("yjs", "@y/y", "y-websocket", "y-websocket-4", "ws", "lib0")
# Slack on top of a command's own timeout before we give up on the process itself.
REPLY_GRACE = 5.0


class YClientError(RuntimeError):
    pass


def node_modules_ready() -> bool:
    return all(
        (NODE_DIR / "node_modules" / pkg / "package.json").is_file() for pkg in REQUIRED_PACKAGES
    )


def ensure_node_modules() -> None:
    """Install tests/node dependencies from the lockfile if they are missing (idempotent)."""
    if node_modules_ready():
        return
    subprocess.run(["npm", "ci", "--prefix", str(NODE_DIR)], check=True, timeout=300)
    if not node_modules_ready():
        raise YClientError(f"npm ci --prefix {NODE_DIR} did not install {REQUIRED_PACKAGES}")


class YClient:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self._proc = proc
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._stderr: deque[str] = deque(maxlen=50)
        self._new_event = asyncio.Condition()
        self._closed_reason: str | None = None
        self.events: list[dict[str, Any]] = []
        self._tasks = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    @contextlib.asynccontextmanager
    async def start(
        cls,
        url: str,
        room: str,
        token: str = "",
        client: str = "v3",
        *,
        connect: bool = True,
    ) -> AsyncIterator[YClient]:
        """Run one client process for the duration of the block; `connect=False` starts offline."""
        if not node_modules_ready():
            raise YClientError(
                f"{NODE_DIR / 'node_modules'} is missing: run npm ci --prefix tests/node"
            )
        args = ["--url", url, "--room", room, "--token", token, "--client", client]
        if not connect:
            args.append("--offline")
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(SCRIPT),
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,  # a `get` reply is one line holding the whole document
        )
        c = cls(proc)
        try:
            yield c
        finally:
            await c.close()

    async def close(self) -> None:
        """Close stdin (the client exits by itself), then kill our process if it lingers."""
        proc = self._proc
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 3)
        except TimeoutError:
            proc.kill()  # signals proc.pid only: the process we started
            await proc.wait()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- plumbing ---------------------------------------------------------------------------

    async def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        async for raw in self._proc.stdout:
            try:
                msg = json.loads(raw)
            except ValueError:  # not ours: keep it for error messages
                self._stderr.append(raw.decode(errors="replace").rstrip())
                continue
            if "event" in msg:
                self.events.append(msg)
                async with self._new_event:
                    self._new_event.notify_all()
                continue
            fut = self._pending.pop(msg.get("id"), None)
            if fut is None or fut.done():
                continue
            if "error" in msg:
                fut.set_exception(YClientError(msg["error"]))
            else:
                fut.set_result(msg.get("result"))
        self._closed_reason = f"yclient exited (rc={await self._proc.wait()}): {self.stderr_tail()}"
        for fut in self._pending.values():
            if not fut.done():
                fut.set_exception(YClientError(self._closed_reason))
        self._pending.clear()
        async with self._new_event:
            self._new_event.notify_all()

    async def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        async for raw in self._proc.stderr:
            self._stderr.append(raw.decode(errors="replace").rstrip())

    def stderr_tail(self) -> str:
        return "\n".join(self._stderr)

    async def request(self, cmd: str, reply_timeout: float = 5.0, **args: Any) -> Any:
        """Send one command and return its result, waiting at most `reply_timeout` seconds."""
        if self._closed_reason is not None:
            raise YClientError(self._closed_reason)
        assert self._proc.stdin is not None
        msg_id = next(self._ids)
        fut = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = fut
        self._proc.stdin.write((json.dumps({"id": msg_id, "cmd": cmd, **args}) + "\n").encode())
        await self._proc.stdin.drain()
        try:
            return await asyncio.wait_for(fut, reply_timeout)
        except TimeoutError:
            raise YClientError(
                f"no reply to {cmd} within {reply_timeout}s; stderr: {self.stderr_tail()}"
            ) from None
        finally:
            self._pending.pop(msg_id, None)

    # -- commands ---------------------------------------------------------------------------

    async def connect(self) -> None:
        await self.request("connect")

    async def disconnect(self) -> None:
        await self.request("disconnect")

    # The `timeout` parameters are deliberate: the wait happens in the Node process.
    async def wait_synced(self, timeout: float = 5.0) -> None:
        await self.request("wait_synced", reply_timeout=timeout + REPLY_GRACE, timeout=timeout)

    async def set(self, path: list[str], value: Any) -> None:
        """Set the field at `path` ([root, key, ..., field]), creating Y.Maps on the way."""
        await self.request("set", path=path, value=value)

    async def set_map(self, root: str, key: str, value: dict[str, Any]) -> None:
        """root[key] = new Y.Map(value); a string `notes` field becomes Y.Text."""
        await self.request("set_map", root=root, key=key, value=value)

    async def push(self, path: list[str], values: list[Any]) -> None:
        """Append `values` to the Y.Array at `path` (a new Y.Array there if there is none)."""
        await self.request("push", path=path, values=values)

    async def delete(self, path: list[str]) -> None:
        await self.request("delete", path=path)

    async def text_insert(self, path: list[str], index: int, text: str) -> None:
        await self.request("text_insert", path=path, index=index, text=text)

    async def text_delete(self, path: list[str], index: int, length: int) -> None:
        await self.request("text_delete", path=path, index=index, length=length)

    async def get(self) -> dict[str, Any]:
        """The whole document as JSON: {"meta": ..., "systems": ..., "connections": ..., ...}."""
        return await self.request("get")

    async def wait_for(self, path: list[str], value: Any, timeout: float = 5.0) -> None:
        """Wait until the JSON at `path` equals `value` (a missing entry equals None)."""
        await self.request(
            "wait_for", reply_timeout=timeout + REPLY_GRACE, path=path, value=value, timeout=timeout
        )

    async def awareness_set(self, state: dict[str, Any] | None) -> None:
        await self.request("awareness_set", state=state)

    async def awareness_states(self) -> dict[int, Any]:
        states = await self.request("awareness_states")
        return {int(client_id): state for client_id, state in states.items()}

    async def client_id(self) -> int:
        return await self.request("client_id")

    async def updates_received(self) -> int:
        """Document updates from the server that this client applied."""
        return await self.request("updates_received")

    async def wait_event(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        timeout: float = 5.0,
        since: int = 0,
    ) -> dict[str, Any]:
        """Return the first event in `self.events[since:]` matching `predicate`, waiting for it."""

        async def scan() -> dict[str, Any]:
            seen = since
            async with self._new_event:
                while True:
                    for event in self.events[seen:]:
                        if predicate(event):
                            return event
                    seen = max(seen, len(self.events))
                    if self._closed_reason is not None:
                        raise YClientError(self._closed_reason)
                    await self._new_event.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except TimeoutError:
            raise YClientError(
                f"no matching event within {timeout}s; events: {self.events}"
            ) from None

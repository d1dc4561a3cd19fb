"""A `mapper serve` killed outright leaves no process behind: its folding worker and the
multiprocessing resource tracker go with it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from pycrdt import Map

from tests.chains import create_chain, join
from tests.server import MapperServer

WORKER_STARTS_WITHIN_S = 30.0
CHILDREN_GONE_WITHIN_S = 10.0


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, start time) of a process, None when there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return fields[0], int(fields[1]), int(fields[19])


def children(parent: int) -> dict[int, int]:
    """The parent's living children: pid -> start time (which tells a reused pid apart)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            state, ppid, started = stat
            if ppid == parent and state != "Z":
                found[int(entry.name)] = started
    return found


def alive(pid: int, started: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] != "Z" and stat[2] == started


def is_folding_worker(pid: int) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


def threads(pid: int) -> int:
    try:
        return len(list(Path(f"/proc/{pid}/task").iterdir()))
    except FileNotFoundError:
        return 0


@pytest.mark.parametrize("moment", ["worker-starting", "worker-running"])
async def test_sigkill_leaves_no_child_running(
    sqlite_url: str, tmp_path: Path, moment: str
) -> None:
    # Compaction folds chains in the worker process; compacting every few rows starts it soon.
    env = {"MAPPER_COMPACT_UPDATES": "3", "MAPPER_FLUSH_MS": "10"}
    server = MapperServer(tmp_path / "data", sqlite_url, env=env).start()
    try:
        token = server.token("owner")
        chain = create_chain(server, token)
        client = await join(server, chain, token)
        assert server.process is not None
        pid = server.process.pid
        worker = None
        deadline = time.monotonic() + WORKER_STARTS_WITHIN_S
        step = 0
        while worker is None:
            assert time.monotonic() < deadline, "the folding worker never started"
            step += 1
            client.edit(
                lambda doc, x=float(step): doc.get("systems", type=Map).__setitem__(
                    "31000001", Map({"id": 31000001, "x": x, "y": 0.0})
                )
            )
            await asyncio.sleep(0.005)
            worker = next((child for child in children(pid) if is_folding_worker(child)), None)
        if moment == "worker-running":
            # Its start-up is done once its exit-with-parent thread runs.
            while threads(worker) < 2:
                assert time.monotonic() < deadline, "the folding worker never finished starting"
                await asyncio.sleep(0.01)
        left = children(pid)
        assert len(left) >= 2, f"expected the worker and the resource tracker, saw {left}"
        server.kill()
        await client.close()

        gone_by = time.monotonic() + CHILDREN_GONE_WITHIN_S
        while any(alive(child, started) for child, started in left.items()):
            assert time.monotonic() < gone_by, (
                f"still running after the service was killed: "
                f"{[c for c, s in left.items() if alive(c, s)]}"
            )
            await asyncio.sleep(0.05)
    finally:
        server.kill()

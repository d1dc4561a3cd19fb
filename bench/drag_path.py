#!/usr/bin/env python3
"""A drag's path through mapper in one process: time and, under cachegrind, instructions.

    python bench/drag_path.py                  # microseconds per drag (best of 8 rounds)
    python bench/drag_path.py --instructions   # instructions per drag, counted by cachegrind
    python bench/drag_path.py --no-guard       # the same without the schema guard

One room of ten connections whose transports drop the bytes; each drag (`x` and `y` of one
system set in one transaction, as bench/loadgen.mjs sends it) goes from the reader's
`receive_now` through the nesting check, pycrdt, the schema guard and the ten writes. A drag's
time here is a third to a quarter of its time in the server, where the kernel's writes empty
the caches between updates, and it moves by 10-20 % between runs on a shared machine. Its
instruction count moves by about 1 %: it tells a change worth 2 % from noise, which a run of
`bench/run.py` cannot (`--instructions` needs valgrind; a run takes about a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import re
import subprocess
import sys
import time
from types import SimpleNamespace
from typing import Any

from pycrdt import Doc, Map, Text

from mapper.api.sockets import _Reader
from mapper.chains.schema import SchemaGuard, new_chain_update
from mapper.core.clock import SystemClock
from mapper.core.identity import Identity
from mapper.core.metrics import Metrics
from mapper.core.protocol import create_update_message
from mapper.rooms.connection import Connection, TokenBucket
from mapper.rooms.room import Room
from mapper.settings import Settings

CLIENTS = 10
ROUNDS = 8


class DroppingTransport:
    """A transport that is always open and counts what it drops. Its methods are C callables,
    as uvloop's are, so that the count holds no Python frames the server does not run."""

    def __init__(self) -> None:
        self._written = itertools.count()
        self.is_closing = functools.partial(bool, False)
        # next(counter, frame): one more write, the frame dropped.
        self.write = functools.partial(next, self._written)

    def take_count(self) -> int:
        """Writes since the last call."""
        written = next(self._written)
        self._written = itertools.count()
        self.write = functools.partial(next, self._written)
        return written


def room_with_readers(guard: bool) -> tuple[list[DroppingTransport], list[_Reader]]:
    metrics = Metrics()
    room = Room(
        "chain:bench",
        clock=SystemClock(),
        metrics=metrics,
        store_update=lambda key, update: None,
        make_guard=SchemaGuard if guard else None,
    )
    room.load([new_chain_update("bench")])
    asyncio.run(room.survey())
    service = SimpleNamespace(settings=Settings(), metrics=metrics)
    transports = [DroppingTransport() for _ in range(CLIENTS)]
    readers = []
    for index, transport in enumerate(transports):
        identity = Identity(f"user{index}", f"user{index}", False, (), time.time() + 3600)
        rate = TokenBucket(1e9, 10**9, time.monotonic)
        connection = Connection(identity, "editor", queue_bytes=1 << 20, rate=rate, metrics=metrics)
        connection.writable(transport)  # type: ignore[arg-type]
        room.connections[connection] = None
        readers.append(_Reader(service, room, connection))  # type: ignore[arg-type]
    return transports, readers


def drags(readers: list[_Reader], count: int) -> list[tuple[_Reader, bytes]]:
    """Each client adds its system, then `count` drag frames in turn."""
    clients: list[tuple[Doc, Map[Any]]] = []
    for index, reader in enumerate(readers):
        # 32-bit client ids, as Yjs picks them (pycrdt's own take 53 bits: longer to read).
        doc = Doc(client_id=0x9E3779B9 * (index + 1) % 2**32)
        system = Map({"name": f"J{index}", "x": 0, "y": 0})
        with doc.transaction():
            doc.get("systems", type=Map)[str(31000001 + index)] = system
            system["notes"] = Text("static C5, frig hole to HS")
        reader.receive_now(create_update_message(doc.get_update()))
        clients.append((doc, system))
    # What a Yjs client sends is each transaction's own update: its deletions (the values the
    # drag replaced) and no others, unlike `get_update(state)`, which carries every deletion
    # the document ever saw.
    sent: list[bytes] = []
    watching = [doc.observe(lambda event: sent.append(event.update)) for doc, _ in clients]
    frames = []
    for n in range(count):
        doc, system = clients[n % CLIENTS]
        with doc.transaction():
            system["x"] = n
            system["y"] = 2 * n
        frames.append((readers[n % CLIENTS], create_update_message(sent.pop())))
    for (doc, _), subscription in zip(clients, watching, strict=True):
        doc.unobserve(subscription)
    return frames


def run(count: int, guard: bool, feed: bool) -> float:
    """Seconds per drag, the best round's; nothing fed: only the set-up runs."""
    transports, readers = room_with_readers(guard)
    frames = drags(readers, count)
    for transport in transports:
        transport.take_count()
    best = float("inf")
    size = max(count // ROUNDS, 1)
    for start in range(0, count if feed else 0, size):
        began = time.perf_counter()
        for reader, frame in frames[start : start + size]:
            reader.receive_now(frame)
        best = min(best, (time.perf_counter() - began) / size)
    writes = sum(transport.take_count() for transport in transports)
    if feed and writes != count * CLIENTS:
        sys.exit(f"expected {count * CLIENTS} writes, got {writes}")
    return best


def instructions(count: int, guard: bool) -> int:
    """Instructions per drag: cachegrind's count with the drags fed, less the set-up's."""

    def counted(feed: bool) -> int:
        argv = [sys.executable, __file__, "--count", str(count), "--quiet"]
        argv += [] if guard else ["--no-guard"]
        argv += [] if feed else ["--set-up-only"]
        # A fixed hash seed: dict and set layouts, and so the count, repeat from run to run.
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        valgrind = ["valgrind", "--tool=cachegrind", "--cache-sim=no"]
        done = subprocess.run(
            [*valgrind, "--cachegrind-out-file=/dev/null", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
        if found is None:
            sys.exit(f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}")
        return int(found[1].replace(",", ""))

    return (counted(feed=True) - counted(feed=False)) // count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=None, help="drags (default 20000; 2400)")
    parser.add_argument("--no-guard", action="store_true", help="leave the schema guard out")
    parser.add_argument("--instructions", action="store_true", help="count with cachegrind")
    parser.add_argument("--set-up-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    guard = not args.no_guard
    if args.instructions:
        count = args.count or 2400
        print(f"{instructions(count, guard):,} instructions per drag ({count} drags)")
        return
    seconds = run(args.count or 20000, guard, feed=not args.set_up_only)
    if not args.quiet:
        print(f"{seconds * 1e6:.1f} us per drag, best of {ROUNDS} rounds")


if __name__ == "__main__":
    main()

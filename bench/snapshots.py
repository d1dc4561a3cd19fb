"""Snapshot, restore and cold-load figures for a large, long-lived chain (issue: snapshots and
restore). Nothing is asserted; it prints what it measures.

    python bench/snapshots.py                      # SQLite in a temporary folder
    python bench/snapshots.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

The chain: 500 systems, 600 connections, 5,000 signatures, then small edits up to 200,000
updates in all (bench/chain_content.py). They go through the service's own write path: the
update writer (one merged row per flush of --per-flush updates) and the compaction that its
thresholds trigger, so the database ends as a long-running service would leave it.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from pycrdt import Doc, Map
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from chain_content import build_chain

from mapper.chains.schema import SchemaGuard
from mapper.core import protocol
from mapper.core.identity import Identity
from mapper.persistence.models import ChainBase, ChainSnapshot, ChainUpdate
from mapper.rooms.room import Room
from mapper.service import Service
from mapper.settings import Settings

BENCH = Identity("bench", "Benchmark", admin=True, groups=(), expires_at=float("inf"))


async def timed(action: Callable[[], Awaitable[object]], runs: int) -> list[float]:
    """Milliseconds per run."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
    return f"median {statistics.median(ordered):7.1f} ms   p90 {p90:7.1f} ms   (n={len(ordered)})"


async def stored_bytes(service: Service, chain_id: str) -> dict[str, int]:
    async with service.store.engine.connect() as conn:
        log = await conn.scalar(
            select(func.coalesce(func.sum(func.length(ChainUpdate.data)), 0)).where(
                ChainUpdate.chain_id == chain_id
            )
        )
        base = await conn.scalar(
            select(func.coalesce(func.sum(func.length(ChainBase.state)), 0)).where(
                ChainBase.chain_id == chain_id
            )
        )
        snapshots = await conn.scalar(
            select(func.coalesce(func.sum(ChainSnapshot.size), 0)).where(
                ChainSnapshot.chain_id == chain_id
            )
        )
        rows = await conn.scalar(select(func.count()).where(ChainUpdate.chain_id == chain_id))
    return {"log": log, "base": base, "snapshots": snapshots, "log_rows": rows}


async def main(args: argparse.Namespace) -> None:
    data_dir = Path(tempfile.mkdtemp(prefix="mapper-bench-"))
    settings = Settings.load(
        {"data_dir": data_dir, "database_url": args.database_url or None, "log_level": "warning"}
    )
    service = Service(settings)
    await service.start()
    try:
        chain = await service.chains.create(BENCH, "Benchmark")
        doc: Doc = Doc()
        print(f"database: {settings.resolved_database_url.split('@')[-1]}")
        started = time.perf_counter()
        written = 0
        pending = 0
        for update in build_chain(doc, edits=args.updates):
            service.writer.add(chain.id, update)
            written += 1
            pending += 1
            if pending >= args.per_flush:
                await service.writer.flush(chain.id)
                pending = 0
        await service.writer.flush(chain.id)
        await service.maintenance.close()  # let triggered compactions finish
        service.maintenance.start()
        print(f"wrote {written} updates in {time.perf_counter() - started:.1f} s")
        final_size = len(doc.get_update())
        sizes = await stored_bytes(service, chain.id)
        print(
            f"document {final_size / 1024:.0f} KiB; stored: base {sizes['base'] / 1024:.0f} KiB, "
            f"log {sizes['log'] / 1024:.0f} KiB in {sizes['log_rows']} rows"
        )
        await service.maintenance.fold(chain.id)
        sizes = await stored_bytes(service, chain.id)
        print(
            f"after compaction: base + log {(sizes['base'] + sizes['log']) / 1024:.0f} KiB = "
            f"{(sizes['base'] + sizes['log']) / final_size:.2f}x the document"
        )

        async def cold_load() -> None:
            room = Room(
                chain.id,
                clock=service.clock,
                metrics=service.metrics,
                store_update=None,
                make_guard=SchemaGuard,
            )
            room.load(await service.store.load_chain_updates(chain.id))
            protocol.create_sync_step1_message(room.doc.get_state())
            room.close()

        print(f"cold load to sync step 1:        {summary(await timed(cold_load, args.runs))}")

        room = await service.rooms.open(chain.id, service.chain_rooms)
        half = await service.snapshots.create(BENCH, chain.id, None)

        async def live_snapshot() -> None:
            await service.snapshots.create(BENCH, chain.id, None)

        print(f"snapshot (room loaded):          {summary(await timed(live_snapshot, args.runs))}")
        service.rooms.release(room)

        async def stored_snapshot() -> None:
            await service.maintenance.fold(chain.id, snapshot_reason="manual", actor="bench")

        print(
            f"snapshot (from the database):    {summary(await timed(stored_snapshot, args.runs))}"
        )

        # A restore that changes something: move half the systems, then restore.
        room = await service.rooms.open(chain.id, service.chain_rooms)
        restores = []
        for run in range(args.runs):
            systems = room.doc.get("systems", type=Map)
            with room.doc.transaction():
                for key in list(systems.keys())[::2]:
                    systems[key]["x"] = float(run)
            await service.writer.flush(chain.id)
            started = time.perf_counter()
            await service.snapshots.restore(BENCH, chain.id, half.id)
            restores.append((time.perf_counter() - started) * 1000)
        print(f"restore (250 systems differ):    {summary(restores)}")
        service.rooms.release(room)
        sizes = await stored_bytes(service, chain.id)
        print(f"snapshots stored: {sizes['snapshots'] / 1024:.0f} KiB in all")
    finally:
        await service.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--updates", type=int, default=200_000)
    parser.add_argument("--per-flush", type=int, default=20)
    parser.add_argument("--runs", type=int, default=15)
    asyncio.run(main(parser.parse_args()))

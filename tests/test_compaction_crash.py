"""SIGKILL at random points of a compaction-heavy run loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import random
import time

from pycrdt import Doc, Map
from sqlalchemy import func, select

from mapper.persistence.database import create_engine
from mapper.persistence.folding import apply_stored
from mapper.persistence.models import ChainBase, ChainUpdate
from mapper.persistence.store import Store
from tests.chains import add_system, create_chain, document, join
from tests.server import MapperServer
from tests.wire import WireClient

CYCLES = 6
STORED_WITHIN_S = 15.0  # MAPPER_FLUSH_MS is 10; the rest is slack for a loaded machine


async def test_sigkill_during_compaction_loses_and_repeats_nothing(
    compacting_server: MapperServer,
) -> None:
    server = compacting_server
    rng = random.Random(7)
    token = server.token("owner")
    chain = create_chain(server, token)
    durable: dict[str, float] = {}  # system -> x, known to be stored before the kill
    store = Store(create_engine(server.database_url))
    try:
        for cycle in range(CYCLES):
            await run_cycle(server, store, chain, token, cycle, durable, rng)
    finally:
        await store.engine.dispose()

    await assert_each_row_held_once(server.database_url, chain)
    systems = document(server, token, chain)["systems"]
    assert set(systems) == {*durable, "31009999"}


async def run_cycle(
    server: MapperServer,
    store: Store,
    chain: str,
    token: str,
    cycle: int,
    durable: dict[str, float],
    rng: random.Random,
) -> None:
    """Add a system, wait until the database holds it, kill the server amid churn, restart,
    and check that every system known to be stored is still there."""
    client = await join(server, chain, token)
    stop = asyncio.Event()
    churning = asyncio.create_task(churn(client, stop))
    system = 31000001 + cycle
    add_system(client, system, x=float(cycle))
    await stored(store, chain, str(system), float(cycle))
    durable[str(system)] = float(cycle)
    await asyncio.sleep(rng.uniform(0, 0.2))
    server.kill()
    stop.set()
    await churning
    await client.close()
    server.start()
    systems = document(server, token, chain)["systems"]
    for key, x in durable.items():
        assert systems[key]["x"] == x, f"cycle {cycle}: lost {key}"


async def stored(store: Store, chain: str, key: str, x: float) -> None:
    """Wait until the database alone (base and log) holds system `key` at `x`."""
    deadline = time.monotonic() + STORED_WITHIN_S
    while True:
        doc: Doc = Doc()
        apply_stored(doc, await store.load_chain_updates(chain))
        entry = doc.get("systems", type=Map).get(key)
        if entry is not None and entry.get("x") == x:
            return
        assert time.monotonic() < deadline, f"{key} not stored within {STORED_WITHIN_S} s"
        await asyncio.sleep(0.02)


async def churn(client: WireClient, stop: asyncio.Event) -> None:
    """Edit one system over and over, keeping the writer and compaction busy."""
    step = 0
    while not stop.is_set():
        step += 1
        client.edit(
            lambda doc, x=float(step): doc.get("systems", type=Map).__setitem__(
                "31009999", Map({"id": 31009999, "x": x, "y": 0.0})
            )
        )
        await asyncio.sleep(0.004)


async def assert_each_row_held_once(url: str, chain: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            base_id = await conn.scalar(
                select(ChainBase.last_update_id).where(ChainBase.chain_id == chain)
            )
            oldest_row = await conn.scalar(
                select(func.min(ChainUpdate.id)).where(ChainUpdate.chain_id == chain)
            )
    finally:
        await engine.dispose()
    assert base_id is not None, "no compaction happened"
    assert oldest_row is None or oldest_row > base_id

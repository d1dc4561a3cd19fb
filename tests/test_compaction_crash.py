"""SIGKILL at random points of a compaction-heavy run loses nothing and repeats nothing."""

from __future__ import annotations

import asyncio
import random

from pycrdt import Map
from sqlalchemy import func, select

from persistence.database import create_engine
from persistence.models import ChainBase, ChainUpdate
from tests.chains import add_system, create_chain, document, join
from tests.server import MapperServer
from tests.wire import WireClient

CYCLES = 6
DURABLE_AFTER_S = 0.25  # well past MAPPER_FLUSH_MS below


async def test_sigkill_during_compaction_loses_and_repeats_nothing(
    compacting_server: MapperServer,
) -> None:
    server = compacting_server
    rng = random.Random(7)
    token = server.token("owner")
    chain = create_chain(server, token)
    durable: dict[str, float] = {}  # system -> x, known to be stored before the kill
    for cycle in range(CYCLES):
        client = await join(server, chain, token)
        stop = asyncio.Event()
        churning = asyncio.create_task(churn(client, stop))
        system = 31000001 + cycle
        add_system(client, system, x=float(cycle))
        await asyncio.sleep(DURABLE_AFTER_S)
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

    await assert_each_row_held_once(server.database_url, chain)
    systems = document(server, token, chain)["systems"]
    assert set(systems) == {*durable, "31009999"}


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

"""Static data figures: import time of a full-size export and search latency.

    python bench/universe.py [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench]

Generates an export in CCP's JSONL format the size of Tranquility's map (8,500 systems,
14,000 stargate pairs, 100 wormhole types, 3,000 other types), imports it with the same code
as `mapper sde import`, then times prefix searches on the in-memory index.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from persistence.database import create_engine
from persistence.migrations import upgrade_database
from tests.sde_export import write_zip
from universe.importer import import_sde
from universe.index import load_index

SYLLABLES = ["ja", "ta", "ku", "ne", "ri", "mo", "sa", "vi", "lo", "pe", "an", "ur", "ek", "os"]


def generate(systems: int, gates: int, seed: int = 5) -> dict[str, list[dict]]:
    rng = random.Random(seed)
    regions = [{"_key": 10000001 + r, "name": {"en": f"Region {r}"}} for r in range(100)]
    constellations = [
        {"_key": 20000001 + c, "name": {"en": f"Constellation {c}"}, "regionID": 10000001 + c % 100}
        for c in range(1100)
    ]
    records = []
    for index in range(systems):
        wormhole = index >= systems - 2600
        system_id = (31000001 + index) if wormhole else (30000001 + index)
        name = (
            f"J{rng.randrange(100000, 999999)}"
            if wormhole
            else "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).title()
            + f"-{index}"
        )
        constellation = 20000001 + index % 1100
        records.append(
            {
                "_key": system_id,
                "name": {"en": name},
                "securityStatus": -1.0 if wormhole else round(rng.uniform(-1, 1), 4),
                "constellationID": constellation,
                "regionID": 10000001 + (constellation - 20000001) % 100,
                **({"wormholeClassID": rng.randint(1, 6)} if wormhole else {}),
            }
        )
    kspace = [r["_key"] for r in records if r["_key"] < 31000000]
    pairs: set[tuple[int, int]] = set()
    for position in range(1, len(kspace)):
        pairs.add((kspace[rng.randrange(position)], kspace[position]))
    while len(pairs) < gates:
        a, b = sorted(rng.sample(kspace, 2))
        pairs.add((a, b))
    stargates = []
    for number, (a, b) in enumerate(pairs):
        stargates.append(
            {
                "_key": 50000000 + 2 * number,
                "solarSystemID": a,
                "destination": {"solarSystemID": b, "stargateID": 50000001 + 2 * number},
            }
        )
        stargates.append(
            {
                "_key": 50000001 + 2 * number,
                "solarSystemID": b,
                "destination": {"solarSystemID": a, "stargateID": 50000000 + 2 * number},
            }
        )
    types = [
        {"_key": 30000 + t, "name": {"en": f"Wormhole {chr(65 + t % 26)}{100 + t}"}, "groupID": 988}
        for t in range(100)
    ]
    types += [{"_key": 1000 + t, "name": {"en": f"Thing {t}"}, "groupID": 25} for t in range(3000)]
    dogma = [
        {
            "_key": 30000 + t,
            "dogmaAttributes": [
                {"attributeID": a, "value": v}
                for a, v in ((1381, 1 + t % 6), (1382, 960), (1383, 2e9), (1385, 3e8))
            ],
        }
        for t in range(100)
    ]
    return {
        "mapRegions.jsonl": regions,
        "mapConstellations.jsonl": constellations,
        "mapSolarSystems.jsonl": records,
        "mapStargates.jsonl": stargates,
        "types.jsonl": types,
        "typeDogma.jsonl": dogma,
    }


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        export = write_zip(Path(folder) / "sde.zip", generate(args.systems, args.gates))
        size = export.stat().st_size / 1024
        print(f"export: {size:.0f} KiB zip, {args.systems} systems, {args.gates} gates")
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        await upgrade_database(url)
        engine = create_engine(url)
        try:
            started = time.perf_counter()
            counts = await import_sde(engine, export, source="bench")
            print(
                f"import into {url.split('://')[0]}: {time.perf_counter() - started:.2f} s {counts}"
            )
            started = time.perf_counter()
            index = await load_index(engine, 1)
            print(f"index load: {(time.perf_counter() - started) * 1000:.0f} ms")
        finally:
            await engine.dispose()
    for prefix in ("J1", "j12", "Ja", "kune", "a", "zz"):
        times = []
        for _ in range(200):
            started = time.perf_counter()
            found = index.search(prefix, 20)
            times.append((time.perf_counter() - started) * 1e6)
        times.sort()
        print(
            f"search {prefix!r:8} {len(found):3} hits: median {statistics.median(times):6.1f} us, "
            f"p99 {times[int(len(times) * 0.99)]:6.1f} us"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--systems", type=int, default=8500)
    parser.add_argument("--gates", type=int, default=14000)
    asyncio.run(main(parser.parse_args()))

"""Static data figures: the built-in universe (wheel size, load time, search latency) and,
with --import, the import time of a full-size export.

    python bench/universe.py [--import] [--database-url postgresql+psycopg://...@127.0.0.1/bench]

The built-in part builds the wheel (`pip wheel --no-deps`) from a copy of the repository,
reports its size and the universe file's, times loading the file (read, inflate, parse) and
building the service's index from it, then times prefix searches on that index.

With --import, it generates an export in CCP's JSON Lines format of Tranquility's size and
shape (build 3484357: 8,490 systems, about 14,000 stargates, 52,863 types of which some 100
are wormholes, 26,828 typeDogma rows; records padded to the real files' average line
lengths, so `types.jsonl` is its real 150 MB), imports it with the same code as
`mapper sde import` into SQLite and, with --database-url, Postgres, then times prefix
searches on the in-memory index, alone and with the answer's JSON and ETag as the API
builds them.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper.persistence.database import create_engine
from mapper.persistence.migrations import upgrade_database
from mapper.universe.importer import import_sde
from mapper.universe.index import UniverseIndex, load_index, make_index
from mapper.universe.packed import BUILTIN, load_builtin
from mapper.universe.sde import read_universe

ROOT = Path(__file__).resolve().parent.parent
SYLLABLES = ["ja", "ta", "ku", "ne", "ri", "mo", "sa", "vi", "lo", "pe", "an", "ur", "ek", "os"]
LANGUAGES = ["de", "en", "es", "fr", "ja", "ko", "ru", "zh"]
# Average line lengths of build 3484357's files (bytes / records), which the padding matches.
TYPE_LINE, DOGMA_LINE, SYSTEM_LINE, GATE_LINE = 2886, 1028, 605, 210
PREFIXES = ("J1", "j12", "J123", "Jita", "ama", "kune", "a", "zz")
NOT_SOURCE = (".git", ".venv", "node_modules", "build", "*.egg-info", "__pycache__", "mapper-data")


def localized(text: str) -> dict[str, str]:
    return {language: text for language in LANGUAGES}


# Filler text that compresses about as badly as CCP's descriptions do, so the zip is of a
# realistic size and inflating it costs what the real one costs.
_FILLER_RNG = random.Random(7)
FILLER = "".join(_FILLER_RNG.choices(string.ascii_letters + "      .,", k=1 << 20))


def padded(record: dict[str, Any], length: int) -> dict[str, Any]:
    """The record with a filler field that brings its line to about `length` bytes."""
    size = max(0, (length - len(json.dumps(record))) // len(LANGUAGES) - 12)
    start = _FILLER_RNG.randrange(len(FILLER) - size)
    text = FILLER[start : start + size]
    return {**record, "description": localized(text)}


def universe_files(systems: int, stargates: int, rng: random.Random) -> dict[str, list[dict]]:
    regions = [{"_key": 10000001 + r, "name": localized(f"Region {r}")} for r in range(113)]
    constellations = [
        {
            "_key": 20000001 + c,
            "name": localized(f"Constellation {c}"),
            "regionID": 10000001 + c % 113,
        }
        for c in range(1175)
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
        name = {0: "Jita", 1: "Amarr", 2: "Amamake"}.get(index, name)
        constellation = 20000001 + index % 1175
        record = {
            "_key": system_id,
            "constellationID": constellation,
            "name": localized(name),
            "position": {"x": rng.random() * 1e17, "y": rng.random() * 1e17, "z": 1e16},
            "regionID": 10000001 + (constellation - 20000001) % 113,
            "securityStatus": -1.0 if wormhole else round(rng.uniform(-1, 1), 6),
            **({"wormholeClassID": rng.randint(1, 6)} if wormhole else {}),
        }
        records.append(padded(record, SYSTEM_LINE))
    kspace = [r["_key"] for r in records if r["_key"] < 31000000]
    pairs: set[tuple[int, int]] = set()
    for position in range(1, len(kspace)):  # a spanning tree first: k-space is connected
        pairs.add((kspace[rng.randrange(position)], kspace[position]))
    while len(pairs) < stargates // 2:
        a, b = sorted(rng.sample(kspace, 2))
        pairs.add((a, b))
    gates = []
    for number, (a, b) in enumerate(sorted(pairs)):
        for gate, source, other, target in (
            (50000000 + 2 * number, a, 50000001 + 2 * number, b),
            (50000001 + 2 * number, b, 50000000 + 2 * number, a),
        ):
            gate_record = {
                "_key": gate,
                "destination": {"solarSystemID": target, "stargateID": other},
                "position": {"x": 1e12, "y": 1e12, "z": 1e12},
                "solarSystemID": source,
                "typeID": 16,
            }
            gates.append(padded(gate_record, GATE_LINE))
    return {
        "_sde.jsonl": [{"_key": "sde", "buildNumber": 1, "releaseDate": "2026-01-01T00:00:00Z"}],
        "mapRegions.jsonl": regions,
        "mapConstellations.jsonl": constellations,
        "mapSolarSystems.jsonl": records,
        "mapStargates.jsonl": gates,
    }


def types(count: int, wormholes: int) -> Iterable[dict[str, Any]]:
    for number in range(count):
        is_wormhole = number < wormholes
        yield padded(
            {
                "_key": 30000 + number,
                "groupID": 988 if is_wormhole else 25 + number % 900,
                "name": localized(f"Wormhole {chr(65 + number % 26)}{100 + number}")
                if is_wormhole
                else localized(f"Thing {number}"),
                "portionSize": 1,
                "published": True,
            },
            TYPE_LINE,
        )


def dogma(count: int) -> Iterable[dict[str, Any]]:
    for number in range(count):
        attributes = [{"attributeID": 1381, "value": float(1 + number % 6)}]
        attributes += [{"attributeID": 2000 + a, "value": 1.0} for a in range(38)]
        record = {"_key": 30000 + number, "dogmaAttributes": attributes, "dogmaEffects": []}
        missing = DOGMA_LINE - len(json.dumps(record))
        extra = [{"effectID": 10 + e, "isDefault": False} for e in range(max(0, missing // 38))]
        yield {**record, "dogmaEffects": extra}


def write_export(path: Path, args: argparse.Namespace) -> None:
    rng = random.Random(5)
    files: dict[str, Iterable[dict[str, Any]]] = {
        **universe_files(args.systems, args.stargates, rng),
        "types.jsonl": types(args.types, args.wormholes),
        "typeDogma.jsonl": dogma(args.dogma),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in files.items():
            with archive.open(name, "w") as member:
                for row in rows:
                    member.write(json.dumps(row, ensure_ascii=False).encode() + b"\n")


def answer(index: UniverseIndex, prefix: str) -> bytes:
    """What the API does for ?search=: the search, the JSON body and its ETag."""
    body = json.dumps({"items": index.search(prefix, 20)}, separators=(",", ":")).encode()
    hashlib.sha256(b"1:" + body).hexdigest()
    return body


def timed(function: Any, *args: Any, rounds: int = 300) -> tuple[float, float]:
    """Median and 99th percentile, in microseconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        function(*args)
        times.append((time.perf_counter() - started) * 1e6)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


async def import_into(url: str, export: Path) -> UniverseIndex:
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        for attempt in ("first", "again"):  # again: a re-import replaces what is there
            started = time.perf_counter()
            imported = await import_sde(engine, export, source="bench")
            took = time.perf_counter() - started
            print(f"import into {url.split('+')[0]} ({attempt}): {took:.2f} s {imported.rows}")
        started = time.perf_counter()
        index = await load_index(engine, 1)
        print(
            f"index load from {url.split('+')[0]}: {(time.perf_counter() - started) * 1e3:.0f} ms"
        )
        return index
    finally:
        await engine.dispose()


def wheel_size() -> int:
    """Bytes of the wheel, built from a copy (building in place leaves build/ behind)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "source"
        shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
        wheels = Path(folder) / "wheels"
        pip = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q"]
        subprocess.run([*pip, "-w", str(wheels), str(source)], check=True)
        (wheel,) = wheels.glob("mapper-*.whl")
        return wheel.stat().st_size


def builtin() -> None:
    print(
        f"wheel: {wheel_size() / 2**20:.2f} MiB, of which the universe file is "
        f"{BUILTIN.stat().st_size / 2**10:.0f} KiB"
    )
    packed = load_builtin()
    load_median, load_p99 = timed(load_builtin, rounds=30)
    build_median, build_p99 = timed(
        lambda: make_index(packed.universe, packed.statics, version=0, build=""), rounds=30
    )
    universe = packed.universe
    print(
        f"built-in universe: {len(universe.systems)} systems, {len(universe.gates)} stargate "
        f"links, {len(universe.wormholes)} wormhole types, {len(universe.effects)} effects, "
        f"{len(packed.statics)} systems with statics, {len(universe.ships)} ship types"
    )
    print(
        f"  load the file (read, inflate, parse): {load_median / 1e3:.0f} ms median, "
        f"{load_p99 / 1e3:.0f} ms max of 30"
    )
    print(
        f"  build the index from it: {build_median / 1e3:.0f} ms median, "
        f"{build_p99 / 1e3:.0f} ms max of 30"
    )
    index = make_index(packed.universe, packed.statics, version=0, build="")
    searches(index)


def searches(index: UniverseIndex) -> None:
    print(f"search over {len(index.systems)} systems (limit 20), median / p99:")
    for prefix in PREFIXES:
        hits = len(index.search(prefix, 20))
        search_median, search_p99 = timed(index.search, prefix, 20)
        answer_median, answer_p99 = timed(answer, index, prefix)
        print(
            f"  {prefix!r:7} {hits:2} hits: index {search_median:5.1f} / {search_p99:5.1f} us, "
            f"with JSON and ETag {answer_median:6.1f} / {answer_p99:6.1f} us"
        )


async def imports(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        export = Path(folder) / "sde.zip"
        started = time.perf_counter()
        write_export(export, args)
        print(
            f"export: {export.stat().st_size / 2**20:.0f} MiB zip, {args.systems} systems, "
            f"{args.stargates} stargates, {args.types} types, {args.dogma} typeDogma rows "
            f"(generated in {time.perf_counter() - started:.0f} s)"
        )
        started = time.perf_counter()
        read_universe(export)
        print(f"reading the export alone: {time.perf_counter() - started:.2f} s")
        index = await import_into(f"sqlite+aiosqlite:///{folder}/bench.db", export)
        if args.database_url:
            await import_into(args.database_url, export)
    searches(index)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--import", dest="imports", action="store_true", help="also time a full-size import"
    )
    parser.add_argument("--database-url", default="", help="also import into this database")
    parser.add_argument("--systems", type=int, default=8500)
    parser.add_argument("--stargates", type=int, default=14000, help="gates, two per link")
    parser.add_argument("--types", type=int, default=52863)
    parser.add_argument("--wormholes", type=int, default=100)
    parser.add_argument("--dogma", type=int, default=26828)
    arguments = parser.parse_args()
    builtin()
    if arguments.imports:
        asyncio.run(imports(arguments))

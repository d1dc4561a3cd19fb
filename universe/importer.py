"""Writing the universe into the database: one transaction per table, each replacing the
table's content, so a re-import of a newer export updates in place and a failure leaves
every table as it was (the export is read whole, and checked, before the first write).
Rows go in as multi-row INSERTs of a few thousand: the whole universe is some 30,000 rows."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.persistence.models import (
    UniverseConstellation,
    UniverseGate,
    UniverseImport,
    UniverseRegion,
    UniverseShip,
    UniverseStatic,
    UniverseSystem,
    UniverseWormhole,
)
from mapper.persistence.store import now_ms
from mapper.universe.sde import Progress, SdeError, read_universe

CHUNK = 2000  # rows per INSERT statement
Written = Callable[[str, int], None]
"""Called with (table, rows written) after each table's transaction commits."""

_SYSTEM_ID = re.compile(r"[0-9]{1,10}")
_CODE = re.compile(r"[A-Z][0-9]{3}")  # B274, K162, C008


class Imported(NamedTuple):
    rows: dict[str, int]  # per table
    build: int | None  # the export's build number, when it says


async def import_sde(
    engine: AsyncEngine,
    path: Path,
    *,
    source: str,
    progress: Progress | None = None,
    written: Written | None = None,
) -> Imported:
    """Import the export at `path` (a zip or a folder); returns what was written."""
    universe = await asyncio.to_thread(read_universe, path, progress)
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (
            UniverseRegion,
            [
                {"id": key, "name": region.name, "wormhole_class": region.wormhole_class}
                for key, region in universe.regions.items()
            ],
        ),
        (
            UniverseConstellation,
            [
                {
                    "id": key,
                    "name": constellation.name,
                    "region_id": constellation.region,
                    "wormhole_class": constellation.wormhole_class,
                }
                for key, constellation in universe.constellations.items()
            ],
        ),
        (
            UniverseSystem,
            [
                {
                    "id": key,
                    "name": system.name,
                    "security": system.security,
                    "constellation_id": system.constellation,
                    "region_id": system.region,
                    "wormhole_class": system.wormhole_class,
                    "effect": universe.effects.get(key),
                }
                for key, system in universe.systems.items()
            ],
        ),
        (UniverseGate, [{"from_system": a, "to_system": b} for a, b in sorted(universe.gates)]),
        (
            UniverseWormhole,
            [
                {
                    "type_id": key,
                    "code": wormhole.code,
                    "target_class": wormhole.target_class,
                    "lifetime_minutes": wormhole.lifetime_minutes,
                    "max_mass": wormhole.max_mass,
                    "mass_regeneration": wormhole.mass_regeneration,
                    "max_jump_mass": wormhole.max_jump_mass,
                }
                for key, wormhole in universe.wormholes.items()
            ],
        ),
        (
            UniverseShip,
            [
                {
                    "type_id": key,
                    "name": ship.name,
                    "mass": ship.mass,
                    "group_id": ship.group,
                    "group_name": universe.ship_groups.get(ship.group, ""),
                }
                for key, ship in universe.ships.items()
            ],
        ),
    ]
    counts = {}
    for model, rows in tables:
        await _replace(engine, model, rows)
        counts[model.__tablename__] = len(rows)
        if written is not None:
            written(model.__tablename__, len(rows))
    if universe.build is not None:
        source = f"{source} (build {universe.build})"
    await _record(engine, source, "sde")
    return Imported(counts, universe.build)


def parse_statics(text: str) -> dict[int, list[str]]:
    """`system_id,static_codes` lines: codes separated by spaces, `;`, `|` or more commas;
    a header line and blank or `#` lines are skipped; a system on several lines gets all
    their codes. Raises SdeError naming the first bad line."""
    statics: dict[int, list[str]] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        cells = [cell.strip() for cell in row]
        if not "".join(cells) or cells[0].startswith("#"):
            continue
        if number == 1 and not _SYSTEM_ID.fullmatch(cells[0]):
            continue  # the header
        if len(cells) < 2 or not _SYSTEM_ID.fullmatch(cells[0]):
            raise SdeError(f"statics line {number}: write system_id,static_codes (got {row!r})")
        codes = [code.upper() for code in re.split(r"[\s;|]+", " ".join(cells[1:])) if code]
        bad = [code for code in codes if not _CODE.fullmatch(code)]
        if bad:
            raise SdeError(f"statics line {number}: {bad} are not wormhole codes like B274")
        known = statics.setdefault(int(cells[0]), [])
        known.extend(code for code in codes if code not in known)
    return statics


async def import_statics(engine: AsyncEngine, text: str, *, source: str) -> int:
    statics = parse_statics(text)
    rows = [
        {"system_id": system_id, "code": code}
        for system_id, codes in statics.items()
        for code in codes
    ]
    await _replace(engine, UniverseStatic, rows)
    await _record(engine, source, "statics")
    return len(statics)


async def _replace(engine: AsyncEngine, model: Any, rows: Sequence[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        await conn.execute(delete(model))
        for chunk in _chunks(rows, CHUNK):
            await conn.execute(insert(model.__table__), chunk)


async def _record(engine: AsyncEngine, source: str, what: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(UniverseImport).values(at=now_ms(), source=source, what=what))


def _chunks(rows: Sequence[dict[str, Any]], size: int) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]

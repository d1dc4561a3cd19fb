"""Writing the universe into the database: one transaction per table, each replacing the
table's content, so a re-import of a newer export updates in place and a failure leaves
every table as it was (the export is read whole, and checked, before the first write)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine

from persistence.models import (
    UniverseConstellation,
    UniverseGate,
    UniverseImport,
    UniverseRegion,
    UniverseStatic,
    UniverseSystem,
    UniverseWormhole,
)
from persistence.store import now_ms
from universe.sde import Progress, SdeError, read_universe

CHUNK = 2000  # rows per INSERT statement
Written = Callable[[str, int], None]
"""Called with (table, rows written) after each table's transaction commits."""

_CODE = re.compile(r"^[A-Z][0-9]{3}$|^K162$")


async def import_sde(
    engine: AsyncEngine,
    path: Path,
    *,
    source: str,
    progress: Progress | None = None,
    written: Written | None = None,
) -> dict[str, int]:
    """Import the export at `path`; returns the rows written per table."""
    universe = await asyncio.to_thread(read_universe, path, progress)
    tables: list[tuple[Any, list[dict[str, Any]]]] = [
        (
            UniverseRegion,
            [
                {"id": key, "name": name, "wormhole_class": cls}
                for key, (name, cls) in universe.regions.items()
            ],
        ),
        (
            UniverseConstellation,
            [
                {"id": key, "name": name, "region_id": region, "wormhole_class": cls}
                for key, (name, region, cls) in universe.constellations.items()
            ],
        ),
        (
            UniverseSystem,
            [
                {
                    "id": key,
                    "name": name,
                    "security": security,
                    "constellation_id": constellation,
                    "region_id": region,
                    "wormhole_class": cls,
                }
                for key, (name, security, constellation, region, cls) in universe.systems.items()
            ],
        ),
        (UniverseGate, [{"from_system": a, "to_system": b} for a, b in sorted(universe.gates)]),
        (
            UniverseWormhole,
            [
                {
                    "type_id": key,
                    "code": code,
                    "target_class": target,
                    "lifetime_minutes": life,
                    "max_mass": mass,
                    "mass_regeneration": regen,
                    "max_jump_mass": jump,
                }
                for key, (code, target, life, mass, regen, jump) in universe.wormholes.items()
            ],
        ),
    ]
    counts = {}
    for model, rows in tables:
        await _replace(engine, model, rows)
        counts[model.__tablename__] = len(rows)
        if written is not None:
            written(model.__tablename__, len(rows))
    await _record(engine, source, "sde")
    return counts


def parse_statics(text: str) -> dict[int, list[str]]:
    """`system_id,static_codes` lines (codes separated by spaces, `;` or `|`); a header line
    and blank or `#` lines are skipped. Raises SdeError naming the first bad line."""
    statics: dict[int, list[str]] = {}
    for number, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
            continue
        if number == 1 and not row[0].strip().isdigit():
            continue  # the header
        if len(row) < 2 or not row[0].strip().isdigit():
            raise SdeError(f"statics line {number}: write system_id,static_codes (got {row!r})")
        codes = [code.upper() for code in re.split(r"[\s;|]+", row[1].strip()) if code]
        bad = [code for code in codes if not _CODE.match(code)]
        if bad:
            raise SdeError(f"statics line {number}: {bad} are not wormhole codes like B274")
        statics[int(row[0])] = codes
    return statics


async def import_statics(engine: AsyncEngine, text: str, *, source: str) -> int:
    statics = parse_statics(text)
    rows = [
        {"system_id": system_id, "code": code}
        for system_id, codes in statics.items()
        for code in dict.fromkeys(codes)
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

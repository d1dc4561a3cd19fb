"""The universe in memory, for fast answers: searches by name prefix (bisect over sorted
lower-case names), lookups by id, stargate neighbours, statics, wormhole types. Loaded from the
database, and loaded again when an import has happened since (checked at most every few
seconds, so a `mapper sde import` in another process reaches a running service)."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.core.clock import Clock
from mapper.persistence.models import (
    UniverseConstellation,
    UniverseGate,
    UniverseImport,
    UniverseRegion,
    UniverseStatic,
    UniverseSystem,
    UniverseWormhole,
)

RECHECK_S = 5.0


@dataclass
class UniverseIndex:
    version: int = 0
    systems: dict[int, dict[str, Any]] = field(default_factory=dict)
    neighbours: dict[int, list[int]] = field(default_factory=dict)
    statics: dict[int, list[str]] = field(default_factory=dict)
    wormholes: list[dict[str, Any]] = field(default_factory=list)
    _names: list[tuple[str, int]] = field(default_factory=list)

    def search(self, text: str, limit: int) -> list[dict[str, Any]]:
        prefix = text.strip().lower()
        start = bisect.bisect_left(self._names, (prefix, -1))
        found = []
        for position in range(start, min(start + limit, len(self._names))):
            name, system_id = self._names[position]
            if not name.startswith(prefix):
                break
            found.append(self.systems[system_id])
        return found

    def adjacent(self, a: int, b: int) -> bool:
        """A stargate joins the two systems."""
        return b in self.neighbours.get(a, ())

    def is_low_or_null(self, system_id: int) -> bool:
        """Known space under 0.5 (as the game rounds it); wormhole space is neither."""
        system = self.systems.get(system_id)
        if system is None or not 30_000_000 <= system_id < 31_000_000:
            return False
        return round(system["security"], 1) < 0.5


async def load_index(engine: AsyncEngine, version: int) -> UniverseIndex:
    index = UniverseIndex(version=version)
    async with engine.connect() as conn:
        regions = dict((await conn.execute(select(UniverseRegion.id, UniverseRegion.name))).all())
        constellations = dict(
            (await conn.execute(select(UniverseConstellation.id, UniverseConstellation.name))).all()
        )
        for system in await conn.execute(select(UniverseSystem)):
            index.systems[system.id] = {
                "id": system.id,
                "name": system.name,
                "security": system.security,
                "regionId": system.region_id,
                "region": regions.get(system.region_id, ""),
                "constellationId": system.constellation_id,
                "constellation": constellations.get(system.constellation_id, ""),
                "wormholeClass": system.wormhole_class,
            }
        for a, b in await conn.execute(select(UniverseGate.from_system, UniverseGate.to_system)):
            index.neighbours.setdefault(a, []).append(b)
            index.neighbours.setdefault(b, []).append(a)
        for system_id, code in await conn.execute(
            select(UniverseStatic.system_id, UniverseStatic.code).order_by(UniverseStatic.code)
        ):
            index.statics.setdefault(system_id, []).append(code)
        for wormhole in await conn.execute(
            select(UniverseWormhole).order_by(UniverseWormhole.code)
        ):
            index.wormholes.append(
                {
                    "typeId": wormhole.type_id,
                    "code": wormhole.code,
                    "targetClass": wormhole.target_class,
                    "lifetimeMinutes": wormhole.lifetime_minutes,
                    "maxMass": wormhole.max_mass,
                    "massRegeneration": wormhole.mass_regeneration,
                    "maxJumpMass": wormhole.max_jump_mass,
                }
            )
    index._names = sorted((system["name"].lower(), key) for key, system in index.systems.items())
    for neighbours in index.neighbours.values():
        neighbours.sort()
    return index


class Universe:
    """The service's handle on static data: `await universe.index()` is always current."""

    def __init__(self, engine: AsyncEngine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self._index = UniverseIndex()
        self._checked_at = -RECHECK_S  # the first call reads the database

    async def adjacent(self, a: int, b: int) -> bool:
        """Whether a stargate joins the two systems (the sync engine's star map)."""
        return (await self.index()).adjacent(a, b)

    async def index(self) -> UniverseIndex:
        if self._clock.monotonic() - self._checked_at >= RECHECK_S:
            self._checked_at = self._clock.monotonic()
            async with self._engine.connect() as conn:
                version = await conn.scalar(select(func.max(UniverseImport.id))) or 0
            if version != self._index.version:
                self._index = await load_index(self._engine, version)
        return self._index

"""The universe in memory, for fast answers: searches by name prefix (bisect over sorted
lower-case names), lookups by id, stargate neighbours, statics, wormhole types, ship masses.

Two sources, part by part: the universe file the package carries (`universe.packed`), and
what `mapper sde import` / `mapper sde statics` wrote into the database, which wins where it
exists (an imported export replaces systems, gates, wormhole types, effects and ships; imported
statics replace the statics). The database is checked again at most every few seconds, so an
import in another process reaches a running service."""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import Callable
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
    UniverseShip,
    UniverseStatic,
    UniverseSystem,
    UniverseWormhole,
)
from mapper.universe.packed import Packed, load_builtin
from mapper.universe.sde import (
    Constellation,
    Region,
    Ship,
    System,
    UniverseData,
    Wormhole,
)

RECHECK_S = 5.0
# Wormhole sizes by maximum jump mass (kg), smallest first: the biggest ship that fits.
SIZE_LIMITS = (
    ("small", 5_000_000.0),  # frigate holes
    ("medium", 62_000_000.0),
    ("large", 410_000_000.0),
    ("xlarge", 1_000_000_000.0),  # freighters
    ("capital", float("inf")),
)


def wormhole_size(max_jump_mass: float | None) -> str | None:
    if max_jump_mass is None:
        return None
    return next(name for name, limit in SIZE_LIMITS if max_jump_mass <= limit)


def display_security(security: float) -> float:
    """Security as the game shows it: one decimal, but above 0.0 and below 0.05 is 0.1 (a
    low-sec system, not null-sec)."""
    if 0.0 < security < 0.05:
        return 0.1
    return math.floor(security * 10 + 0.5) / 10 + 0.0  # half up; + 0.0: no -0.0


@dataclass
class UniverseIndex:
    version: int = -1  # the newest import seen; 0 for the package's file alone
    build: str | None = None  # what the systems came from (`/readyz` staticDataBuild)
    systems: dict[int, dict[str, Any]] = field(default_factory=dict)
    neighbours: dict[int, list[int]] = field(default_factory=dict)
    statics: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    wormholes: list[dict[str, Any]] = field(default_factory=list)
    sizes: dict[str, str] = field(default_factory=dict)  # wormhole code: size
    ships: dict[int, dict[str, Any]] = field(default_factory=dict)
    _names: list[tuple[str, int]] = field(default_factory=list)
    _ship_names: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

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

    def gate_jumps(self, a: int, b: int, limit: int) -> int | None:
        """How many stargate jumps lead from `a` to `b`, or None when more than `limit`."""
        if a == b:
            return 0
        seen = {a}
        frontier = [a]
        for jumps in range(1, limit + 1):
            reached = []
            for system_id in frontier:
                for step in self.neighbours.get(system_id, ()):
                    if step == b:
                        return jumps
                    if step not in seen:
                        seen.add(step)
                        reached.append(step)
            frontier = reached
        return None

    def search_ships(self, text: str, limit: int) -> list[dict[str, Any]]:
        """Ship types whose name starts with `text` (any case), then those holding it."""
        wanted = text.strip().lower()
        starts = [ship for name, ship in self._ship_names if name.startswith(wanted)]
        holds = [ship for name, ship in self._ship_names if wanted in name[1:]]
        found = [*starts, *(ship for ship in holds if ship not in starts)]
        return found[:limit]

    def is_low_or_null(self, system_id: int) -> bool:
        """Known space under 0.5 as the game shows it; wormhole space is neither."""
        system = self.systems.get(system_id)
        if system is None or not 30_000_000 <= system_id < 31_000_000:
            return False
        return display_security(system["security"]) < 0.5


def make_index(
    data: UniverseData, statics: dict[int, list[str]], *, version: int, build: str | None
) -> UniverseIndex:
    index = UniverseIndex(version=version, build=build)
    for type_id, wormhole in sorted(data.wormholes.items(), key=lambda item: item[1].code):
        size = wormhole_size(wormhole.max_jump_mass)
        index.wormholes.append(
            {
                "typeId": type_id,
                "code": wormhole.code,
                "targetClass": wormhole.target_class,
                "lifetimeMinutes": wormhole.lifetime_minutes,
                "maxMass": wormhole.max_mass,
                "massRegeneration": wormhole.mass_regeneration,
                "maxJumpMass": wormhole.max_jump_mass,
                "size": size,
            }
        )
    # Pochven has several type ids per code: the first with a value speaks for the code.
    targets: dict[str, int | None] = {}
    for wormhole in index.wormholes:
        if targets.get(wormhole["code"]) is None:
            targets[wormhole["code"]] = wormhole["targetClass"]
        if wormhole["size"] is not None:
            index.sizes.setdefault(wormhole["code"], wormhole["size"])
    for system_id, codes in statics.items():
        index.statics[system_id] = [
            {"code": code, "targetClass": targets.get(code)} for code in sorted(codes)
        ]
    for key, system in data.systems.items():
        region = data.regions.get(system.region)
        constellation = data.constellations.get(system.constellation)
        index.systems[key] = {
            "id": key,
            "name": system.name,
            "security": system.security,
            "securityDisplay": display_security(system.security),
            "regionId": system.region,
            "region": region.name if region else "",
            "constellationId": system.constellation,
            "constellation": constellation.name if constellation else "",
            "wormholeClass": system.wormhole_class,
            "effect": data.effects.get(key),
            "statics": index.statics.get(key, []),
        }
    for a, b in data.gates:
        index.neighbours.setdefault(a, []).append(b)
        index.neighbours.setdefault(b, []).append(a)
    for neighbours in index.neighbours.values():
        neighbours.sort()
    for type_id, ship in sorted(data.ships.items()):
        index.ships[type_id] = {
            "typeId": type_id,
            "name": ship.name,
            "mass": ship.mass,
            "groupId": ship.group,
            "group": data.ship_groups.get(ship.group, ""),
        }
    index._names = sorted((system["name"].lower(), key) for key, system in index.systems.items())
    index._ship_names = sorted(
        ((ship["name"].lower(), ship) for ship in index.ships.values()), key=lambda item: item[0]
    )
    return index


async def load_index(
    engine: AsyncEngine, version: int, base: Packed | None = None
) -> UniverseIndex:
    """The index from the database, over `base` (the package's file) where nothing was
    imported; without `base`, from the database alone."""
    base = base or Packed(UniverseData(), {}, {})
    data, statics = base.universe, base.statics
    build = f"built in: {base.sources['sde']}" if "sde" in base.sources else None
    async with engine.connect() as conn:
        imports = {
            what: newest
            for what, newest in await conn.execute(
                select(UniverseImport.what, func.max(UniverseImport.id)).group_by(
                    UniverseImport.what
                )
            )
        }
        if "sde" in imports:
            imported = await _read_sde(conn, data)
            source = await conn.scalar(
                select(UniverseImport.source).where(UniverseImport.id == imports["sde"])
            )
            data, build = imported, f"imported: {source}"
        if "statics" in imports:
            statics = {}
            for system_id, code in await conn.execute(
                select(UniverseStatic.system_id, UniverseStatic.code)
            ):
                statics.setdefault(system_id, []).append(code)
    # Some 10,000 answers to shape: tens of ms, off the event loop.
    return await asyncio.to_thread(make_index, data, statics, version=version, build=build)


async def _read_sde(conn: Any, base: UniverseData) -> UniverseData:
    """The imported export. One imported before effects and ships were kept has neither:
    those come from `base` then."""
    data = UniverseData()
    for row in await conn.execute(select(UniverseRegion)):
        data.regions[row.id] = Region(row.name, row.wormhole_class)
    for row in await conn.execute(select(UniverseConstellation)):
        data.constellations[row.id] = Constellation(row.name, row.region_id, row.wormhole_class)
    for row in await conn.execute(select(UniverseSystem)):
        data.systems[row.id] = System(
            row.name, row.security, row.constellation_id, row.region_id, row.wormhole_class
        )
        if row.effect is not None:
            data.effects[row.id] = row.effect
    for a, b in await conn.execute(select(UniverseGate.from_system, UniverseGate.to_system)):
        data.gates.add((a, b))
    for row in await conn.execute(select(UniverseWormhole)):
        data.wormholes[row.type_id] = Wormhole(
            row.code,
            row.target_class,
            row.lifetime_minutes,
            row.max_mass,
            row.mass_regeneration,
            row.max_jump_mass,
        )
    for row in await conn.execute(select(UniverseShip)):
        data.ships[row.type_id] = Ship(row.name, row.mass, row.group_id)
        data.ship_groups[row.group_id] = row.group_name
    if not data.effects:
        data.effects = base.effects
    if not data.ships:
        data.ships, data.ship_groups = base.ships, base.ship_groups
    return data


class Universe:
    """The service's handle on static data: `await universe.index()` is always current."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, builtin: Callable[[], Packed] = load_builtin
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._load_builtin = builtin
        self._builtin: Packed | None = None
        self._index = UniverseIndex()
        self._checked_at = -RECHECK_S  # the first call reads the database
        # Callers that come while the first index loads wait for it, rather than see an empty
        # one (the sync engine would take every jump for a wormhole). Later reloads leave the
        # current index in use until the next is ready.
        self._loading = asyncio.Lock()

    async def gate_jumps(self, a: int, b: int, limit: int) -> int | None:
        """Stargate jumps from `a` to `b`, None past `limit` (the sync engine's star map)."""
        return (await self.index()).gate_jumps(a, b, limit)

    async def ship_mass(self, type_id: int) -> float | None:
        """A ship type's mass in kg, when static data knows it."""
        ship = (await self.index()).ships.get(type_id)
        return ship["mass"] if ship is not None else None

    async def index(self) -> UniverseIndex:
        first = self._index.version < 0
        if self._due() or (first and self._loading.locked()):
            async with self._loading:
                if self._due():
                    self._checked_at = self._clock.monotonic()
                    await self._reload()
        return self._index

    def _due(self) -> bool:
        return self._clock.monotonic() - self._checked_at >= RECHECK_S

    async def _reload(self) -> None:
        async with self._engine.connect() as conn:
            version = await conn.scalar(select(func.max(UniverseImport.id))) or 0
        if version != self._index.version:
            if self._builtin is None:  # a file read and parsed: off the event loop
                self._builtin = await asyncio.to_thread(self._load_builtin)
            self._index = await load_index(self._engine, version, self._builtin)

"""The universe as the package carries it: one gzip'd JSON file, columnar, made by
`python -m mapper.universe.build` from CCP's export and a statics source.

    {"format": 1, "sources": {"sde": ..., "statics": ...}, "build": int | null,
     "regions":        {"id": [...], "name": [...], "class": [...]},
     "constellations": {"id", "name", "region", "class"},
     "systems":        {"id", "name", "security", "constellation", "region", "class"},
     "gates":          [a, b, a, b, ...]            (each pair once, a < b)
     "wormholes":      {"typeId", "code", "targetClass", "lifetimeMinutes", "maxMass",
                        "massRegeneration", "maxJumpMass"},
     "effects":        {"system": [...], "name": [...]},
     "statics":        {"system": [...], "codes": ["B274 C247", ...]},
     "shipGroups":     {"id", "name"},
     "ships":          {"typeId", "name", "mass", "group"}}

Every column of a table has the same length; `class` is null where the export has none (a
system's is the class it has in game, inherited already). Columns compress far better than
one object per row, and load as fast: the whole file is some 150 KB and reads in tens of ms.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, NamedTuple

from mapper.universe.sde import (
    Constellation,
    Region,
    Ship,
    System,
    UniverseData,
    Wormhole,
)

FORMAT = 1
WORMHOLE_COLUMNS = (
    "typeId",
    "code",
    "targetClass",
    "lifetimeMinutes",
    "maxMass",
    "massRegeneration",
    "maxJumpMass",
)
BUILTIN = Path(__file__).resolve().parent / "data" / "universe.json.gz"


class Packed(NamedTuple):
    universe: UniverseData
    statics: dict[int, list[str]]  # system: codes
    sources: dict[str, str]  # "sde", "statics": what each part was made from


class PackedError(Exception):
    """The file is not a universe file of this format."""


def dump(packed: Packed) -> bytes:
    data = packed.universe
    content = {
        "format": FORMAT,
        "sources": packed.sources,
        "build": data.build,
        "regions": _columns(
            data.regions, ("id", "name", "class"), lambda r: (r.name, r.wormhole_class)
        ),
        "constellations": _columns(
            data.constellations,
            ("id", "name", "region", "class"),
            lambda c: (c.name, c.region, c.wormhole_class),
        ),
        "systems": _columns(
            data.systems,
            ("id", "name", "security", "constellation", "region", "class"),
            lambda s: (s.name, s.security, s.constellation, s.region, s.wormhole_class),
        ),
        "gates": [end for gate in sorted(data.gates) for end in gate],
        "wormholes": _columns(
            data.wormholes,
            WORMHOLE_COLUMNS,
            tuple,
        ),
        "effects": _columns(data.effects, ("system", "name"), lambda name: (name,)),
        "statics": _columns(packed.statics, ("system", "codes"), lambda codes: (" ".join(codes),)),
        "shipGroups": _columns(data.ship_groups, ("id", "name"), lambda name: (name,)),
        "ships": _columns(data.ships, ("typeId", "name", "mass", "group"), tuple),
    }
    text = json.dumps(content, separators=(",", ":"), ensure_ascii=False)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)  # the same bytes each build


def load(raw: bytes) -> Packed:
    """Blocking (some tens of ms for the whole universe): run it in a thread."""
    try:
        content = json.loads(gzip.decompress(raw))
        found = content.get("format") if isinstance(content, dict) else None
        if found != FORMAT:
            raise PackedError(f"format {found!r}, not {FORMAT}")
        data = UniverseData(build=content["build"])
        data.regions = {row[0]: Region(*row[1:]) for row in _rows(content["regions"])}
        data.constellations = {
            row[0]: Constellation(*row[1:]) for row in _rows(content["constellations"])
        }
        data.systems = {row[0]: System(*row[1:]) for row in _rows(content["systems"])}
        gates = content["gates"]
        data.gates = set(zip(gates[0::2], gates[1::2], strict=True))
        data.wormholes = {row[0]: Wormhole(*row[1:]) for row in _rows(content["wormholes"])}
        data.effects = dict(_rows(content["effects"]))
        data.ship_groups = dict(_rows(content["shipGroups"]))
        data.ships = {row[0]: Ship(*row[1:]) for row in _rows(content["ships"])}
        statics = {system: codes.split() for system, codes in _rows(content["statics"])}
        return Packed(data, statics, dict(content["sources"]))
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise PackedError(f"not a universe file: {error}") from None


def load_builtin() -> Packed:
    return load(BUILTIN.read_bytes())


def _columns(table: dict[Any, Any], names: tuple[str, ...], values: Any) -> dict[str, list[Any]]:
    rows = [(key, *values(value)) for key, value in sorted(table.items())]
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


def _rows(columns: dict[str, list[Any]]) -> Any:
    return zip(*columns.values(), strict=True)

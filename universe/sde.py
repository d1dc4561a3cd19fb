"""Reading CCP's static data export (SDE): what the mapper needs from it, from either layout.

The current layout (since 22 September 2025) is a zip of flat JSON Lines files,
`eve-online-static-data-<build>-jsonl.zip` from https://developers.eveonline.com/static-data/:
every record's id is `_key`, names are `{"en": ..., "de": ...}` objects. Read here:

- `mapRegions.jsonl`, `mapConstellations.jsonl`: `_key`, `name`, optional `wormholeClassID`
  (constellations also `regionID`);
- `mapSolarSystems.jsonl`: `_key`, `name`, `securityStatus`, `constellationID`, `regionID`,
  optional `wormholeClassID`;
- `mapStargates.jsonl`: `solarSystemID` and `destination.solarSystemID`;
- `types.jsonl`: `_key`, `groupID` (988 is Wormhole, 995 Secondary Sun), `name`
  (`Wormhole B274`), and for ships `mass`;
- `typeDogma.jsonl`: `_key`, `dogmaAttributes: [{attributeID, value}]`, attributes 1381-1385;
- `groups.jsonl`: `_key`, `categoryID` (6 is Ship), `name`, when present;
- `mapSecondarySuns.jsonl`: `solarSystemID`, `typeID` (a wormhole system's effect), when present;
- `_sde.jsonl`: `{"_key": "sde", "buildNumber": ...}`, when present.

The previous layout, the YAML `sde.zip` published until July 2025, is read by
`universe.sde_legacy`. Anything else fails with a message saying what to download.

Each file is streamed line by line; only the few fields above are kept, so the universe
(8,500 systems) is collected whole and checked before anything is written: a broken export
never touches the database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from mapper.universe.archive import Archive, SdeError

__all__ = ["SdeError", "UniverseData", "read_universe"]

WORMHOLE_GROUP = 988
SECONDARY_SUN_GROUP = 995  # a wormhole system's effect: Pulsar, Black Hole, ...
SHIP_CATEGORY = 6
TARGET_CLASS, LIFETIME, MAX_MASS, MASS_REGENERATION, MAX_JUMP_MASS = 1381, 1382, 1383, 1384, 1385
FILES = {
    "regions": "mapRegions.jsonl",
    "constellations": "mapConstellations.jsonl",
    "systems": "mapSolarSystems.jsonl",
    "stargates": "mapStargates.jsonl",
    "types": "types.jsonl",
    "dogma": "typeDogma.jsonl",
}
BUILD_FILE = "_sde.jsonl"
GROUPS_FILE = "groups.jsonl"
SECONDARY_SUNS_FILE = "mapSecondarySuns.jsonl"
DOWNLOAD = "https://developers.eveonline.com/static-data/eve-online-static-data-latest-jsonl.zip"
REPORT_EVERY = 5000

Progress = Callable[[str, int], None]
"""Called with (file name, records read so far) every few thousand records, and with -1
when a file is done."""


class Region(NamedTuple):
    name: str
    wormhole_class: int | None


class Constellation(NamedTuple):
    name: str
    region: int
    wormhole_class: int | None


class System(NamedTuple):
    name: str
    security: float
    constellation: int
    region: int
    wormhole_class: int | None  # the system's own; see UniverseData.finish


class Wormhole(NamedTuple):
    code: str
    target_class: int | None
    lifetime_minutes: float | None
    max_mass: float | None
    mass_regeneration: float | None
    max_jump_mass: float | None


class Ship(NamedTuple):
    name: str
    mass: float | None  # kg
    group: int  # a key of UniverseData.ship_groups


@dataclass
class UniverseData:
    regions: dict[int, Region] = field(default_factory=dict)
    constellations: dict[int, Constellation] = field(default_factory=dict)
    systems: dict[int, System] = field(default_factory=dict)
    gates: set[tuple[int, int]] = field(default_factory=set)  # (a, b) with a < b
    wormholes: dict[int, Wormhole] = field(default_factory=dict)
    effects: dict[int, str] = field(default_factory=dict)  # system: its secondary sun's name
    ship_groups: dict[int, str] = field(default_factory=dict)  # group id: name
    # Every ship type, published or not: a capsule (670) is not, and pilots fly it.
    ships: dict[int, Ship] = field(default_factory=dict)
    build: int | None = None
    # Read along the way, resolved into `effects` by `finish`: system -> secondary sun type,
    # sun type -> name. Not part of what was read, for comparisons.
    secondary_suns: dict[int, int] = field(default_factory=dict, compare=False, repr=False)
    sun_names: dict[int, str] = field(default_factory=dict, compare=False, repr=False)

    def add_group(self, group_id: int, record: dict[str, Any]) -> None:
        if record.get("categoryID") == SHIP_CATEGORY:
            self.ship_groups[group_id] = _name(record)

    def wants_type(self, group: int) -> bool:
        """Whether types of this group are kept (wormholes are read with their dogma)."""
        return group in (WORMHOLE_GROUP, SECONDARY_SUN_GROUP) or group in self.ship_groups

    def add_type(self, type_id: int, record: dict[str, Any]) -> None:
        """A secondary sun or a ship type from `types` (the same fields in both layouts)."""
        group = record.get("groupID")
        if group == SECONDARY_SUN_GROUP:
            self.sun_names[type_id] = _name(record)
        elif group in self.ship_groups:
            mass = record.get("mass")
            number = float(mass) if isinstance(mass, int | float) and mass > 0 else None
            self.ships[type_id] = Ship(_name(record), number, group)

    def add_gate(self, a: int, b: int) -> None:
        if a != b:
            self.gates.add((min(a, b), max(a, b)))

    def add_wormhole(self, type_id: int, name: str, attributes: dict[int, float]) -> None:
        target = attributes.get(TARGET_CLASS)
        self.wormholes[type_id] = Wormhole(
            wormhole_code(name),
            int(target) if target is not None else None,
            attributes.get(LIFETIME),
            attributes.get(MAX_MASS),
            attributes.get(MASS_REGENERATION),
            attributes.get(MAX_JUMP_MASS),
        )

    def finish(self) -> UniverseData:
        """Checks the result and gives each system the class it has in game: its own, else its
        constellation's, else its region's (CCP sets most classes on regions)."""
        if not self.systems:
            raise SdeError("the export has no solar systems")
        for key, system in self.systems.items():
            if system.wormhole_class is None:
                constellation = self.constellations.get(system.constellation)
                region = self.regions.get(system.region)
                inherited = (constellation.wormhole_class if constellation else None) or (
                    region.wormhole_class if region else None
                )
                self.systems[key] = system._replace(wormhole_class=inherited)
        self.effects = {
            system: self.sun_names[sun]
            for system, sun in sorted(self.secondary_suns.items())
            if system in self.systems and sun in self.sun_names
        }
        return self


def wormhole_code(type_name: str) -> str:
    """`Wormhole B274` is type B274; a name without the prefix is kept as it is."""
    return type_name.removeprefix("Wormhole ").strip() or type_name


def read_universe(path: Path, progress: Progress | None = None) -> UniverseData:
    """Reads a zip or a folder of either layout; blocking, so run it in a thread."""
    from mapper.universe import sde_legacy  # the YAML reader is only needed for old exports

    archive = Archive(path)
    try:
        if all(archive.find(name) for name in FILES.values()):
            return JsonlReader(archive, progress).read().finish()
        if sde_legacy.is_legacy(archive):
            return sde_legacy.read(archive, progress).finish()
        raise SdeError(_what_is_wrong(archive))
    finally:
        archive.close()


def _what_is_wrong(archive: Archive) -> str:
    if archive.find("mapSolarSystems.yaml"):
        return (
            f"{archive.path} is the YAML variant of CCP's export; give the JSON Lines one "
            f"({DOWNLOAD})"
        )
    missing = [name for name in FILES.values() if not archive.find(name)]
    return (
        f"{archive.path} lacks {', '.join(missing)}: it is neither CCP's JSON Lines static data "
        f"export ({DOWNLOAD}) nor the YAML sde.zip published until July 2025"
    )


class JsonlReader:
    """The current layout."""

    def __init__(self, archive: Archive, progress: Progress | None) -> None:
        self.archive = archive
        self.progress = progress
        self.universe = UniverseData()

    def read(self) -> UniverseData:
        universe = self.universe
        for line, record in self._records(FILES["regions"]):
            universe.regions[_int(record, "_key", line)] = Region(
                _name(record), _optional_int(record, "wormholeClassID", line)
            )
        for line, record in self._records(FILES["constellations"]):
            universe.constellations[_int(record, "_key", line)] = Constellation(
                _name(record),
                _int(record, "regionID", line),
                _optional_int(record, "wormholeClassID", line),
            )
        for line, record in self._records(FILES["systems"]):
            universe.systems[_int(record, "_key", line)] = System(
                _name(record),
                _number(record, "securityStatus", line),
                _int(record, "constellationID", line),
                _int(record, "regionID", line),
                _optional_int(record, "wormholeClassID", line),
            )
        for line, record in self._records(FILES["stargates"]):
            destination = record.get("destination")
            if not isinstance(destination, dict):
                raise line.error("has no destination object")
            universe.add_gate(
                _int(record, "solarSystemID", line), _int(destination, "solarSystemID", line)
            )
        if self.archive.find(GROUPS_FILE):
            for line, record in self._records(GROUPS_FILE):
                universe.add_group(_int(record, "_key", line), record)
        names = {}
        for line, record in self._records(FILES["types"], wanted=universe.wants_type):
            if record.get("groupID") == WORMHOLE_GROUP:
                names[_int(record, "_key", line)] = _name(record)
            else:
                universe.add_type(_int(record, "_key", line), record)
        for line, record in self._records(FILES["dogma"]):
            type_id = _int(record, "_key", line)
            if type_id in names:
                attributes = dogma_attributes(record.get("dogmaAttributes"))
                universe.add_wormhole(type_id, names.pop(type_id), attributes)
        for type_id, name in names.items():  # a wormhole type without dogma: values unknown
            universe.add_wormhole(type_id, name, {})
        if self.archive.find(SECONDARY_SUNS_FILE):
            for line, record in self._records(SECONDARY_SUNS_FILE):
                system = _int(record, "solarSystemID", line)
                universe.secondary_suns[system] = _int(record, "typeID", line)
        if self.archive.find(BUILD_FILE):
            for _, record in self._records(BUILD_FILE):
                if record.get("_key") == "sde" and isinstance(record.get("buildNumber"), int):
                    universe.build = record["buildNumber"]
        return universe

    def _records(
        self, file_name: str, wanted: Callable[[int], bool] | None = None
    ) -> Iterator[tuple[Line, dict[str, Any]]]:
        """The file's JSON objects. With `wanted`, lines whose `groupID` it refuses are skipped
        unparsed: `types.jsonl` is 150 MB of which a thousand lines matter."""
        for number, text in self.archive.lines(self.archive.find(file_name) or file_name):
            if self.progress is not None and number % REPORT_EVERY == 0:
                self.progress(file_name, number)
            if not text.strip():
                continue
            if wanted is not None:
                group = _GROUP_ID.search(text)
                if group is None or not wanted(int(group.group(1))):
                    continue
            line = Line(file_name, number)
            try:
                record = json.loads(text)
            except json.JSONDecodeError as error:
                raise line.error(f"is not JSON ({error}): the export is damaged") from None
            if not isinstance(record, dict):
                raise line.error("is not a JSON object")
            yield line, record
        if self.progress is not None:
            self.progress(file_name, -1)


_GROUP_ID = re.compile(r'"groupID":\s*([0-9]+)')


class Line(NamedTuple):
    file: str
    number: int

    def error(self, problem: str) -> SdeError:
        return SdeError(f"{self.file} line {self.number} {problem}")


def _int(record: dict[str, Any], key: str, line: Line) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise line.error(f"has no integer {key!r} (got {value!r}): is this CCP's JSONL export?")
    return value


def _optional_int(record: dict[str, Any], key: str, line: Line) -> int | None:
    return _int(record, key, line) if record.get(key) is not None else None


def _number(record: dict[str, Any], key: str, line: Line) -> float:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise line.error(f"has no number {key!r} (got {value!r})")
    return float(value)


def _name(record: dict[str, Any]) -> str:
    """English, else any language: names are localized objects in the current layout."""
    value = record.get("name")
    if isinstance(value, dict):
        value = value.get("en") or next((text for text in value.values() if text), "")
    return value if isinstance(value, str) else ""


def dogma_attributes(listed: Any) -> dict[int, float]:
    """{attributeID: value} from a type's `dogmaAttributes` list (the same in both layouts)."""
    values: dict[int, float] = {}
    for attribute in listed if isinstance(listed, list) else []:
        if isinstance(attribute, dict):
            key, value = attribute.get("attributeID"), attribute.get("value")
            if isinstance(key, int) and isinstance(value, int | float):
                values[key] = float(value)
    return values

"""Reading CCP's static data export (SDE) in its JSON Lines form.

CCP publishes it at https://developers.eveonline.com/static-data/ as a zip of `*.jsonl` files
(`eve-online-static-data-latest-jsonl.zip`), one JSON object per line. Two layouts are read:

- current: each record's id is `_key`, names are `{"en": ..., "de": ...}` objects;
- previous (the YAML-era conversion): ids are named fields (`solarSystemID`,
  `constellationID`, `regionID`, `typeID`) and names plain strings (`solarSystemName`,
  `constellationName`, `regionName`, `name`).

Files read: mapRegions, mapConstellations, mapSolarSystems, mapStargates, types (group 988 is
Wormhole), typeDogma (attributes 1381-1385). Reading streams line by line and never holds an
archive in memory; the universe itself (8,500 systems) is small enough to collect whole
before anything is written, so a broken export never touches the database.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

WORMHOLE_GROUP = 988
TARGET_CLASS, LIFETIME, MAX_MASS, MASS_REGENERATION, MAX_JUMP_MASS = 1381, 1382, 1383, 1384, 1385

FILES = {
    "regions": "mapRegions.jsonl",
    "constellations": "mapConstellations.jsonl",
    "systems": "mapSolarSystems.jsonl",
    "stargates": "mapStargates.jsonl",
    "types": "types.jsonl",
    "dogma": "typeDogma.jsonl",
}
Progress = Callable[[str, int], None]
"""Called with (file name, records read so far) every few thousand records and at the end."""


class SdeError(Exception):
    """The export cannot be read; the message says what is wrong and what to give instead."""


@dataclass
class Universe:
    regions: dict[int, tuple[str, int | None]] = field(default_factory=dict)
    constellations: dict[int, tuple[str, int, int | None]] = field(default_factory=dict)
    # id -> (name, security, constellation, region, wormhole class or None)
    systems: dict[int, tuple[str, float, int, int, int | None]] = field(default_factory=dict)
    gates: set[tuple[int, int]] = field(default_factory=set)
    # type id -> (code, target class, lifetime minutes, max mass, regeneration, jump mass)
    wormholes: dict[
        int, tuple[str, int | None, float | None, float | None, float | None, float | None]
    ] = field(default_factory=dict)


class Export:
    """A zip or an unpacked folder of the JSONL export."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self._zip: zipfile.ZipFile | None = None
            self._names = {item.name: item for item in path.rglob("*.jsonl")}
        else:
            try:
                self._zip = zipfile.ZipFile(path)
            except (zipfile.BadZipFile, OSError) as error:
                raise SdeError(
                    f"{path} is not a readable zip ({error}); give the JSONL "
                    "export's zip or the folder it unpacks to"
                ) from None
            self._names = {Path(name).name: name for name in self._zip.namelist()}  # type: ignore[misc]
        missing = [name for name in FILES.values() if name not in self._names]
        if missing:
            raise SdeError(
                f"{path} lacks {', '.join(missing)}: is it CCP's JSONL static data export "
                "(eve-online-static-data-*-jsonl.zip)? The YAML export is not read."
            )

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def records(self, name: str, progress: Progress | None = None) -> Iterator[dict[str, Any]]:
        where = self._names[name]
        try:
            raw = self._zip.open(where) if self._zip is not None else open(where, "rb")
            with raw, io.TextIOWrapper(raw, encoding="utf-8") as lines:
                for count, line in enumerate(lines, 1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as error:
                        raise SdeError(
                            f"{name} line {count} is not JSON ({error}): "
                            "the export is damaged; download it again"
                        ) from None
                    if not isinstance(record, dict):
                        raise SdeError(f"{name} line {count} is not a JSON object")
                    if progress is not None and count % 5000 == 0:
                        progress(name, count)
                    yield record
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as error:
            raise SdeError(
                f"{name} cannot be read ({error}): the export is truncated or "
                "damaged; download it again"
            ) from None
        if progress is not None:
            progress(name, -1)


def _id(record: dict[str, Any], *names: str) -> int:
    for name in ("_key", *names):
        value = record.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    raise SdeError(f"a record has no id (_key or {', '.join(names)}): {str(record)[:120]}")


def _name(record: dict[str, Any], *names: str) -> str:
    for field_name in ("name", *names):
        value = record.get(field_name)
        if isinstance(value, dict):
            value = value.get("en") or next(iter(value.values()), None)
        if isinstance(value, str) and value:
            return value
    return ""


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _number_or_none(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def read_universe(path: Path, progress: Progress | None = None) -> Universe:
    export = Export(path)
    try:
        return _read(export, progress)
    finally:
        export.close()


def _read(export: Export, progress: Progress | None) -> Universe:
    universe = Universe()
    for record in export.records(FILES["regions"], progress):
        universe.regions[_id(record, "regionID")] = (
            _name(record, "regionName"),
            _int_or_none(record.get("wormholeClassID")),
        )
    for record in export.records(FILES["constellations"], progress):
        universe.constellations[_id(record, "constellationID")] = (
            _name(record, "constellationName"),
            _int_or_none(record.get("regionID")) or 0,
            _int_or_none(record.get("wormholeClassID")),
        )
    for record in export.records(FILES["systems"], progress):
        system_id = _id(record, "solarSystemID")
        constellation = _int_or_none(record.get("constellationID")) or 0
        region = (
            _int_or_none(record.get("regionID"))
            or universe.constellations.get(constellation, ("", 0, None))[1]
        )
        wormhole_class = _int_or_none(record.get("wormholeClassID"))
        if wormhole_class is None:
            wormhole_class = universe.constellations.get(constellation, ("", 0, None))[2]
        if wormhole_class is None:
            wormhole_class = universe.regions.get(region, ("", None))[1]
        security = _number_or_none(record.get("securityStatus", record.get("security")))
        universe.systems[system_id] = (
            _name(record, "solarSystemName"),
            security if security is not None else 0.0,
            constellation,
            region,
            wormhole_class,
        )
    for record in export.records(FILES["stargates"], progress):
        source = _int_or_none(record.get("solarSystemID"))
        destination = record.get("destination")
        target = (
            _int_or_none(destination.get("solarSystemID"))
            if isinstance(destination, dict)
            else None
        )
        if source is not None and target is not None and source != target:
            universe.gates.add((min(source, target), max(source, target)))
    codes = {}
    for record in export.records(FILES["types"], progress):
        if record.get("groupID") == WORMHOLE_GROUP:
            name = _name(record, "typeName")
            codes[_id(record, "typeID")] = name.removeprefix("Wormhole ").strip() or name
    for record in export.records(FILES["dogma"], progress):
        type_id = _id(record, "typeID")
        if type_id not in codes:
            continue
        values: dict[int, float] = {}
        for attribute in record.get("dogmaAttributes") or []:
            if isinstance(attribute, dict) and isinstance(attribute.get("attributeID"), int):
                number = _number_or_none(attribute.get("value"))
                if number is not None:
                    values[attribute["attributeID"]] = number
        target = values.get(TARGET_CLASS)
        universe.wormholes[type_id] = (
            codes[type_id],
            int(target) if target is not None else None,
            values.get(LIFETIME),
            values.get(MAX_MASS),
            values.get(MASS_REGENERATION),
            values.get(MAX_JUMP_MASS),
        )
    for type_id, code in codes.items():
        universe.wormholes.setdefault(type_id, (code, None, None, None, None, None))
    if not universe.systems:
        raise SdeError("the export has no solar systems")
    return universe

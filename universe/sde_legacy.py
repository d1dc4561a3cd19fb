"""The previous layout: CCP's YAML `sde.zip` (`sde-YYYYMMDD-TRANQUILITY.zip` in archives),
published at https://developers.eveonline.com/resource/resources until July 2025 and frozen
since; EVE Ref keeps every build. It has no JSON Lines form:

- `.../universe/<space>/<Region>/region.staticdata` (`regionID`, optional `wormholeClassID`),
  `<Region>/<Constellation>/constellation.staticdata` (`constellationID`, optional
  `wormholeClassID`), `<Constellation>/<System>/solarsystem.staticdata` (`solarSystemID`,
  `security`, optional `wormholeClassID`, `stargates: {gateID: {destination: gateID}}`,
  optional `secondarySun: {typeID}`).
  Older builds keep the tree under `sde/fsd/universe/`, the last ones under `universe/` and
  may name the files `*.yaml`; both are read. Which region and constellation a system is in
  is where its file lies, and a stargate's destination is the other gate, not its system.
- `bsd/invNames.yaml`: `[{itemID, itemName}]`, where the names of regions, constellations and
  systems are (the universe files only carry `nameID`s);
- `fsd/types.yaml` (`typeIDs.yaml` before June 2024): `{typeID: {groupID, name: {en: ...},
  mass}}`;
- `fsd/typeDogma.yaml`: `{typeID: {dogmaAttributes: [{attributeID, value}]}}`;
- `fsd/groups.yaml` (`groupIDs.yaml` before June 2024), when present: `{groupID: {categoryID,
  name}}`, for the ship groups.

The big files (types, typeDogma, invNames: some 200 MB of YAML) are never parsed whole: a block
mapping's or sequence's entries start at column 0, so the text is cut there and only the
entries that matter (those naming a wanted id, or of group 988) go through the YAML parser.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import Any

import yaml

from mapper.universe.archive import Archive, SdeError
from mapper.universe.sde import (
    WORMHOLE_GROUP,
    Constellation,
    Progress,
    Region,
    System,
    UniverseData,
    dogma_attributes,
)

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML has it
UNIVERSE_FILES = ("region", "constellation", "solarsystem")
SUFFIXES = (".staticdata", ".yaml")
NAMES_FILE = "invNames.yaml"
TYPES_FILES = ("types.yaml", "typeIDs.yaml")
GROUPS_FILES = ("groups.yaml", "groupIDs.yaml")
DOGMA_FILE = "typeDogma.yaml"
SYSTEM_KEYS = ("solarSystemID", "security", "wormholeClassID", "stargates", "secondarySun")

_ROOT_KEY = re.compile(r"^(\w+):")
_ITEM_ID = re.compile(r"itemID:\s*(\d+)")
_GROUP_ID = re.compile(r"^\s+groupID:\s*([0-9]+)\s*$", re.MULTILINE)


def is_legacy(archive: Archive) -> bool:
    return any(_kind(name) == "solarsystem" for name in archive.names) and bool(
        archive.find(NAMES_FILE)
    )


def read(archive: Archive, progress: Progress | None) -> UniverseData:
    files: dict[str, dict[PurePosixPath, str]] = {kind: {} for kind in UNIVERSE_FILES}
    for name in archive.names:
        kind = _kind(name)
        if kind is not None:
            files[kind][PurePosixPath(name).parent] = name
    regions: dict[PurePosixPath, tuple[int, int | None]] = {}
    for folder, name in files["region"].items():
        record = _load_whole(archive, name)
        regions[folder] = (
            _int(record, "regionID", name),
            _optional_int(record, "wormholeClassID", name),
        )
    constellations: dict[PurePosixPath, tuple[int, int, int | None]] = {}
    for folder, name in files["constellation"].items():
        record = _load_whole(archive, name)
        if folder.parent not in regions:
            raise SdeError(f"{name} lies in no region's folder: {archive.path} is damaged")
        constellations[folder] = (
            _int(record, "constellationID", name),
            regions[folder.parent][0],
            _optional_int(record, "wormholeClassID", name),
        )
    systems: dict[int, tuple[float, int, int, int | None]] = {}
    gate_system: dict[int, int] = {}
    gate_destination: dict[int, int] = {}
    secondary_suns: dict[int, int] = {}
    for count, (folder, name) in enumerate(files["solarsystem"].items(), 1):
        if progress is not None and count % 1000 == 0:
            progress("solarsystem files", count)
        if folder.parent not in constellations:
            raise SdeError(f"{name} lies in no constellation's folder: {archive.path} is damaged")
        record = _load_keys(archive, name, SYSTEM_KEYS)
        system_id = _int(record, "solarSystemID", name)
        security = record.get("security")
        if isinstance(security, bool) or not isinstance(security, int | float):
            raise SdeError(f"{name} has no number 'security' (got {security!r})")
        constellation, region, _ = constellations[folder.parent]
        systems[system_id] = (
            float(security),
            constellation,
            region,
            _optional_int(record, "wormholeClassID", name),
        )
        stargates = record.get("stargates") or {}
        if not isinstance(stargates, dict):
            raise SdeError(f"{name} has stargates that are not a mapping: the export is damaged")
        for gate, details in stargates.items():
            gate_system[gate] = system_id
            if isinstance(details, dict) and isinstance(details.get("destination"), int):
                gate_destination[gate] = details["destination"]
        sun = record.get("secondarySun")
        if isinstance(sun, dict) and isinstance(sun.get("typeID"), int):
            secondary_suns[system_id] = sun["typeID"]
    if progress is not None:
        progress("solarsystem files", -1)

    ids = {*systems, *(r[0] for r in regions.values()), *(c[0] for c in constellations.values())}
    names = _names(archive, ids)
    if progress is not None:
        progress(NAMES_FILE, -1)
    universe = UniverseData()
    for region, wormhole_class in regions.values():
        universe.regions[region] = Region(names.get(region, ""), wormhole_class)
    for constellation, region, wormhole_class in constellations.values():
        universe.constellations[constellation] = Constellation(
            names.get(constellation, ""), region, wormhole_class
        )
    for system_id, (security, constellation, region, wormhole_class) in systems.items():
        universe.systems[system_id] = System(
            names.get(system_id, ""), security, constellation, region, wormhole_class
        )
    for gate, destination in gate_destination.items():
        if destination in gate_system:  # the other side's gate, so its system
            universe.add_gate(gate_system[gate], gate_system[destination])
    universe.secondary_suns = secondary_suns
    _types(archive, universe, progress)
    return universe


def _kind(name: str) -> str | None:
    """`region`, `constellation` or `solarsystem` for a file of the universe tree."""
    path = PurePosixPath(name)
    if "universe" in path.parts and path.suffix in SUFFIXES and path.stem in UNIVERSE_FILES:
        return path.stem
    return None


def _names(archive: Archive, wanted: set[int]) -> dict[int, str]:
    name = archive.find(NAMES_FILE) or NAMES_FILE  # is_legacy found it
    names: dict[int, str] = {}
    for entry in _entries(archive.lines(name)):
        found = _ITEM_ID.search(entry)
        if found and int(found.group(1)) in wanted:
            for item in _parse(entry, name) or []:
                if isinstance(item, dict) and isinstance(item.get("itemName"), str):
                    names[item["itemID"]] = item["itemName"]
    return names


def _types(archive: Archive, universe: UniverseData, progress: Progress | None) -> None:
    """Ship groups, then wormhole, secondary sun and ship types, then the wormholes' dogma."""
    types_file = next((found for f in TYPES_FILES if (found := archive.find(f))), None)
    dogma_file = archive.find(DOGMA_FILE)
    if types_file is None or dogma_file is None:
        raise SdeError(f"{archive.path} lacks fsd/types.yaml or fsd/typeDogma.yaml")
    groups_file = next((found for f in GROUPS_FILES if (found := archive.find(f))), None)
    if groups_file is not None:
        for entry in _entries(archive.lines(groups_file)):
            for group_id, record in _mapping(entry, groups_file).items():
                if isinstance(group_id, int) and isinstance(record, dict):
                    universe.add_group(group_id, record)
    names: dict[int, str] = {}
    for entry in _entries(archive.lines(types_file)):
        group = _GROUP_ID.search(entry)
        if group is None or not universe.wants_type(int(group.group(1))):
            continue
        for type_id, record in _mapping(entry, types_file).items():
            if not isinstance(record, dict) or not isinstance(type_id, int):
                continue
            if record.get("groupID") != WORMHOLE_GROUP:
                universe.add_type(type_id, record)
                continue
            name = record.get("name")
            if isinstance(name, dict):
                name = name.get("en") or next(iter(name.values()), "")
            names[type_id] = name if isinstance(name, str) else str(type_id)
    if progress is not None:
        progress(PurePosixPath(types_file).name, -1)
    for entry in _entries(archive.lines(dogma_file)):
        key = _ROOT_KEY.match(entry)
        if key is None or not key.group(1).isdigit() or int(key.group(1)) not in names:
            continue
        for type_id, record in _mapping(entry, dogma_file).items():
            listed = record.get("dogmaAttributes") if isinstance(record, dict) else None
            universe.add_wormhole(type_id, names.pop(type_id), dogma_attributes(listed))
    for type_id, name in names.items():
        universe.add_wormhole(type_id, name, {})
    if progress is not None:
        progress(DOGMA_FILE, -1)


def _entries(lines: Iterable[tuple[int, str]]) -> Iterator[str]:
    """The text of each top-level entry of a block-style YAML document. An entry starts at a
    line that begins at column 0 (a key, or `- ` in a sequence); a `- ` line at column 0 that
    follows a mapping key is that key's list (PyYAML writes lists unindented)."""
    entry: list[str] = []
    in_mapping = False
    for _, line in lines:
        if line.startswith(("#", "---", "...")):
            continue  # comments and document markers at the root belong to no entry
        starts_item = line.startswith("- ") or line.rstrip("\r\n") == "-"
        starts_key = not starts_item and line[:1] not in ("", " ", "\t", "\n", "\r")
        if starts_key or (starts_item and not in_mapping):
            if entry:
                yield "".join(entry)
            entry = []
            in_mapping = starts_key
        entry.append(line)
    if entry:
        yield "".join(entry)


def _load_whole(archive: Archive, name: str) -> dict[Any, Any]:
    return _mapping("".join(line for _, line in archive.lines(name)), name)


def _load_keys(archive: Archive, name: str, keys: Iterable[str]) -> dict[str, Any]:
    """Only the given top-level keys of a mapping: a system's planets and moons are skipped."""
    record: dict[str, Any] = {}
    for entry in _entries(archive.lines(name)):
        key = _ROOT_KEY.match(entry)
        if key is not None and key.group(1) in keys:
            record.update(_mapping(entry, name))
    return record


def _mapping(text: str, name: str) -> dict[Any, Any]:
    parsed = _parse(text, name)
    if not isinstance(parsed, dict):
        raise SdeError(f"{name} holds {text[:60]!r}, not a YAML mapping: the export is damaged")
    return parsed


def _parse(text: str, name: str) -> Any:
    try:
        return yaml.load(text, Loader=LOADER)  # a safe loader: no arbitrary objects
    except yaml.YAMLError as error:
        raise SdeError(f"{name} is not valid YAML ({error}): the export is damaged") from None


def _int(record: dict[str, Any], key: str, name: str) -> int:
    value = record.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SdeError(f"{name} has no integer {key!r} (got {value!r})")
    return value


def _optional_int(record: dict[str, Any], key: str, name: str) -> int | None:
    return _int(record, key, name) if record.get(key) is not None else None

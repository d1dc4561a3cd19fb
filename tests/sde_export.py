"""A small static data export in CCP's formats, for tests: the current JSON Lines layout
(`records`, `write_zip`, `write_folder`) and the previous YAML `sde.zip` layout
(`legacy_files`, `write_legacy_zip`, `write_legacy_folder`), holding the same universe.

The universe: k-space Jita (0.9) gates to Perimeter (1.0) and Aunia (0.3, lowsec); Perimeter
to Niarja (0.5); Niarja and Aunia to Tama (0.3). Wormhole space: J100001 (class 2 from its
region), J123456 (its own class 4, a Wolf-Rayet Star), J200000 (class 5 from its
constellation, a Pulsar). Ships: a Rifter (frigate) and a Capsule (not published).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import yaml

JITA, PERIMETER, NIARJA, AUNIA, TAMA = 30000001, 30000002, 30000003, 30000005, 30000006
J100001, J123456, J200000 = 31000001, 31000002, 31000003
GATES = [(JITA, PERIMETER), (JITA, AUNIA), (PERIMETER, NIARJA), (NIARJA, TAMA), (AUNIA, TAMA)]
BUILD = 3484357

# id, name, own wormhole class
REGIONS = [(10000002, "The Forge", None), (11000001, "A-R00001", 2)]
# id, name, region, own wormhole class
CONSTELLATIONS = [
    (20000020, "Kimotoro", 10000002, None),
    (21000001, "A-C00001", 11000001, None),
    (21000002, "A-C00002", 11000001, 5),
]
# id, name, security, constellation, region, own wormhole class
SYSTEMS = [
    (JITA, "Jita", 0.9459, 20000020, 10000002, None),
    (PERIMETER, "Perimeter", 0.9500, 20000020, 10000002, None),
    (NIARJA, "Niarja", 0.5, 20000020, 10000002, None),
    (AUNIA, "Aunia", 0.31, 20000020, 10000002, None),
    (TAMA, "Tama", 0.28, 20000020, 10000002, None),
    (J100001, "J100001", -1.0, 21000001, 11000001, None),
    (J123456, "J123456", -1.0, 21000001, 11000001, 4),
    (J200000, "J200000", -0.99, 21000002, 11000001, None),
]
# type id, name, group, dogma {attribute: value}
TYPES = [
    (30583, "Wormhole B274", 988, {1381: 7, 1382: 1440, 1383: 2e9, 1384: 0, 1385: 3e8}),
    (34439, "Wormhole K162", 988, {1382: 960}),
    (587, "Rifter", 25, {4: 1067000.0}),
]
WORMHOLE_WITHOUT_DOGMA = (30584, "Wormhole Q003", 988)
# type id, name, group, published: types without dogma
PLAIN_TYPES = [
    (670, "Capsule", 29, False),
    (30577, "Pulsar", 995, True),
    (30669, "Wolf-Rayet Star", 995, True),
    (34, "Tritanium", 18, True),
]
MASSES = {587: 1067000.0, 670: 32000.0, 34: 1.0}
# group id, name, category
GROUPS = [(25, "Frigate", 6), (29, "Capsule", 6), (18, "Mineral", 4), (988, "Wormhole", 2)]
SECONDARY_SUNS = {J123456: 30669, J200000: 30577}  # system: the sun's type


def _gate_ids() -> list[tuple[int, int, int, int]]:
    """(gate, its system, the other gate, the other system) for both sides of each pair."""
    gates = []
    for number, (a, b) in enumerate(GATES):
        gate_a, gate_b = 50000000 + 2 * number, 50000001 + 2 * number
        gates += [(gate_a, a, gate_b, b), (gate_b, b, gate_a, a)]
    return gates


def _localized(text: str) -> dict[str, str]:
    return {"de": text, "en": text, "zh": text}


def _type_fields(key: int) -> dict[str, Any]:
    published = next((p for k, _, _, p in PLAIN_TYPES if k == key), True)
    return {"published": published, **({"mass": MASSES[key]} if key in MASSES else {})}


def records() -> dict[str, list[dict[str, Any]]]:
    """The current export's files as lists of records, shaped as CCP's build 3484357."""

    def wormhole_class(value: int | None) -> dict[str, int]:
        return {"wormholeClassID": value} if value is not None else {}

    return {
        "_sde.jsonl": [{"_key": "sde", "buildNumber": BUILD, "releaseDate": "2026-08-28T11:07Z"}],
        "mapRegions.jsonl": [
            {"_key": key, "name": _localized(name), "constellationIDs": [], **wormhole_class(cls)}
            for key, name, cls in REGIONS
        ],
        "mapConstellations.jsonl": [
            {"_key": key, "name": _localized(name), "regionID": region, **wormhole_class(cls)}
            for key, name, region, cls in CONSTELLATIONS
        ],
        "mapSolarSystems.jsonl": [
            {
                "_key": key,
                "constellationID": constellation,
                "name": _localized(name),
                "position": {"x": 1.0, "y": 2.0, "z": 3.0},
                "regionID": region,
                "securityStatus": security,
                "stargateIDs": [gate for gate, system, _, _ in _gate_ids() if system == key],
                **wormhole_class(cls),
            }
            for key, name, security, constellation, region, cls in SYSTEMS
        ],
        "mapStargates.jsonl": [
            {
                "_key": gate,
                "destination": {"solarSystemID": other_system, "stargateID": other_gate},
                "position": {"x": 0.0, "y": 0.0, "z": 0.0},
                "solarSystemID": system,
                "typeID": 16,
            }
            for gate, system, other_gate, other_system in _gate_ids()
        ],
        "types.jsonl": [
            {"_key": key, "groupID": group, "name": _localized(name), **_type_fields(key)}
            for key, name, group, *_ in [*TYPES, (*WORMHOLE_WITHOUT_DOGMA, {}), *PLAIN_TYPES]
        ],
        "groups.jsonl": [
            {"_key": key, "anchorable": False, "categoryID": category, "name": _localized(name)}
            for key, name, category in GROUPS
        ],
        "mapSecondarySuns.jsonl": [
            {
                "_key": 40485634 + number,
                "effectBeaconTypeID": 30844,
                "position": {"x": 1.0, "y": 2.0, "z": 3.0},
                "solarSystemID": system,
                "typeID": sun,
            }
            for number, (system, sun) in enumerate(SECONDARY_SUNS.items())
        ],
        "typeDogma.jsonl": [
            {
                "_key": key,
                "dogmaAttributes": [
                    {"attributeID": attribute, "value": float(value)}
                    for attribute, value in values.items()
                ],
                "dogmaEffects": [],
            }
            for key, _, _, values in TYPES
        ],
    }


def _jsonl(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def write_zip(path: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in files.items():
            archive.writestr(name, _jsonl(rows))
    return path


def write_folder(path: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (path / name).write_text(_jsonl(rows), encoding="utf-8")
    return path


def legacy_files(generation: str = "2025") -> dict[str, str]:
    """The same universe as the YAML `sde.zip`: `2023` as built before June 2024 (all under
    `sde/`, `*.staticdata`, `typeIDs.yaml`), `2025` as the last builds (no `sde/` folder,
    `universe/` at the top, `*.yaml`, `types.yaml`)."""
    old = generation == "2023"
    top, suffix = ("sde/", ".staticdata") if old else ("", ".yaml")
    universe = f"{top}fsd/universe/" if old else "universe/"
    box = {"center": [1.0, 2.0, 3.0], "max": [2.0, 3.0, 4.0], "min": [0.0, 1.0, 2.0]}
    files: dict[str, Any] = {}
    region_folder: dict[int, str] = {}
    for key, name, cls in REGIONS:
        space = "eve" if key < 11000000 else "wormhole"
        region_folder[key] = f"{universe}{space}/{name.replace(' ', '')}"
        files[f"{region_folder[key]}/region{suffix}"] = {
            **box,
            "descriptionID": 1,
            "nameID": 2,
            "nebula": 11,
            "regionID": key,
            **({"wormholeClassID": cls} if cls is not None else {}),
        }
    constellation_folder: dict[int, str] = {}
    for key, name, region, cls in CONSTELLATIONS:
        constellation_folder[key] = f"{region_folder[region]}/{name}"
        files[f"{constellation_folder[key]}/constellation{suffix}"] = {
            **box,
            "constellationID": key,
            "nameID": 3,
            "radius": 1e17,
            **({"wormholeClassID": cls} if cls is not None else {}),
        }
    for key, name, security, constellation, _, cls in SYSTEMS:
        planet = 40000000 + key % 1000 * 10
        files[f"{constellation_folder[constellation]}/{name}/solarsystem{suffix}"] = {
            **box,
            "border": False,
            # A top-level list: PyYAML writes it unindented, at column 0.
            "disallowedAnchorCategories": [29],
            "luminosity": 0.5,
            "planets": {
                planet: {
                    "celestialIndex": 1,
                    "moons": {planet + 1: {"position": [1.0, 2.0, 3.0], "typeID": 14}},
                    "position": [1.0, 2.0, 3.0],
                    "typeID": 11,
                }
            },
            "radius": 1e13,
            "security": security,
            "securityClass": "B",
            "solarSystemID": key,
            "solarSystemNameID": 4,
            "star": {"id": planet - 1, "radius": 1e8, "typeID": 3802},
            "stargates": {
                gate: {"destination": other_gate, "position": [1.0, 2.0, 3.0], "typeID": 16}
                for gate, system, other_gate, _ in _gate_ids()
                if system == key
            },
            "sunTypeID": 3802,
            **({"wormholeClassID": cls} if cls is not None else {}),
            **(
                {
                    "secondarySun": {
                        "effectBeaconTypeID": 30844,
                        "itemID": planet + 5,
                        "position": [1.0, 2.0, 3.0],
                        "typeID": SECONDARY_SUNS[key],
                    }
                }
                if key in SECONDARY_SUNS
                else {}
            ),
        }
    files[f"{top}bsd/invNames.yaml"] = [
        {"itemID": 0, "itemName": "(none)"},
        *({"itemID": key, "itemName": name} for key, name, *_ in [*REGIONS, *CONSTELLATIONS]),
        *({"itemID": key, "itemName": name} for key, name, *_ in SYSTEMS),
        {"itemID": 40001011, "itemName": "Jita I"},
    ]
    files[f"{top}fsd/{'typeIDs' if old else 'types'}.yaml"] = {
        key: {"groupID": group, "name": _localized(name), "volume": 0.0, **_type_fields(key)}
        for key, name, group, *_ in [*TYPES, (*WORMHOLE_WITHOUT_DOGMA, {}), *PLAIN_TYPES]
    }
    files[f"{top}fsd/{'groupIDs' if old else 'groups'}.yaml"] = {
        key: {"anchorable": False, "categoryID": category, "name": _localized(name)}
        for key, name, category in GROUPS
    }
    files[f"{top}fsd/typeDogma.yaml"] = {
        key: {
            "dogmaAttributes": [
                {"attributeID": attribute, "value": float(value)}
                for attribute, value in values.items()
            ],
            "dogmaEffects": [{"effectID": 10, "isDefault": False}],
        }
        for key, _, _, values in TYPES
    }
    return {name: yaml.safe_dump(content, allow_unicode=True) for name, content in files.items()}


def write_legacy_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def write_legacy_folder(path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text, encoding="utf-8")
    return path

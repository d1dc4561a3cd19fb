"""A small static data export in CCP's JSONL format (and in the previous layout), for tests.

The universe: k-space Jita (0.9) gates to Perimeter (1.0) and Aunia (0.3, lowsec); Perimeter
to Niarja (0.5); Niarja and Aunia to Tama (0.3). Wormhole space: J100001 (class 2 from its
region), J123456 (its own class 4), J200000 (class 5 from its constellation).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

JITA, PERIMETER, NIARJA, AUNIA, TAMA = 30000001, 30000002, 30000003, 30000005, 30000006
J100001, J123456, J200000 = 31000001, 31000002, 31000003
GATES = [(JITA, PERIMETER), (JITA, AUNIA), (PERIMETER, NIARJA), (NIARJA, TAMA), (AUNIA, TAMA)]

REGIONS = [(10000002, "The Forge", None), (11000001, "A-R00001", 2)]
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
    (J200000, "J200000", -1.0, 21000002, 11000001, None),
]
# type id, name, group, dogma {attribute: value}
TYPES = [
    (30583, "Wormhole B274", 988, {1381: 7, 1382: 1440, 1383: 2e9, 1384: 0, 1385: 3e8}),
    (34439, "Wormhole K162", 988, {1382: 960}),
    (587, "Rifter", 25, {4: 1.0}),
]


def _name(text: str, previous: bool, field: str) -> dict[str, Any]:
    return {field: text} if previous else {"name": {"en": text, "de": text}}


def records(previous: bool = False) -> dict[str, list[dict[str, Any]]]:
    """The export's files as lists of records, in the current or the previous layout."""
    key = (
        (lambda field, value: {field: value})
        if previous
        else (lambda field, value: {"_key": value})
    )
    regions = [
        {
            **key("regionID", rid),
            **_name(name, previous, "regionName"),
            **({"wormholeClassID": cls} if cls else {}),
        }
        for rid, name, cls in REGIONS
    ]
    constellations = [
        {
            **key("constellationID", cid),
            **_name(name, previous, "constellationName"),
            "regionID": region,
            **({"wormholeClassID": cls} if cls else {}),
        }
        for cid, name, region, cls in CONSTELLATIONS
    ]
    systems = [
        {
            **key("solarSystemID", sid),
            **_name(name, previous, "solarSystemName"),
            "securityStatus": security,
            "constellationID": constellation,
            "regionID": region,
            **({"wormholeClassID": cls} if cls else {}),
        }
        for sid, name, security, constellation, region, cls in SYSTEMS
    ]
    stargates = []
    for number, (a, b) in enumerate(GATES):
        for source, target, gate in ((a, b, 50000000 + 2 * number), (b, a, 50000001 + 2 * number)):
            other = gate + 1 if gate % 2 == 0 else gate - 1
            stargates.append(
                {
                    **key("stargateID", gate),
                    "solarSystemID": source,
                    "destination": {"solarSystemID": target, "stargateID": other},
                }
            )
    types = [
        {
            **key("typeID", tid),
            **_name(name, previous, "typeName"),
            "groupID": group,
            "published": True,
        }
        for tid, name, group, _ in TYPES
    ]
    dogma = [
        {
            **key("typeID", tid),
            "dogmaAttributes": [
                {"attributeID": attribute, "value": value} for attribute, value in values.items()
            ],
        }
        for tid, _, _, values in TYPES
    ]
    return {
        "mapRegions.jsonl": regions,
        "mapConstellations.jsonl": constellations,
        "mapSolarSystems.jsonl": systems,
        "mapStargates.jsonl": stargates,
        "types.jsonl": types,
        "typeDogma.jsonl": dogma,
        "_sde.jsonl": [{"_key": "sde", "buildNumber": 1}],
    }


def write_zip(path: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in files.items():
            archive.writestr(name, "".join(json.dumps(row) + "\n" for row in rows))
    return path


def write_folder(path: Path, files: dict[str, list[dict[str, Any]]]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        (path / name).write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path

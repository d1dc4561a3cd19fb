"""Static data (contract section 8): importing CCP's export, in both layouts, and statics."""

from __future__ import annotations

import dataclasses
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.persistence.models import UniverseGate, UniverseImport
from mapper.universe.importer import import_sde, import_statics, parse_statics
from mapper.universe.index import load_index
from mapper.universe.sde import SdeError, read_universe
from tests import sde_export
from tests.sde_export import AUNIA, J100001, J123456, J200000, JITA, NIARJA, PERIMETER, TAMA


async def test_import_reads_every_field(engine: AsyncEngine, tmp_path: Path) -> None:
    export = sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())
    imported = await import_sde(engine, export, source="test")
    assert imported.build == sde_export.BUILD
    assert imported.rows == {
        "universe_regions": 2,
        "universe_constellations": 3,
        "universe_systems": 8,
        "universe_gates": 5,
        "universe_wormholes": 3,
        "universe_ships": 2,
    }
    index = await load_index(engine, 1)
    assert index.systems[JITA] == {
        "id": JITA,
        "name": "Jita",
        "security": 0.9459,
        "securityDisplay": 0.9,
        "regionId": 10000002,
        "region": "The Forge",
        "constellationId": 20000020,
        "constellation": "Kimotoro",
        "wormholeClass": None,
        "effect": None,
        "statics": [],
    }
    assert index.build == f"imported: test (build {sde_export.BUILD})"
    assert index.systems[J200000]["effect"] == "Pulsar"
    assert index.systems[J123456]["effect"] == "Wolf-Rayet Star"
    assert index.ships == {
        587: {
            "typeId": 587,
            "name": "Rifter",
            "mass": 1067000.0,
            "groupId": 25,
            "group": "Frigate",
        },
        670: {"typeId": 670, "name": "Capsule", "mass": 32000.0, "groupId": 29, "group": "Capsule"},
    }
    assert index.systems[J200000]["security"] == -0.99
    assert index.systems[J100001]["region"] == "A-R00001"
    # The class: the system's own, else its constellation's, else its region's.
    classes = {key: index.systems[key]["wormholeClass"] for key in (J100001, J123456, J200000)}
    assert classes == {J100001: 2, J123456: 4, J200000: 5}
    assert index.neighbours[JITA] == [PERIMETER, AUNIA]
    assert index.neighbours[TAMA] == [NIARJA, AUNIA]
    assert index.wormholes == [
        {
            "typeId": 30583,
            "code": "B274",
            "targetClass": 7,
            "lifetimeMinutes": 1440.0,
            "maxMass": 2e9,
            "massRegeneration": 0.0,
            "maxJumpMass": 3e8,
            "size": "large",
        },
        {
            "typeId": 34439,
            "code": "K162",
            "targetClass": None,
            "lifetimeMinutes": 960.0,
            "maxMass": None,
            "massRegeneration": None,
            "maxJumpMass": None,
            "size": None,
        },
        {
            "typeId": 30584,
            "code": "Q003",
            "targetClass": None,
            "lifetimeMinutes": None,
            "maxMass": None,
            "massRegeneration": None,
            "maxJumpMass": None,
            "size": None,
        },
    ]
    async with engine.connect() as conn:
        sources = (await conn.execute(select(UniverseImport.source))).scalars().all()
    assert sources == [f"test (build {sde_export.BUILD})"]


@pytest.mark.parametrize("generation", ["2023", "2025"])
def test_the_previous_yaml_layout_reads_as_the_current_one(tmp_path: Path, generation: str) -> None:
    current = read_universe(sde_export.write_zip(tmp_path / "current.zip", sde_export.records()))
    files = sde_export.legacy_files(generation)
    for previous in (
        sde_export.write_legacy_zip(tmp_path / "sde.zip", files),
        sde_export.write_legacy_folder(tmp_path / "sde", files),
    ):
        # The YAML export carries no build number; everything else is the same.
        assert read_universe(previous) == dataclasses.replace(current, build=None)


async def test_an_unpacked_folder_and_the_previous_layout_import(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    folder = sde_export.write_folder(tmp_path / "jsonl", sde_export.records())
    assert (await import_sde(engine, folder, source="folder")).build == sde_export.BUILD
    legacy = sde_export.write_legacy_zip(tmp_path / "sde.zip", sde_export.legacy_files())
    imported = await import_sde(engine, legacy, source="legacy")
    assert imported.build is None
    assert imported.rows["universe_systems"] == 8
    index = await load_index(engine, 2)
    assert index.systems[J200000]["wormholeClass"] == 5
    assert index.systems[AUNIA]["constellation"] == "Kimotoro"
    assert [w["code"] for w in index.wormholes] == ["B274", "K162", "Q003"]


async def test_reimport_updates_in_place_and_a_bad_export_changes_nothing(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    await import_sde(
        engine, sde_export.write_zip(tmp_path / "old.zip", sde_export.records()), source="old"
    )
    newer = sde_export.records()
    newer["mapSolarSystems.jsonl"][0]["name"]["en"] = "Jita IV"
    newer["mapStargates.jsonl"] = newer["mapStargates.jsonl"][2:]  # Jita-Perimeter is gone
    await import_sde(engine, sde_export.write_zip(tmp_path / "new.zip", newer), source="new")
    index = await load_index(engine, 2)
    assert index.systems[JITA]["name"] == "Jita IV"
    assert PERIMETER not in index.neighbours[JITA]

    for broken, message in _broken_exports(tmp_path):
        with pytest.raises(SdeError, match=message):
            await import_sde(engine, broken, source="broken")
    async with engine.connect() as conn:
        gates = (await conn.execute(select(UniverseGate.from_system, UniverseGate.to_system))).all()
    assert len(gates) == 4
    assert (await load_index(engine, 3)).systems[JITA]["name"] == "Jita IV"


def _broken_exports(tmp_path: Path) -> list[tuple[Path, str]]:
    good = (tmp_path / "new.zip").read_bytes()
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good[: len(good) // 2])
    corrupt = tmp_path / "corrupt.zip"  # the central directory is whole, a member is not
    corrupt.write_bytes(good[:200] + b"\x00" * 300 + good[500:])
    legacy = sde_export.write_legacy_zip(tmp_path / "sde.zip", sde_export.legacy_files())
    legacy_truncated = tmp_path / "sde-truncated.zip"
    legacy_truncated.write_bytes(legacy.read_bytes()[:-100])
    not_sde = sde_export.write_zip(tmp_path / "other.zip", {"readme.jsonl": [{"a": 1}]})
    bad_line = sde_export.write_folder(tmp_path / "bad", sde_export.records())
    with (bad_line / "mapStargates.jsonl").open("a") as file:
        file.write('{"_key": 1, "solarSys\n')
    no_security = sde_export.records()
    del no_security["mapSolarSystems.jsonl"][3]["securityStatus"]
    yaml_variant = tmp_path / "yaml.zip"
    with zipfile.ZipFile(yaml_variant, "w") as archive:
        for name in sde_export.records():
            archive.writestr(name.replace(".jsonl", ".yaml"), "1: {}\n")
    not_utf8 = tmp_path / "latin1.zip"
    with zipfile.ZipFile(not_utf8, "w") as archive:
        for name, rows in sde_export.records().items():
            text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
            archive.writestr(name, text.replace("Jita", "Jítá").encode("latin-1"))
    return [
        (truncated, "not a readable zip|truncated or damaged"),
        (corrupt, "truncated or damaged"),
        (legacy_truncated, "not a readable zip"),
        (not_sde, "lacks mapRegions.jsonl.*neither CCP's JSON Lines"),
        (bad_line, "mapStargates.jsonl line 11 is not JSON"),
        (
            sde_export.write_zip(tmp_path / "no-security.zip", no_security),
            "mapSolarSystems.jsonl line 4 has no number 'securityStatus'",
        ),
        (yaml_variant, "the YAML variant of CCP's export; give the JSON Lines one"),
        (not_utf8, "cannot be read.*truncated or damaged"),
        (tmp_path / "missing.zip", "not a readable zip"),
    ]


async def test_statics_csv(engine: AsyncEngine) -> None:
    assert parse_statics(
        "system_id,static_codes\n"
        "31000001,B274 c247\n"
        "\n"
        "# a comment\n"
        "31000002,K162;D382\n"
        "31000003,E545,N062\n"
        '31000001,"C247|Z142"\n'
    ) == {
        31000001: ["B274", "C247", "Z142"],
        31000002: ["K162", "D382"],
        31000003: ["E545", "N062"],
    }
    for bad, message in [
        ("31000001\n", "line 1"),
        ("x,y\nabc,B274\n", "line 2"),
        ("x,y\n²,B274\n", "line 2"),
        ("31000001,hello\n", "not wormhole codes"),
    ]:
        with pytest.raises(SdeError, match=message):
            parse_statics(bad)
    assert await import_statics(engine, "31000001,C247 B274\n", source="test") == 1
    assert (await load_index(engine, 1)).statics == {
        31000001: [{"code": "B274", "targetClass": None}, {"code": "C247", "targetClass": None}]
    }
    # A new file replaces the statics; systems are kept.
    assert await import_statics(engine, "31000002,D382\n", source="test") == 1
    assert (await load_index(engine, 2)).statics == {
        31000002: [{"code": "D382", "targetClass": None}]
    }

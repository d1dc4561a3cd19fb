"""`python -m mapper.universe.build`: the universe file made from a small export, field by
field, and the same answers from it as from an import of that export."""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from mapper.core.clock import ManualClock
from mapper.universe import build
from mapper.universe.importer import import_sde, import_statics
from mapper.universe.index import RECHECK_S, Universe, load_index, make_index
from mapper.universe.packed import Packed, PackedError, load
from mapper.universe.sde import Constellation, Region, Ship, System, Wormhole, read_universe
from tests import sde_export
from tests.sde_export import J100001, J123456, J200000

# Pathfinder's layout: type ids, resolved through the export (30583 is B274, 30584 Q003).
PATHFINDER_CSV = "id;systemId;typeId\n1;31000001;30583\n2;31000003;30584\n3;31000003;30583\n"
STATICS = {J100001: ["B274"], J200000: ["B274", "Q003"]}


def _build(tmp_path: Path, *extra: str) -> Path:
    tmp_path.mkdir(exist_ok=True)
    export = sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())
    statics = tmp_path / "system_static.csv"
    statics.write_text(PATHFINDER_CSV)
    out = tmp_path / "universe.json.gz"
    build.main([str(export), "--statics", str(statics), "--out", str(out), *extra])
    return out


def test_the_file_holds_every_field(tmp_path: Path) -> None:
    out = _build(tmp_path, "--sde-source", "fixture", "--statics-source", "pathfinder")
    packed = load(out.read_bytes())
    assert packed.sources == {"sde": f"fixture (build {sde_export.BUILD})", "statics": "pathfinder"}
    assert packed.statics == STATICS
    universe = packed.universe
    assert universe.build == sde_export.BUILD
    assert universe.regions == {
        10000002: Region("The Forge", None),
        11000001: Region("A-R00001", 2),
    }
    assert universe.constellations == {
        20000020: Constellation("Kimotoro", 10000002, None),
        21000001: Constellation("A-C00001", 11000001, None),
        21000002: Constellation("A-C00002", 11000001, 5),
    }
    inherited = {J100001: 2, J123456: 4, J200000: 5}  # the class each has in game
    assert universe.systems == {
        key: System(name, security, constellation, region, inherited.get(key, cls))
        for key, name, security, constellation, region, cls in sde_export.SYSTEMS
    }
    assert universe.gates == {(min(a, b), max(a, b)) for a, b in sde_export.GATES}
    assert universe.wormholes == {
        30583: Wormhole("B274", 7, 1440.0, 2e9, 0.0, 3e8),
        34439: Wormhole("K162", None, 960.0, None, None, None),
        30584: Wormhole("Q003", None, None, None, None, None),
    }
    assert universe.effects == {J123456: "Wolf-Rayet Star", J200000: "Pulsar"}
    assert universe.ship_groups == {25: "Frigate", 29: "Capsule"}
    assert universe.ships == {
        587: Ship("Rifter", 1067000.0, 25),
        670: Ship("Capsule", 32000.0, 29),
    }
    # Nothing read from the export is lost on the way.
    assert universe == read_universe(tmp_path / "sde.zip")
    # The same input gives the same bytes.
    again = _build(tmp_path / "again", "--sde-source", "fixture", "--statics-source", "pathfinder")
    assert again.read_bytes() == out.read_bytes()


async def test_it_answers_as_an_import_of_the_same_export(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    packed = load(_build(tmp_path, "--sde-source", "fixture").read_bytes())
    await import_sde(engine, tmp_path / "sde.zip", source="fixture")
    await import_statics(engine, "31000001,B274\n31000003,B274 Q003\n", source="statics")
    imported = await load_index(engine, 2)
    built_in = make_index(packed.universe, packed.statics, version=2, build=imported.build)
    assert dataclasses.asdict(built_in) == dataclasses.asdict(imported)
    assert built_in.systems[J200000]["statics"] == [
        {"code": "B274", "targetClass": 7},
        {"code": "Q003", "targetClass": None},
    ]


async def test_the_database_wins_part_by_part(engine: AsyncEngine, tmp_path: Path) -> None:
    packed = load(_build(tmp_path, "--sde-source", "fixture").read_bytes())
    alone = await load_index(engine, 0, packed)
    assert alone.build == f"built in: fixture (build {sde_export.BUILD})"
    assert alone.systems[J100001]["statics"] == [{"code": "B274", "targetClass": 7}]
    # Statics loaded into the database replace the file's; its systems stay.
    await import_statics(engine, "31000002,B274\n", source="statics")
    statics_only = await load_index(engine, 1, packed)
    assert statics_only.systems[J100001]["statics"] == []
    assert statics_only.systems[J123456]["statics"] == [{"code": "B274", "targetClass": 7}]
    assert statics_only.build == alone.build
    # An imported export replaces the systems.
    newer = sde_export.records()
    newer["mapSolarSystems.jsonl"][0]["name"]["en"] = "Jita IV"
    await import_sde(engine, sde_export.write_zip(tmp_path / "new.zip", newer), source="new")
    both = await load_index(engine, 2, packed)
    assert both.systems[sde_export.JITA]["name"] == "Jita IV"
    assert both.build == f"imported: new (build {sde_export.BUILD})"


def test_statics_are_checked_against_a_second_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    wanderer = tmp_path / "wormholeSystems.json"
    wanderer.write_text(
        json.dumps(
            [
                {"solarSystemID": J100001, "statics": ["B274"], "effectName": None},
                {"solarSystemID": J200000, "statics": ["Q003"], "effectName": "Pulsar"},
                {"solarSystemID": J123456, "statics": ["K162"], "effectName": "Magnetar"},
            ]
        )
    )
    _build(tmp_path, "--check", str(wanderer))
    err = capsys.readouterr().err
    assert "2 systems in both, 1 agree, 1 differ; 0 only here, 1 only there" in err
    assert "31000003 J200000: ['B274', 'Q003'] vs ['Q003']" in err
    assert "effects against wormholeSystems.json: 2 of 3 systems agree" in err


def test_bad_inputs(tmp_path: Path) -> None:
    export = sde_export.write_zip(tmp_path / "sde.zip", sde_export.records())
    statics = tmp_path / "statics.csv"
    statics.write_text("id;systemId;typeId\n1;31000001;587\n")  # a Rifter, no wormhole
    with pytest.raises(SystemExit, match="type 587 is no wormhole"):
        build.main([str(export), "--statics", str(statics), "--out", str(tmp_path / "u.gz")])
    for raw in (b"", b"not gzip", gzip.compress(b'{"format": 99}'), gzip.compress(b"[1]")):
        with pytest.raises(PackedError):
            load(raw)


async def test_the_service_loads_once_and_callers_wait_for_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    packed = load(_build(tmp_path).read_bytes())
    loads = []

    def builtin() -> Packed:
        loads.append(1)
        return packed

    clock = ManualClock()
    universe = Universe(engine, clock, builtin)
    first, second = await asyncio.gather(universe.index(), universe.index())
    assert first is second and first.systems[J100001]["name"] == "J100001"
    assert loads == [1]
    # An import is seen at the next check, a few seconds on; the file is not read again.
    await import_statics(engine, "31000002,B274\n", source="statics")
    assert (await universe.index()) is first
    await clock.advance(RECHECK_S)
    assert (await universe.index()).systems[J123456]["statics"] != []
    assert loads == [1]

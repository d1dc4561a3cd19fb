"""Make the universe file the package carries (`universe/data/universe.json.gz`):

    python -m mapper.universe.build EXPORT --statics FILE [--check FILE] [--out PATH]
        [--sde-source TEXT] [--statics-source TEXT]

EXPORT is CCP's static data export in either layout `mapper sde import` reads (a zip or the
folder it unpacks to). FILE holds the statics: Pathfinder's `export/csv/system_static.csv`
(`id;systemId;typeId`, type ids resolved through the export's wormhole types) or the
`system_id,static_codes` CSV of `mapper sde statics`. `--check` compares them with a second
source (the same formats, or a JSON list of `{solarSystemID, statics, effectName}` as
Wanderer's `wormholeSystems.json`) and prints how well they agree; the file is written either
way. The sources named go into the file and show in `/readyz` (mapper/docs/static-data.md).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from mapper.universe.importer import parse_statics
from mapper.universe.packed import BUILTIN, Packed, dump
from mapper.universe.sde import SdeError, UniverseData, read_universe

PATHFINDER_HEADER = "id;systemId;typeId"


def read_statics(text: str, universe: UniverseData) -> dict[int, list[str]]:
    """Statics from either CSV layout, as sorted codes per system."""
    if not text.lstrip().startswith(PATHFINDER_HEADER):
        return {system: sorted(codes) for system, codes in parse_statics(text).items()}
    statics: dict[int, set[str]] = {}
    for number, row in enumerate(csv.DictReader(io.StringIO(text), delimiter=";"), 2):
        system, type_id = row.get("systemId") or "", row.get("typeId") or ""
        if not (system.isdecimal() and type_id.isdecimal()):
            raise SdeError(f"statics line {number}: write id;systemId;typeId (got {row!r})")
        wormhole = universe.wormholes.get(int(type_id))
        if wormhole is None:
            raise SdeError(f"statics line {number}: type {type_id} is no wormhole of the export")
        statics.setdefault(int(system), set()).add(wormhole.code)
    return {system: sorted(codes) for system, codes in statics.items()}


def read_check(path: Path, universe: UniverseData) -> tuple[dict[int, list[str]], dict[int, str]]:
    """The second source's statics, and its effects when it has them."""
    text = path.read_text(encoding="utf-8")
    if not text.lstrip().startswith("["):
        return read_statics(text, universe), {}
    statics: dict[int, list[str]] = {}
    effects: dict[int, str] = {}
    for entry in json.loads(text):
        system = entry["solarSystemID"]
        statics[system] = sorted(entry.get("statics") or [])
        if entry.get("effectName"):
            effects[system] = entry["effectName"]
    return statics, effects


def agreement(ours: dict[int, Any], theirs: dict[int, Any]) -> dict[str, Any]:
    both = ours.keys() & theirs.keys()
    differing = sorted(system for system in both if ours[system] != theirs[system])
    return {
        "both": len(both),
        "agree": len(both) - len(differing),
        "differ": differing,
        "onlyOurs": len(ours.keys() - theirs.keys()),
        "onlyTheirs": len(theirs.keys() - ours.keys()),
    }


def check(packed: Packed, path: Path) -> None:
    universe = packed.universe
    statics, effects = read_check(path, universe)
    ours = {system: codes for system, codes in packed.statics.items() if codes}
    theirs = {system: codes for system, codes in statics.items() if codes}
    found = agreement(ours, theirs)
    print(
        f"statics against {path.name}: {found['both']} systems in both, {found['agree']} agree, "
        f"{len(found['differ'])} differ; {found['onlyOurs']} only here, "
        f"{found['onlyTheirs']} only there",
        file=sys.stderr,
    )
    for system in found["differ"]:
        name = universe.systems[system].name if system in universe.systems else "?"
        print(f"  {system} {name}: {ours[system]} vs {theirs[system]}", file=sys.stderr)
    if effects:
        wormhole_space = {system for system in theirs if system in universe.systems}
        mine = {system: universe.effects.get(system) for system in wormhole_space}
        found = agreement(mine, {system: effects.get(system) for system in wormhole_space})
        print(
            f"effects against {path.name}: {found['agree']} of {found['both']} systems agree",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mapper.universe.build", description=__doc__.splitlines()[0]
    )
    parser.add_argument("export", type=Path, help="CCP's export: a zip or a folder")
    parser.add_argument("--statics", type=Path, required=True, help="the statics CSV")
    parser.add_argument("--check", type=Path, help="a second statics source to compare with")
    parser.add_argument("--out", type=Path, default=BUILTIN, help=f"default {BUILTIN}")
    parser.add_argument("--sde-source", help="what the export is (default: its path)")
    parser.add_argument("--statics-source", help="where the statics are from (default: path)")
    args = parser.parse_args(argv)
    try:
        universe = read_universe(args.export)
        statics = read_statics(args.statics.read_text(encoding="utf-8"), universe)
    except (SdeError, OSError) as error:
        sys.exit(f"mapper: {error}")
    sde_source = args.sde_source or args.export.name
    if universe.build is not None:
        sde_source += f" (build {universe.build})"
    sources = {"sde": sde_source, "statics": args.statics_source or args.statics.name}
    packed = Packed(universe, statics, sources)
    if args.check:
        check(packed, args.check)
    raw = dump(packed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(raw)
    print(
        f"wrote {args.out}: {len(raw) / 1024:.0f} KiB, {len(universe.systems)} systems, "
        f"{len(universe.gates)} stargate links, {len(universe.wormholes)} wormhole types, "
        f"{len(universe.effects)} effects, {len(statics)} systems with statics, "
        f"{len(universe.ships)} ship types",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

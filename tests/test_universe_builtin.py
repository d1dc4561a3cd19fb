"""The universe the package carries (universe/data/universe.json.gz): what it holds, checked
against facts of the game, and a fresh service that answers from it."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from mapper.universe.index import UniverseIndex, make_index
from mapper.universe.packed import BUILTIN, Packed, load_builtin
from tests.chains import auth
from tests.server import MapperServer

JITA, THERA, J152820 = 30000142, 31000005, 31001880
EFFECTS = {"Black Hole", "Cataclysmic Variable", "Magnetar", "Pulsar", "Red Giant"}
EFFECTS |= {"Wolf-Rayet Star"}


@pytest.fixture(scope="module")
def packed() -> Packed:
    return load_builtin()


@pytest.fixture(scope="module")
def index(packed: Packed) -> UniverseIndex:
    return make_index(packed.universe, packed.statics, version=0, build="built in")


def test_the_file_is_small_and_names_its_sources(packed: Packed) -> None:
    assert BUILTIN.stat().st_size < 2 << 20
    assert packed.sources["sde"] and packed.sources["statics"]


def test_counts(packed: Packed) -> None:
    universe = packed.universe
    assert 8_300 <= len(universe.systems) <= 8_600
    wormhole_space = [key for key in universe.systems if 31_000_000 <= key < 32_000_000]
    assert 2_550 <= len(wormhole_space) <= 3_100
    classes = Counter(universe.systems[key].wormhole_class for key in wormhole_space)
    assert set(classes) == {1, 2, 3, 4, 5, 6, 12, 13, 14, 15, 16, 17, 18}
    assert classes[12] == 1 and classes[13] >= 20  # Thera, the shattered frigate holes
    assert 13_000 <= 2 * len(universe.gates) <= 14_500  # stargates, two per link
    assert 100 <= len(universe.wormholes) <= 200
    assert 900 <= len(universe.effects) <= 1_200
    assert set(universe.effects.values()) == EFFECTS
    assert 300 <= len(universe.ships) <= 1_000
    pochven = [key for key, system in universe.systems.items() if system.wormhole_class == 25]
    assert len(pochven) == 27


def test_known_facts(index: UniverseIndex) -> None:
    jita = index.systems[JITA]
    assert (jita["name"], jita["region"], jita["constellation"]) == (
        "Jita",
        "The Forge",
        "Kimotoro",
    )
    assert (jita["wormholeClass"], jita["securityDisplay"]) == (7, 0.9)
    neighbours = {index.systems[key]["name"] for key in index.neighbours[JITA]}
    assert neighbours == {
        "Ikuchi",
        "Maurasi",
        "Muvolailen",
        "New Caldari",
        "Niyabainen",
        "Perimeter",
        "Sobaseki",
    }
    thera = index.systems[THERA]
    assert (thera["name"], thera["wormholeClass"]) == ("Thera", 12)
    c5 = index.systems[J152820]
    assert (c5["name"], c5["wormholeClass"], c5["effect"]) == ("J152820", 5, "Pulsar")
    assert c5["statics"] == [{"code": "H296", "targetClass": 5}]
    assert [system["name"] for system in index.search("jita", 5)] == ["Jita"]
    wormholes = {wormhole["code"]: wormhole for wormhole in index.wormholes}
    b274 = wormholes["B274"]
    assert (b274["targetClass"], b274["lifetimeMinutes"], b274["size"]) == (7, 1440.0, "large")
    assert (b274["maxMass"], b274["maxJumpMass"]) == (2e9, 3.75e8)  # kg
    assert wormholes["E004"]["size"] == "small" and wormholes["H296"]["size"] == "capital"
    assert index.ships[587]["name"] == "Rifter" and index.ships[587]["mass"] == 1_067_000
    assert index.ships[670]["name"] == "Capsule"  # not published, and flown everywhere


def test_gate_jumps_and_ships_by_name(index: UniverseIndex) -> None:
    perimeter = _by_name(index, "Perimeter")
    # A neighbour of Jita that Perimeter reaches only through Jita (or another system).
    other = next(
        key
        for key in index.neighbours[JITA]
        if key != perimeter and perimeter not in index.neighbours[key]
    )
    assert index.gate_jumps(JITA, perimeter, 1) == 1
    assert index.gate_jumps(perimeter, other, 5) == 2
    assert index.gate_jumps(perimeter, other, 1) is None
    assert index.gate_jumps(JITA, THERA, 30) is None  # no stargate reaches wormhole space
    assert index.gate_jumps(JITA, JITA, 0) == 0
    avatar = index.search_ships("AVATAR", 5)[0]
    assert (avatar["name"], avatar["mass"], avatar["group"]) == ("Avatar", 2.4e9, "Titan")
    names = [ship["name"] for ship in index.search_ships("rif", 20)]
    assert names[0] == "Rifter" and "Rifter" not in names[1:]
    assert all("rif" in name.lower() for name in names)


def _by_name(index: UniverseIndex, name: str) -> int:
    return next(key for key, system in index.systems.items() if system["name"] == name)


def test_every_wormhole_system_of_class_1_to_6_has_a_static(index: UniverseIndex) -> None:
    codes = {wormhole["code"] for wormhole in index.wormholes}
    for system in index.systems.values():
        if system["wormholeClass"] in range(1, 7):
            assert system["statics"], system["name"]
        for static in system["statics"]:
            assert static["code"] in codes and static["targetClass"] is not None, system


def test_a_fresh_service_answers_from_it(sqlite_server: MapperServer) -> None:
    token = sqlite_server.token("new")
    found = httpx.get(
        f"{sqlite_server.http}/api/universe/systems?search=jita", headers=auth(token)
    ).json()["items"]
    assert [(system["id"], system["name"]) for system in found] == [(JITA, "Jita")]
    ready = httpx.get(f"{sqlite_server.http}/readyz").json()
    assert ready["staticData"] is True
    assert ready["staticDataBuild"] == f"built in: {load_builtin().sources['sde']}"

"""The route finder against hand-computed paths: stargates, a chain's connections, and the
options that leave out end-of-life, critical or too small connections and low or null
security."""

from __future__ import annotations

from typing import Any

from mapper.universe.index import UniverseIndex, display_security, wormhole_size
from mapper.universe.route import Link, adjacency, chain_links, shortest_path

# A hand-drawn map (ids as in the SDE: 30... known space, 31... wormhole space).
#
#   HIGH1 (1.0) - HIGH2 (0.9) - HIGH3 (0.5) - HIGH4 (0.7)
#     |                                          |
#   LOW1 (0.4) ------ NULL1 (-0.2) ----------- HIGH5 (0.6)
#     |
#   ROUNDS_UP (0.45, shown as 0.5: highsec)
HIGH1, HIGH2, HIGH3, HIGH4, HIGH5 = 30000001, 30000002, 30000003, 30000004, 30000005
LOW1, NULL1, ROUNDS_UP = 30000006, 30000007, 30000008
J1, J2, J3 = 31000001, 31000002, 31000003
SECURITY = {
    HIGH1: 1.0,
    HIGH2: 0.9,
    HIGH3: 0.5,
    HIGH4: 0.7,
    HIGH5: 0.6,
    LOW1: 0.4,
    NULL1: -0.2,
    ROUNDS_UP: 0.45,
    J1: -1.0,
    J2: -1.0,
    J3: -1.0,
}
GATES = [
    (HIGH1, HIGH2),
    (HIGH2, HIGH3),
    (HIGH3, HIGH4),
    (HIGH4, HIGH5),
    (HIGH1, LOW1),
    (LOW1, NULL1),
    (NULL1, HIGH5),
    (LOW1, ROUNDS_UP),
]


def _index() -> UniverseIndex:
    index = UniverseIndex(version=1)
    for system_id, security in SECURITY.items():
        index.systems[system_id] = {"id": system_id, "security": security}
    for a, b in GATES:
        index.neighbours.setdefault(a, []).append(b)
        index.neighbours.setdefault(b, []).append(a)
    return index


def _route(
    start: int,
    goal: int,
    connections: dict[str, Any] | None = None,
    *,
    avoid_low_null: bool = False,
    avoid_eol: bool = False,
    avoid_critical: bool = False,
    min_size: str | None = None,
    extra: list[Link] | None = None,
) -> list[int] | None:
    """What the route endpoint computes, on the hand-drawn map."""
    index = _index()
    chain = chain_links(
        connections or {}, avoid_eol=avoid_eol, avoid_critical=avoid_critical, sizes=SIZES
    )
    links = adjacency([*chain, *(extra or [])], min_size=min_size)
    return shortest_path(
        start,
        goal,
        lambda system: [*index.neighbours.get(system, []), *sorted(links.get(system, ()))],
        lambda system: not (avoid_low_null and index.is_low_or_null(system)),
    )


SIZES = {"E004": "small", "B274": "large"}  # wormhole code: size, as the index has them


def _connection(
    a: int, b: int, *, eol: bool = False, mass: str = "fresh", wh_type: str = "", size: str = ""
) -> dict[str, Any]:
    return {
        "a": a,
        "b": b,
        "kind": "wormhole",
        "eol": eol,
        "mass": mass,
        "whType": wh_type,
        "size": size,
    }


def test_stargates_only() -> None:
    assert _route(HIGH1, HIGH1) == [HIGH1]
    assert _route(HIGH1, HIGH2) == [HIGH1, HIGH2]
    # Through low and null: 3 jumps, against 4 through highsec.
    assert _route(HIGH1, HIGH5) == [HIGH1, LOW1, NULL1, HIGH5]
    assert _route(HIGH5, HIGH1) == [HIGH5, NULL1, LOW1, HIGH1]
    assert _route(HIGH1, J1) is None


def test_avoiding_low_and_null_security() -> None:
    assert _route(HIGH1, HIGH5, avoid_low_null=True) == [HIGH1, HIGH2, HIGH3, HIGH4, HIGH5]
    # The ends are where the pilot is and wants to be: never avoided.
    assert _route(LOW1, HIGH5, avoid_low_null=True) == [LOW1, HIGH1, HIGH2, HIGH3, HIGH4, HIGH5]
    assert _route(HIGH1, NULL1, avoid_low_null=True) == [HIGH1, HIGH2, HIGH3, HIGH4, HIGH5, NULL1]
    # 0.45 shows as 0.5 in game: highsec, but only reachable through LOW1 here.
    assert _index().is_low_or_null(ROUNDS_UP) is False
    assert _index().is_low_or_null(LOW1) is True
    assert _route(HIGH1, ROUNDS_UP, avoid_low_null=True) is None
    # Wormhole space is neither low nor null.
    assert _index().is_low_or_null(J1) is False


def test_a_chains_connections_join_the_stargates() -> None:
    chain = {
        f"{HIGH1}-{J1}": _connection(HIGH1, J1),
        f"{J1}-{J2}": _connection(J1, J2),
        f"{HIGH5}-{J2}": _connection(HIGH5, J2),
    }
    assert _route(HIGH1, J2, chain) == [HIGH1, J1, J2]
    # A wormhole shortcut: HIGH1 to HIGH5 in 3 jumps, the same as by gate, found first by
    # gate because gates come first among a system's neighbours.
    assert _route(HIGH1, HIGH5, chain) == [HIGH1, LOW1, NULL1, HIGH5]
    assert _route(HIGH1, HIGH5, chain, avoid_low_null=True) == [HIGH1, J1, J2, HIGH5]


def test_end_of_life_and_critical_connections_can_be_left_out() -> None:
    chain = {
        f"{HIGH1}-{J1}": _connection(HIGH1, J1, eol=True),
        f"{J1}-{J2}": _connection(J1, J2, mass="critical"),
        f"{HIGH3}-{J2}": _connection(HIGH3, J2),
        f"{J2}-{J3}": _connection(J2, J3),
    }
    assert _route(HIGH1, J3, chain) == [HIGH1, J1, J2, J3]
    assert _route(HIGH1, J3, chain, avoid_eol=True) == [HIGH1, HIGH2, HIGH3, J2, J3]
    assert _route(HIGH1, J3, chain, avoid_critical=True) == [HIGH1, HIGH2, HIGH3, J2, J3]
    assert _route(J1, J3, chain, avoid_critical=True) == [J1, HIGH1, HIGH2, HIGH3, J2, J3]
    assert _route(J1, J3, chain, avoid_eol=True, avoid_critical=True) is None


def test_chain_links_skip_what_is_not_a_connection() -> None:
    links = chain_links(
        {
            "ok": _connection(J1, J2),
            "float ids": {"a": float(J2), "b": float(J3)},  # a JS client's numbers
            "no b": {"a": J1},
            "text": {"a": "J1", "b": J2},
            "not a map": "J1-J2",
        },
        avoid_eol=False,
        avoid_critical=False,
        sizes=SIZES,
    )
    assert adjacency(links) == {J1: {J2}, J2: {J1, J3}, J3: {J2}}


def test_connections_too_small_for_the_ship_can_be_left_out() -> None:
    chain = {
        f"{HIGH1}-{J1}": _connection(HIGH1, J1, wh_type="E004"),  # a frigate hole
        f"{J1}-{J2}": _connection(J1, J2, wh_type="B274"),  # large
        f"{HIGH3}-{J2}": _connection(HIGH3, J2, wh_type="B274", size="medium"),  # its own size
        f"{J2}-{J3}": _connection(J2, J3, wh_type="K162"),  # unknown: kept
    }
    assert _route(HIGH1, J3, chain) == [HIGH1, J1, J2, J3]
    assert _route(HIGH1, J3, chain, min_size="small") == [HIGH1, J1, J2, J3]
    assert _route(HIGH1, J3, chain, min_size="medium") == [HIGH1, HIGH2, HIGH3, J2, J3]
    assert _route(HIGH1, J3, chain, min_size="large") is None
    # Other sources of connections (such as EVE-Scout's) come in as links of their own.
    scout = [Link(HIGH4, J3, "xlarge")]
    assert _route(HIGH1, J3, chain, min_size="large", extra=scout) == [
        HIGH1,
        HIGH2,
        HIGH3,
        HIGH4,
        J3,
    ]
    assert _route(HIGH1, J3, chain, min_size="capital", extra=scout) is None


def test_sizes_and_security_as_the_game_shows_them() -> None:
    assert [wormhole_size(mass) for mass in (None, 5e6, 5.1e6, 6.2e7, 3e8, 4.1e8, 1e9, 2e9)] == [
        None,
        "small",
        "medium",
        "medium",
        "large",
        "large",
        "xlarge",
        "capital",
    ]
    shown = [display_security(s) for s in (1.0, 0.945, 0.45, 0.449, 0.05, 0.04, 0.0001, 0.0)]
    assert shown == [1.0, 0.9, 0.5, 0.4, 0.1, 0.1, 0.1, 0.0]
    assert [display_security(s) for s in (-0.04, -0.05, -0.99, -1.0)] == [0.0, 0.0, -1.0, -1.0]

"""Inferring a jump from two location polls, and refusing the false ones.

ESI gives where a character is, not how it got there. Jump clones, podding home, filaments
into abyssal space, bridges, gate travel between two polls and long gaps all look like jumps;
these guards (from `shared/notes/eve-domain.md` and contract section 6) keep them off the map.
What gets through is a normal CRDT edit, so a scout can still delete it.

Gate travel: a move that stargates can explain in the time between the two sightings adds
nothing. One gate jump takes at least `GATE_JUMP_FLOOR_S` (the jump and its session change,
then aligning and warping to the next gate: about 10 s even for an interceptor with instant
warps), and a sighting may be up to `LOCATION_CACHE_S` old (ESI's cache of the location), so a
move of up to (gap + 5 s) / 10 s gate jumps (at least one) is gate travel. Erring high costs
little: a move between two known-space systems that gates do not explain is only offered to
the user (`OFFER`), never written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pycrdt import Array, Doc, Map, Text

CAPSULES = frozenset({670, 33328})
KNOWN_SPACE = range(30_000_000, 31_000_000)
WORMHOLE_SPACE = range(31_000_000, 32_000_000)
GATE_JUMP_FLOOR_S = 10.0
LOCATION_CACHE_S = 5.0
MAX_JUMPS = 200  # a connection's `jumps` (the schema guard holds it there too)

STARGATE, WORMHOLE = "stargate", "wormhole"
OFFER = "offer"  # known space to known space, not by gates: the user confirms, or not


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where a character was seen at one poll (epoch seconds)."""

    system_id: int
    docked: bool
    ship_type_id: int | None
    at: float


def gate_jumps_possible(elapsed_s: float) -> int:
    """How many gate jumps a pilot can make between two sightings `elapsed_s` apart."""
    return max(1, int((elapsed_s + LOCATION_CACHE_S) // GATE_JUMP_FLOOR_S))


def jump_kind(
    before: Sighting | None,
    after: Sighting,
    *,
    gap_s: float,
    gate_jumps: int | None,
) -> str | None:
    """What the move from `before` to `after` maps to: a connection kind, `OFFER`, or None for
    nothing. `gate_jumps`: stargate jumps between the two systems, None when more than
    `gate_jumps_possible` of the time between the sightings."""
    if before is None or before.system_id == after.system_id:
        return None
    if after.at - before.at > gap_s:
        return None  # offline or unpolled meanwhile: anything could have happened
    if not (_mappable(before.system_id) and _mappable(after.system_id)):
        return None  # abyssal space and other unmappable places
    if after.ship_type_id in CAPSULES:
        return None  # podded home, or a clone jump
    if gate_jumps == 1:
        return STARGATE
    if gate_jumps is not None:
        return None  # several gate jumps between two polls
    if _known(before.system_id) and _known(after.system_id):
        if before.docked and after.docked:
            return None  # docked to docked across unconnected known space: a jump clone
        return OFFER  # a jump bridge, a jump drive or a titan bridge as often as a wormhole
    return WORMHOLE


def _mappable(system_id: int) -> bool:
    return system_id in KNOWN_SPACE or system_id in WORMHOLE_SPACE


def _known(system_id: int) -> bool:
    return system_id in KNOWN_SPACE


# Where a system added from a jump lands: one column right of where the jump began, in the
# first row down that no box takes. The canvas's steps (web/src/canvas/layout.ts: STEP_X is a
# 168 px box plus a 130 px gap for a line's labels, STEP_Y a 64 px box plus 24), so it sits
# where the canvas would have put it and never on the box of a sibling.
SPACING_X, SPACING_Y = 298, 88


def passage(
    at_ms: int, character_id: int, ship_type_id: int | None, mass: float | None
) -> dict[str, Any]:
    """A `jumps` item: a ship seen passing (mass 0 when static data does not know the ship)."""
    return {
        "at": at_ms,
        "characterId": character_id,
        "shipTypeId": ship_type_id or 0,
        "mass": mass or 0,
    }


def map_jump(
    doc: Doc, origin: int, target: int, kind: str, by: str, now_ms: int, ship: dict[str, Any]
) -> bool:
    """Map a jump from `origin` to `target` on a chain document that holds `origin`: through
    the wormhole between them, `ship` (a `passage`) joins its `jumps`; without a connection,
    add `target` (next to `origin`) and the connection (unless `kind` is `OFFER`: that waits
    for the user). False when there was nothing to write."""
    systems = doc.get("systems", type=Map)
    connections = doc.get("connections", type=Map)
    start = systems.get(str(origin))
    a, b = sorted((origin, target))
    key = f"{a}-{b}"
    if not isinstance(start, Map):
        return False
    existing = connections.get(key) if str(target) in systems else None
    if isinstance(existing, Map):
        if kind == STARGATE or existing.get("kind", WORMHOLE) != WORMHOLE:
            return False  # nothing to count through a stargate or a bridge
        with doc.transaction():
            _append_jump(existing, ship)
        return True
    if kind == OFFER:
        return False
    with doc.transaction():
        if str(target) not in systems:
            x, y = _beside(systems, start)
            systems[str(target)] = Map(
                {
                    "id": target,
                    "x": x,
                    "y": y,
                    "alias": "",
                    "status": "unknown",
                    "locked": False,
                    "notes": Text(),
                    "addedAt": now_ms,
                    "addedBy": by,
                }
            )
        connections[key] = Map(
            {
                "a": a,
                "b": b,
                "kind": kind,
                "whType": "",
                "mass": "fresh",
                "eol": False,
                "eolAt": None,
                "size": "",
                "createdAt": now_ms,
                "updatedAt": now_ms,
                **({"jumps": Array([ship])} if kind == WORMHOLE else {}),
            }
        )
    return True


def holds_connection(doc: Doc, origin: int, target: int) -> bool:
    """Whether the chain already has a connection between the two systems."""
    a, b = sorted((origin, target))
    return f"{a}-{b}" in doc.get("connections", type=Map)


def _append_jump(connection: Map, ship: dict[str, Any]) -> None:
    jumps = connection.get("jumps")
    if not isinstance(jumps, Array):
        connection["jumps"] = Array([ship])
        return
    jumps.append(ship)
    if len(jumps) > MAX_JUMPS:
        del jumps[: len(jumps) - MAX_JUMPS]


def _beside(systems: Map, start: Map) -> tuple[float, float]:
    """The first place one column right of `start`, going down a row at a time, that no
    system's box overlaps."""
    x, y = _number(start.get("x")) + SPACING_X, _number(start.get("y"))
    column = [
        _number(other.get("y"))
        for other in systems.values()
        if isinstance(other, Map) and abs(_number(other.get("x")) - x) < SPACING_X
    ]
    # Each system there blocks at most two rows, so one of the first 2n + 1 is free.
    row = next(
        row
        for row in range(2 * len(column) + 1)
        if all(abs(other - (y + row * SPACING_Y)) >= SPACING_Y for other in column)
    )
    return x, y + row * SPACING_Y


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

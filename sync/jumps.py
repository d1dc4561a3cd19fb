"""Inferring a jump from two location polls, and refusing the false ones.

ESI gives where a character is, not how it got there. Jump clones, podding home, filaments
into abyssal space, bridges and long gaps all look like jumps; these guards (from
`shared/notes/eve-domain.md`) keep them off the map. What gets through is a normal CRDT edit,
so a scout can still delete it.
"""

from __future__ import annotations

from dataclasses import dataclass

from pycrdt import Doc, Map, Text

CAPSULES = frozenset({670, 33328})
KNOWN_SPACE = range(30_000_000, 31_000_000)
WORMHOLE_SPACE = range(31_000_000, 32_000_000)

STARGATE, WORMHOLE = "stargate", "wormhole"


@dataclass(frozen=True, slots=True)
class Sighting:
    """Where a character was seen at one poll (epoch seconds)."""

    system_id: int
    docked: bool
    ship_type_id: int | None
    at: float


def jump_kind(
    before: Sighting | None,
    after: Sighting,
    *,
    gap_s: float,
    adjacent: bool,
) -> str | None:
    """The connection kind the move from `before` to `after` maps to, or None for no link."""
    if before is None or before.system_id == after.system_id:
        return None
    if after.at - before.at > gap_s:
        return None  # offline or unpolled meanwhile: anything could have happened
    if not (_mappable(before.system_id) and _mappable(after.system_id)):
        return None  # abyssal space and other unmappable places
    if after.ship_type_id in CAPSULES:
        return None  # podded home, or a clone jump
    if adjacent:
        return STARGATE
    if before.docked and after.docked and _known(before.system_id) and _known(after.system_id):
        return None  # docked to docked across unconnected known space: a jump clone
    return WORMHOLE


def _mappable(system_id: int) -> bool:
    return system_id in KNOWN_SPACE or system_id in WORMHOLE_SPACE


def _known(system_id: int) -> bool:
    return system_id in KNOWN_SPACE


SPACING_X, SPACING_Y = 170, 60  # a new system lands to the right of where the jump began


def map_jump(doc: Doc, origin: int, target: int, kind: str, by: str, now_ms: int) -> bool:
    """Add `target` (next to `origin`) and the connection between them to a chain document
    that holds `origin`; False when there was nothing to add."""
    systems = doc.get("systems", type=Map)
    connections = doc.get("connections", type=Map)
    start = systems.get(str(origin))
    a, b = sorted((origin, target))
    key = f"{a}-{b}"
    if not isinstance(start, Map) or (str(target) in systems and key in connections):
        return False
    with doc.transaction():
        if str(target) not in systems:
            links = sum(1 for k in connections.keys() if str(origin) in k.split("-"))
            systems[str(target)] = Map(
                {
                    "id": target,
                    "x": _number(start.get("x")) + SPACING_X,
                    "y": _number(start.get("y")) + SPACING_Y * max(links - 1, 0),
                    "alias": "",
                    "status": "unknown",
                    "locked": False,
                    "notes": Text(),
                    "addedAt": now_ms,
                    "addedBy": by,
                }
            )
        if key not in connections:
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
                }
            )
    return True


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

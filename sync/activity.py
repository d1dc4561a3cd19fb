"""System activity in the last hour, from ESI's two universe-wide lists: kills
(`/universe/system_kills/`) and jumps (`/universe/system_jumps/`).

Both answers are untrusted: one that is not a list of well-formed entries is refused whole
(EsiError), so the caller keeps the last good one. A system neither list names had no kills
or no jumps; ESI leaves quiet systems out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mapper.core import ids
from mapper.sync.esi import EsiError

KILLS_PATH = "/universe/system_kills/"
JUMPS_PATH = "/universe/system_jumps/"
MAX_ENTRIES = 20_000  # New Eden has some 8,500 systems
MAX_COUNT = 10_000_000  # an hour's kills or jumps in one system stay far below this


@dataclass(frozen=True, slots=True)
class Activity:
    ship_kills: int = 0
    pod_kills: int = 0
    npc_kills: int = 0
    jumps: int = 0

    def live_fields(self) -> dict[str, int]:
        return {
            "shipKills": self.ship_kills,
            "podKills": self.pod_kills,
            "npcKills": self.npc_kills,
            "jumps": self.jumps,
        }


Kills = dict[int, tuple[int, int, int]]  # system -> (ship, pod, npc kills)
Jumps = dict[int, int]  # system -> jumps


def parse_kills(body: Any) -> Kills:
    return {
        system: (
            _count(entry, "ship_kills"),
            _count(entry, "pod_kills"),
            _count(entry, "npc_kills"),
        )
        for system, entry in _entries(body, "system_kills")
    }


def parse_jumps(body: Any) -> Jumps:
    return {system: _count(entry, "ship_jumps") for system, entry in _entries(body, "system_jumps")}


def activity(system: int, kills: Kills | None, jumps: Jumps | None) -> Activity:
    ship, pod, npc = (kills or {}).get(system, (0, 0, 0))
    return Activity(ship, pod, npc, (jumps or {}).get(system, 0))


def _entries(body: Any, what: str) -> list[tuple[int, dict[str, Any]]]:
    if not isinstance(body, list) or len(body) > MAX_ENTRIES:
        raise EsiError(f"ESI's {what} is not a list of at most {MAX_ENTRIES} entries")
    found = []
    for entry in body:
        if not isinstance(entry, dict):
            raise EsiError(f"ESI's {what} holds an entry that is not an object")
        system = entry.get("system_id")
        if not _is_int(system) or not 0 < system <= ids.MAX_EVE_ID:
            raise EsiError(f"ESI's {what} holds an invalid system_id")
        found.append((system, entry))
    return found


def _count(entry: dict[str, Any], name: str) -> int:
    value = entry.get(name, 0)
    if not _is_int(value) or not 0 <= value <= MAX_COUNT:
        raise EsiError(f"ESI's answer has an invalid {name!r}")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)

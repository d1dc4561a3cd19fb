"""What the sync engine refreshes: one entry per dataset, with its cadence floor, its ESI
rate-limit group and the function that reads it for one character.

Adding a dataset is one entry here plus its read function; the fields it returns are columns
of the character status projection (`persistence.sync_store.STATUS_FIELDS`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mapper.sync.esi import EsiClient, EsiError, Read

# The location, online and ship routes share ESI's `char-location` rate-limit group.
CHAR_LOCATION = "char-location"


@dataclass(frozen=True, slots=True)
class Fetched:
    """A character's fields as ESI now gives them, or None when nothing new came."""

    fields: dict[str, Any] | None
    expires_at: float


ReadCharacter = Callable[[EsiClient, int, str], Awaitable[Fetched]]


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    cadence_s: float
    group: str
    read: ReadCharacter
    locates: bool = False  # its answers say where characters are: moves may be jumps


async def read_online(esi: EsiClient, character_id: int, token: str) -> Fetched:
    answer = await esi.get(f"/characters/{character_id}/online/", token, character_id)
    online = _field(answer, "online", bool)
    return Fetched({"online": online} if answer.fresh else None, answer.expires_at)


async def read_location(esi: EsiClient, character_id: int, token: str) -> Fetched:
    where = await esi.get(f"/characters/{character_id}/location/", token, character_id)
    ship = await esi.get(f"/characters/{character_id}/ship/", token, character_id)
    fields = {
        "system_id": _field(where, "solar_system_id", int),
        "docked": _optional_id(where, "station_id") or _optional_id(where, "structure_id"),
        "ship_type_id": _field(ship, "ship_type_id", int),
    }
    expires_at = min(where.expires_at, ship.expires_at)
    return Fetched(fields if where.fresh or ship.fresh else None, expires_at)


def registry(*, online_cadence_s: float, location_cadence_s: float) -> dict[str, Dataset]:
    datasets = [
        Dataset("onlineStatus", online_cadence_s, CHAR_LOCATION, read_online),
        Dataset("location", location_cadence_s, CHAR_LOCATION, read_location, locates=True),
    ]
    return {dataset.name: dataset for dataset in datasets}


def _field(answer: Read, name: str, kind: type) -> Any:
    body = answer.body
    value = body.get(name) if isinstance(body, dict) else None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EsiError(f"ESI's answer lacks a valid {name!r}")
    return value


def _optional_id(answer: Read, name: str) -> bool:
    value = answer.body.get(name)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise EsiError(f"ESI's answer has an invalid {name!r}")
    return value is not None

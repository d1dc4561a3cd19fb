"""EVE-Scout's public Thera and Turnur connections (`GET /v2/public/signatures`).

The answer is untrusted: its size is bounded while it arrives, and every field of every
signature is checked. An answer that is not what the API documents (not JSON, not a list,
a field of the wrong type) is refused whole, so the caller keeps its last good data rather
than a half-read one. Signatures that are not (yet) a wormhole to a known system, such as one
a scout has not finished, are skipped as the API intends them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from mapper.core import ids
from mapper.sync.bounded import TooLarge, get_bounded
from mapper.sync.esi import http_date

SIGNATURES_PATH = "/v2/public/signatures"
MIN_INTERVAL_S = 300.0  # never asked more often, whatever its cache headers say
LONGEST_CACHE_S = 3600.0  # a cache lifetime past this is taken as a broken header
MAX_ANSWER_BYTES = 1024 * 1024  # a real answer is some 30 signatures, about 30 KB
MAX_SIGNATURES = 1000
SIZES = frozenset({"small", "medium", "large", "xlarge", "capital"})
_SIGNATURE_ID = re.compile(r"[0-9]{1,19}")
_WH_TYPE = re.compile(r"[A-Za-z0-9]{1,8}")
_SIG = re.compile(r"[A-Za-z0-9-]{1,16}")
_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?([0-9]{1,9})")
MAX_TIME_CHARS = 40


class EveScoutError(Exception):
    """EVE-Scout did not answer usefully; nothing is known to have changed."""


@dataclass(frozen=True, slots=True)
class ScoutConnection:
    """One public wormhole: `out_system` is Thera or Turnur, `in_system` the other end."""

    in_system: int
    out_system: int
    wh_type: str
    size: str  # small .. capital, or "" when EVE-Scout does not know
    in_sig: str
    out_sig: str
    expires_at: int  # ms epoch
    updated_at: int | None  # ms epoch

    def live_fields(self) -> dict[str, Any]:
        return {
            "inSystem": self.in_system,
            "outSystem": self.out_system,
            "whType": self.wh_type,
            "size": self.size,
            "inSig": self.in_sig,
            "outSig": self.out_sig,
            "expiresAt": self.expires_at,
            "updatedAt": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class Signatures:
    connections: dict[str, ScoutConnection]  # by EVE-Scout's signature id
    lasts_s: float  # how long the answer may be kept, from its cache headers


class EveScoutClient:
    def __init__(self, base_url: str, *, timeout_s: float, user_agent: str) -> None:
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=timeout_s,
            headers={"User-Agent": user_agent, "Accept": "application/json"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def signatures(self, now: float) -> Signatures:
        """The current connections; raises EveScoutError."""
        try:
            response, content = await get_bounded(
                self._http, SIGNATURES_PATH, headers={}, max_bytes=MAX_ANSWER_BYTES
            )
        except TooLarge as error:
            raise EveScoutError(f"EVE-Scout's answer is too large: {error}") from None
        except httpx.TimeoutException:
            raise EveScoutError("EVE-Scout did not answer in time") from None
        except httpx.TransportError as error:
            raise EveScoutError(f"EVE-Scout unreachable: {error}") from None
        if response.status_code != 200:
            raise EveScoutError(f"EVE-Scout answered {response.status_code}")
        try:
            body = json.loads(content)
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise EveScoutError("EVE-Scout answered with malformed JSON") from None
        return Signatures(parse_signatures(body), cache_lifetime(response.headers, now))


def parse_signatures(body: Any) -> dict[str, ScoutConnection]:
    """The wormholes of an answer, by signature id; EveScoutError if it is malformed."""
    if not isinstance(body, list):
        raise EveScoutError("EVE-Scout's answer is not a list")
    if len(body) > MAX_SIGNATURES:
        raise EveScoutError(f"EVE-Scout's answer lists over {MAX_SIGNATURES} signatures")
    connections: dict[str, ScoutConnection] = {}
    for entry in body:
        if not isinstance(entry, dict):
            raise EveScoutError("EVE-Scout's answer holds a signature that is not an object")
        key = _signature_id(entry.get("id"))
        connection = _connection(entry)
        if connection is not None:
            connections[key] = connection
    return connections


def _connection(entry: dict[str, Any]) -> ScoutConnection | None:
    kind = _optional(entry, "signature_type", str)
    in_system = _optional(entry, "in_system_id", int)
    out_system = _optional(entry, "out_system_id", int)
    wh_type = _optional(entry, "wh_type", str) or ""
    size = _optional(entry, "max_ship_size", str) or ""
    in_sig = _optional(entry, "in_signature", str) or ""
    out_sig = _optional(entry, "out_signature", str) or ""
    expires_at = _time(entry, "expires_at")
    updated_at = _time(entry, "updated_at") or _time(entry, "created_at")
    if wh_type and _WH_TYPE.fullmatch(wh_type) is None:
        raise EveScoutError(f"EVE-Scout's answer has an invalid wormhole type {wh_type[:20]!r}")
    for sig in (in_sig, out_sig):
        if sig and _SIG.fullmatch(sig) is None:
            raise EveScoutError(f"EVE-Scout's answer has an invalid signature {sig[:20]!r}")
    for system in (in_system, out_system):
        if system is not None and not 0 < system <= ids.MAX_EVE_ID:
            raise EveScoutError(f"EVE-Scout's answer has an invalid system id {system}")
    if (kind is not None and kind != "wormhole") or in_system is None or out_system is None:
        return None  # not a wormhole, or not scanned down to its far end yet
    if expires_at is None:
        return None  # a wormhole always ends; one without an end is not usable
    return ScoutConnection(
        in_system=in_system,
        out_system=out_system,
        wh_type=wh_type.upper(),
        size=size if size in SIZES else "",  # "unknown", or a size added since
        in_sig=in_sig.upper(),
        out_sig=out_sig.upper(),
        expires_at=expires_at,
        updated_at=updated_at,
    )


def _signature_id(value: Any) -> str:
    """EVE-Scout's ids are numbers, sent as strings (`"46"`); either form is one key."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= ids.MAX_ROW_ID:
        return str(value)
    if isinstance(value, str) and _SIGNATURE_ID.fullmatch(value):
        return str(int(value))
    raise EveScoutError("EVE-Scout's answer has a signature without a valid id")


def _optional(entry: dict[str, Any], name: str, kind: type) -> Any:
    value = entry.get(name)
    if value is None:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise EveScoutError(f"EVE-Scout's answer has an invalid {name!r}")
    return value


def _time(entry: dict[str, Any], name: str) -> int | None:
    """An ISO 8601 time (`2023-12-03T04:24:49.000Z`) as ms epoch."""
    value = _optional(entry, name, str)
    if value is None:
        return None
    try:
        if len(value) > MAX_TIME_CHARS:
            raise ValueError(value)
        when = datetime.fromisoformat(value)
    except ValueError:
        raise EveScoutError(f"EVE-Scout's answer has an invalid {name!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def cache_lifetime(headers: httpx.Headers, now: float) -> float:
    """How long the answer may be kept, from `Cache-Control: max-age` or else `Expires`
    (measured from the server's own `Date`); 0 when neither says."""
    found = _MAX_AGE.search(headers.get("cache-control", ""))
    if found is not None:
        lasts = float(found.group(1))
    else:
        expires = http_date(headers.get("expires"))
        if expires is None:
            return 0.0
        sent = http_date(headers.get("date"))
        lasts = expires - (sent if sent is not None else now)
    return min(max(lasts, 0.0), LONGEST_CACHE_S)

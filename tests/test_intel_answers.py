"""Reading EVE-Scout's and ESI's answers for the intel document: what is kept, skipped or
refused whole."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mapper.core.clock import ManualClock
from mapper.sync.activity import activity, parse_jumps, parse_kills
from mapper.sync.esi import EsiError
from mapper.sync.evescout import EveScoutError, cache_lifetime, parse_signatures
from tests.fake_evescout import THERA, signature

JITA = 30000142


def one(**changes: Any) -> dict[str, Any]:
    return {**signature(46, JITA, clock=ManualClock()), **changes}


def test_a_signature_reads_as_the_api_sends_it() -> None:
    clock = ManualClock()
    (key, connection), *_ = parse_signatures([one(id=46, in_signature="abc-123")]).items()
    assert key == "46"
    assert connection.live_fields() == {
        "inSystem": JITA,
        "outSystem": THERA,
        "whType": "Q063",
        "size": "medium",
        "inSig": "ABC-123",
        "outSig": "HMM-222",
        "expiresAt": (clock.now() + 14 * 3600) * 1000,
        "updatedAt": (clock.now() - 1800) * 1000,
    }
    assert set(parse_signatures([one(id="046")])) == {"46"}, "one id, number or string"


@pytest.mark.parametrize(
    "changes",
    [
        {"signature_type": "data"},
        {"in_system_id": None, "completed": False},  # not scanned down yet
        {"expires_at": None},
    ],
)
def test_what_is_not_a_usable_wormhole_is_skipped(changes: dict[str, Any]) -> None:
    assert parse_signatures([one(**changes), one(id="47")]).keys() == {"47"}


def test_unknown_sizes_and_missing_signatures_read_empty() -> None:
    connection = parse_signatures([one(max_ship_size="unknown", in_signature=None)])["46"]
    assert (connection.size, connection.in_sig) == ("", "")


@pytest.mark.parametrize(
    "body",
    [
        {"signatures": []},
        [1],
        [one(id=None)],
        [one(id="x1")],
        [one(id=True)],
        [one(in_system_id="30000142")],
        [one(in_system_id=True)],
        [one(out_system_id=2**40)],
        [one(wh_type="Q063; DROP")],
        [one(out_signature="x" * 17)],
        [one(expires_at="tomorrow")],
        [one(expires_at="2026-01-01T00:00:00.000Z" + " " * 40)],
        [one(max_ship_size=3)],
        [one()] * 1001,
    ],
)
def test_a_malformed_answer_is_refused_whole(body: Any) -> None:
    with pytest.raises(EveScoutError):
        parse_signatures(body)


@pytest.mark.parametrize(
    ("headers", "lasts"),
    [
        ({}, 0.0),
        ({"cache-control": "public, max-age=600"}, 600.0),
        ({"cache-control": "s-maxage=900"}, 0.0),
        ({"cache-control": "max-age=99999"}, 3600.0),
        (
            {"expires": "Thu, 01 Jan 2026 00:10:00 GMT", "date": "Thu, 01 Jan 2026 00:00:00 GMT"},
            600.0,
        ),
        ({"expires": "garbage"}, 0.0),
    ],
)
def test_cache_lifetime(headers: dict[str, str], lasts: float) -> None:
    assert cache_lifetime(httpx.Headers(headers), now=0.0) == lasts


def test_activity_lists() -> None:
    kills = parse_kills([{"system_id": JITA, "ship_kills": 3, "pod_kills": 1, "npc_kills": 10}])
    jumps = parse_jumps([{"system_id": JITA, "ship_jumps": 400}, {"system_id": 30000144}])
    assert activity(JITA, kills, jumps).live_fields() == {
        "shipKills": 3,
        "podKills": 1,
        "npcKills": 10,
        "jumps": 400,
    }
    assert activity(31000005, kills, jumps).live_fields()["jumps"] == 0, "unlisted: quiet"
    for bad in (
        {"system_id": JITA},
        [{"system_id": "30000142", "ship_jumps": 1}],
        [{"system_id": JITA, "ship_jumps": -1}],
        [{"system_id": JITA, "ship_jumps": 1.5}],
        [{"system_id": JITA, "ship_jumps": False}],
        [[JITA, 1]],
    ):
        with pytest.raises(EsiError):
            parse_jumps(bad)

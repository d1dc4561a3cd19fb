"""The chain document schema: SchemaGuard corrections, convergence, and the helpers."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text

from mapper.chains.schema import (
    MAX_NOTES,
    SCHEMA_ORIGIN,
    SchemaGuard,
    counts,
    document_json,
    new_chain_update,
)
from mapper.core import protocol
from mapper.core.clock import SystemClock
from mapper.core.identity import Identity
from mapper.core.metrics import Metrics
from mapper.rooms.connection import Connection, TokenBucket
from mapper.rooms.room import Room

S1, S2, S3 = 31000001, 31000002, 31000003
CONN = f"{S1}-{S2}"
SIG = f"{S1}:ABC-123"
JUMP = {"at": 1.7e12, "characterId": 90000001, "shipTypeId": 587, "mass": 1067000.0}


def system(system_id: int, **fields: Any) -> Map:
    return Map(
        {
            "id": system_id,
            "x": 10.5,
            "y": -20,
            "alias": "home",
            "status": "friendly",
            "locked": False,
            "notes": Text("static"),
            "addedAt": 1.7e12,
            "addedBy": "alice",
            **fields,
        }
    )


def connection(a: int, b: int, **fields: Any) -> Map:
    return Map(
        {
            "a": a,
            "b": b,
            "kind": "wormhole",
            "whType": "K162",
            "mass": "reduced",
            "eol": True,
            "eolAt": 1.7e12,
            "size": "large",
            "createdAt": 1.7e12,
            "updatedAt": 1.7e12,
            **fields,
        }
    )


def signature(system_id: int, sig: str, **fields: Any) -> Map:
    return Map(
        {
            "system": system_id,
            "sig": sig,
            "group": "wormhole",
            "type": "B274",
            "name": "",
            "connection": CONN,
            "createdAt": 1.7e12,
            "updatedAt": 1.7e12,
            "by": "alice",
            **fields,
        }
    )


class Chain:
    """A server doc with its guard, and a client doc that edits it through updates."""

    def __init__(self) -> None:
        self.server: Doc = Doc()
        self.server.apply_update(new_chain_update("Home chain"))
        self.guard = SchemaGuard(self.server)
        self.server_updates: list[bytes] = []
        self.server.observe(lambda event: self.server_updates.append(event.update))
        self.client: Doc = Doc()
        self.client.apply_update(self.server.get_update())

    def root(self, name: str) -> Map:
        return self.client.get(name, type=Map)

    def edit(self, change: Callable[[], object]) -> int:
        """Make `change` on the client, send it to the server, enforce, sync the result back."""
        with self.client.transaction():
            change()
        self.server.apply_update(self.client.get_update(self.server.get_state()))
        fixes = self.guard.enforce()
        self.client.apply_update(self.server.get_update(self.client.get_state()))
        assert document_json(self.client) == document_json(self.server)
        return fixes

    def json(self) -> dict[str, Any]:
        return document_json(self.server)


@pytest.fixture
def chain() -> Chain:
    """A chain holding two systems, a connection between them and a signature: all valid."""
    chain = Chain()

    def populate() -> None:
        chain.root("systems")[str(S1)] = system(S1)
        chain.root("systems")[str(S2)] = system(S2)
        chain.root("connections")[CONN] = connection(S1, S2)
        chain.root("signatures")[SIG] = signature(S1, "ABC-123")

    assert chain.edit(populate) == 0
    return chain


def same(value: Any, expected: Any) -> bool:
    # False == 0 in Python: compare types as well, except int against float (JSON numbers).
    numbers = (int, float)
    if isinstance(value, numbers) and isinstance(expected, numbers):
        return isinstance(value, bool) is isinstance(expected, bool) and value == expected
    return type(value) is type(expected) and value == expected


# --- valid content costs nothing ------------------------------------------------------------


def test_new_chain_is_valid() -> None:
    doc: Doc = Doc()
    doc.apply_update(new_chain_update("Home chain"))
    assert document_json(doc) == {
        "meta": {"schema": 1, "name": "Home chain"},
        "systems": {},
        "connections": {},
        "signatures": {},
    }
    assert counts(doc) == {"systems": 0, "connections": 0, "signatures": 0}
    assert SchemaGuard(doc).enforce_all() == 0


def test_valid_edits_write_nothing(chain: Chain) -> None:
    chain.server_updates.clear()

    def edits() -> None:
        chain.root("systems")[str(S3)] = system(S3, status="hostile", locked=True)
        chain.root("systems")[str(S1)]["x"] = 99
        chain.root("systems")[str(S1)]["notes"].insert(0, "C5 ")
        chain.root("connections")[f"{S2}-{S3}"] = connection(S2, S3, eolAt=None, size="")
        chain.root("signatures")[f"{S3}:XYZ-999"] = signature(S3, "XYZ-999", connection="")
        chain.root("meta")["home"] = S1

    assert chain.edit(edits) == 0
    # Only the client's own update went out: no correction followed it.
    assert len(chain.server_updates) == 1
    assert chain.guard.enforce_all() == 0
    assert counts(chain.server) == {"systems": 3, "connections": 2, "signatures": 2}


def test_integers_may_arrive_as_floats_or_ints(chain: Chain) -> None:
    def edits() -> None:
        chain.root("systems")[str(S3)] = system(float(S3), addedAt=1700000000000.0)
        chain.root("connections")[CONN]["eolAt"] = 2**60  # a JS BigInt arrives as a Python int
        chain.root("meta")["home"] = float(S3)

    assert chain.edit(edits) == 0


def test_missing_optional_fields_are_left_missing(chain: Chain) -> None:
    assert chain.edit(lambda: chain.root("systems").__setitem__(str(S3), Map({"id": S3}))) == 0
    assert chain.json()["systems"][str(S3)] == {"id": S3}


def test_unknown_fields_are_left_alone(chain: Chain) -> None:
    def edits() -> None:
        chain.root("systems")[str(S1)]["future"] = Map({"any": "thing"})
        chain.root("meta")["theme"] = "dark"

    assert chain.edit(edits) == 0
    assert chain.json()["systems"][str(S1)]["future"] == {"any": "thing"}
    assert chain.json()["meta"]["theme"] == "dark"


# --- wrong field values -----------------------------------------------------------------------

NAN, INF = math.nan, math.inf
LONG = "x" * 150

FIELD_CASES = [
    # systems
    ("systems", str(S1), "x", "12", 0.0),
    ("systems", str(S1), "x", NAN, 0.0),
    ("systems", str(S1), "x", True, 0.0),
    ("systems", str(S1), "y", INF, 0.0),
    ("systems", str(S1), "y", None, 0.0),
    ("systems", str(S1), "y", lambda: Map({"v": 1}), 0.0),
    ("systems", str(S1), "alias", 5, ""),
    ("systems", str(S1), "alias", "a" * 65, "a" * 64),
    ("systems", str(S1), "alias", lambda: Text("home"), ""),
    ("systems", str(S1), "status", "allied", "unknown"),
    ("systems", str(S1), "status", "Hostile", "unknown"),
    ("systems", str(S1), "status", 2, "unknown"),
    ("systems", str(S1), "locked", 1, False),
    ("systems", str(S1), "locked", "true", False),
    ("systems", str(S1), "addedAt", "now", 0.0),
    ("systems", str(S1), "addedAt", -INF, 0.0),
    ("systems", str(S1), "addedAt", 1.5, 1.0),
    ("systems", str(S1), "addedAt", False, 0.0),
    ("systems", str(S1), "addedBy", 7, ""),
    ("systems", str(S1), "addedBy", LONG, LONG[:100]),
    # connections
    ("connections", CONN, "kind", "jump", "wormhole"),
    ("connections", CONN, "kind", None, "wormhole"),
    ("connections", CONN, "whType", 162, ""),
    ("connections", CONN, "whType", LONG, LONG[:100]),
    ("connections", CONN, "mass", "half", "fresh"),
    ("connections", CONN, "eol", 0, False),
    ("connections", CONN, "eol", None, False),
    ("connections", CONN, "eolAt", "soon", None),
    ("connections", CONN, "eolAt", NAN, None),
    ("connections", CONN, "eolAt", True, None),
    ("connections", CONN, "eolAt", 2.5, 2.0),
    ("connections", CONN, "size", "huge", ""),
    ("connections", CONN, "size", lambda: Array(["large"]), ""),
    ("connections", CONN, "whSide", "c", ""),
    ("connections", CONN, "whSide", "A", ""),
    ("connections", CONN, "whSide", None, ""),
    ("connections", CONN, "sigA", "abc-123", "ABC-123"),
    ("connections", CONN, "sigA", "ABC123", ""),
    ("connections", CONN, "sigB", 123, ""),
    ("connections", CONN, "sigB", "ABC-1234", ""),
    ("connections", CONN, "createdAt", None, 0.0),
    ("connections", CONN, "updatedAt", [1, 2], 0.0),
    # signatures
    ("signatures", SIG, "group", "anomaly", "unknown"),
    ("signatures", SIG, "group", "", "unknown"),
    ("signatures", SIG, "type", {"code": "B274"}, ""),
    ("signatures", SIG, "whType", 274, ""),
    ("signatures", SIG, "whType", LONG, LONG[:100]),
    ("signatures", SIG, "name", LONG, LONG[:100]),
    ("signatures", SIG, "name", 1.0, ""),
    ("signatures", SIG, "createdAt", INF, 0.0),
    ("signatures", SIG, "updatedAt", "x", 0.0),
    ("signatures", SIG, "by", None, ""),
    ("signatures", SIG, "by", LONG, LONG[:100]),
    ("signatures", SIG, "connection", 5, ""),
    ("signatures", SIG, "connection", f"{S1}-{S3}", ""),
    ("signatures", SIG, "connection", "not a key", ""),
]


@pytest.mark.parametrize(("root", "key", "field", "bad", "fixed"), FIELD_CASES)
def test_wrong_field_value_is_corrected(
    chain: Chain, root: str, key: str, field: str, bad: Any, fixed: Any
) -> None:
    value = bad() if callable(bad) else bad
    assert chain.edit(lambda: chain.root(root)[key].__setitem__(field, value)) == 1
    assert same(chain.json()[root][key][field], fixed)
    assert chain.guard.enforce_all() == 0


def test_values_at_the_limits_are_kept(chain: Chain) -> None:
    def edits() -> None:
        chain.root("systems")[str(S1)]["alias"] = "a" * 64
        chain.root("connections")[CONN]["whType"] = "w" * 100
        chain.root("signatures")[SIG]["name"] = "😀" * 100  # counted in characters

    assert chain.edit(edits) == 0


# --- identity fields and keys -----------------------------------------------------------------

IDENTITY_CASES = [
    ("systems", str(S1), "id", S2, float(S1)),
    ("systems", str(S1), "id", str(S1), float(S1)),
    ("systems", str(S1), "id", True, float(S1)),
    ("connections", CONN, "a", S3, float(S1)),
    ("connections", CONN, "b", None, float(S2)),
    ("signatures", SIG, "system", S2, float(S1)),
    ("signatures", SIG, "sig", "abc-123", "ABC-123"),
]


@pytest.mark.parametrize(("root", "key", "field", "bad", "fixed"), IDENTITY_CASES)
def test_identity_field_disagreeing_with_key_is_set_from_key(
    chain: Chain, root: str, key: str, field: str, bad: Any, fixed: Any
) -> None:
    assert chain.edit(lambda: chain.root(root)[key].__setitem__(field, bad)) == 1
    assert same(chain.json()[root][key][field], fixed)


@pytest.mark.parametrize(
    ("root", "key", "missing"),
    [
        ("systems", str(S1), "id"),
        ("connections", CONN, "a"),
        ("connections", CONN, "b"),
        ("signatures", SIG, "system"),
        ("signatures", SIG, "sig"),
    ],
)
def test_missing_identity_field_is_filled(chain: Chain, root: str, key: str, missing: str) -> None:
    assert chain.edit(lambda: chain.root(root)[key].__delitem__(missing)) == 1
    assert missing in chain.json()[root][key]


BAD_KEYS = [
    ("systems", "abc", lambda: system(S3)),
    ("systems", "0", lambda: Map({"id": 0})),
    ("systems", "031000003", lambda: system(S3)),
    ("systems", "-31000003", lambda: system(S3)),
    ("systems", "31000003.0", lambda: system(S3)),
    ("systems", "1234567890123456", lambda: Map({})),
    ("systems", "", lambda: Map({})),
    ("connections", f"{S2}-{S1}", lambda: connection(S2, S1)),
    ("connections", f"{S1}-{S1}", lambda: connection(S1, S1)),
    ("connections", f"{S1}_{S2}", lambda: connection(S1, S2)),
    ("connections", f"{S1}-{S2}-{S3}", lambda: Map({})),
    ("connections", f"0{S1}-{S2}", lambda: connection(S1, S2)),
    ("signatures", f"{S1}:abc-123", lambda: signature(S1, "abc-123")),
    ("signatures", f"{S1}:ABC123", lambda: signature(S1, "ABC123")),
    ("signatures", f"{S1}:ABCD-123", lambda: Map({})),
    ("signatures", "x:ABC-123", lambda: Map({})),
    ("signatures", "ABC-123", lambda: Map({})),
]


@pytest.mark.parametrize(("root", "key", "value"), BAD_KEYS)
def test_malformed_key_is_deleted(chain: Chain, root: str, key: str, value: Any) -> None:
    before = chain.json()[root]
    assert chain.edit(lambda: chain.root(root).__setitem__(key, value())) == 1
    assert chain.json()[root] == before


@pytest.mark.parametrize("root", ["systems", "connections", "signatures"])
@pytest.mark.parametrize("value", [5, "entry", None, lambda: Text("x"), lambda: Array([1])])
def test_entry_that_is_not_a_map_is_deleted(chain: Chain, root: str, value: Any) -> None:
    key = {"systems": str(S3), "connections": f"{S1}-{S3}", "signatures": f"{S2}:XYZ-999"}[root]
    plain = value() if callable(value) else value
    if root == "connections":  # its systems must exist, or it is deleted for that reason
        assert chain.edit(lambda: chain.root("systems").__setitem__(str(S3), system(S3))) == 0
    assert chain.edit(lambda: chain.root(root).__setitem__(key, plain)) == 1
    assert key not in chain.json()[root]


# --- references between entries -------------------------------------------------------------


def test_connection_created_to_missing_system_is_deleted(chain: Chain) -> None:
    key = f"{S1}-{S3}"
    assert chain.edit(lambda: chain.root("connections").__setitem__(key, connection(S1, S3))) == 1
    assert key not in chain.json()["connections"]


def test_connection_created_with_its_system_is_kept(chain: Chain) -> None:
    def edits() -> None:
        chain.root("systems")[str(S3)] = system(S3)
        chain.root("connections")[f"{S1}-{S3}"] = connection(S1, S3)

    assert chain.edit(edits) == 0


def test_removing_a_system_removes_its_connections_and_links(chain: Chain) -> None:
    other = f"{S2}-{S3}"

    def add() -> None:
        chain.root("systems")[str(S3)] = system(S3)
        chain.root("connections")[other] = connection(S2, S3)

    assert chain.edit(add) == 0
    # Deleting S1 takes CONN with it, and the signature's link to CONN is cleared; the signature
    # itself stays (S1 may come back).
    assert chain.edit(lambda: chain.root("systems").__delitem__(str(S1))) == 2
    document = chain.json()
    assert list(document["connections"]) == [other]
    assert document["signatures"][SIG]["connection"] == ""


def test_system_deleted_by_the_guard_removes_its_connections(chain: Chain) -> None:
    # S2 replaced by a plain value: the entry goes, and CONN with it, in the same correction.
    assert chain.edit(lambda: chain.root("systems").__setitem__(str(S2), 42)) == 3
    assert chain.json()["connections"] == {}
    assert chain.json()["signatures"][SIG]["connection"] == ""


def test_concurrent_system_delete_and_connection_create(chain: Chain) -> None:
    # Bob links S3 while Alice (not yet aware) deletes it; the server sees Alice first.
    bob: Doc = Doc()
    bob.apply_update(chain.server.get_update())
    assert chain.edit(lambda: chain.root("systems").__setitem__(str(S3), system(S3))) == 0
    bob.apply_update(chain.server.get_update(bob.get_state()))
    assert chain.edit(lambda: chain.root("systems").__delitem__(str(S3))) == 0
    bob.get("connections", type=Map)[f"{S1}-{S3}"] = connection(S1, S3)
    chain.server.apply_update(bob.get_update(chain.server.get_state()))
    assert chain.guard.enforce() == 1
    bob.apply_update(chain.server.get_update(bob.get_state()))
    assert document_json(bob) == chain.json()
    assert list(chain.json()["connections"]) == [CONN]


def test_removing_a_connection_clears_signature_links(chain: Chain) -> None:
    assert chain.edit(lambda: chain.root("connections").__delitem__(CONN)) == 1
    assert chain.json()["signatures"][SIG]["connection"] == ""


# --- notes ------------------------------------------------------------------------------------


def test_notes_as_plain_string_becomes_text_with_the_string(chain: Chain) -> None:
    assert chain.edit(lambda: chain.root("systems")[str(S1)].__setitem__("notes", "hub")) == 1
    notes = chain.server.get("systems", type=Map)[str(S1)]["notes"]
    assert isinstance(notes, Text) and str(notes) == "hub"


@pytest.mark.parametrize("bad", [5, None, lambda: Map({"a": 1}), lambda: Array(["x"])])
def test_notes_of_another_type_becomes_empty_text(chain: Chain, bad: Any) -> None:
    value = bad() if callable(bad) else bad
    assert chain.edit(lambda: chain.root("systems")[str(S1)].__setitem__("notes", value)) == 1
    notes = chain.server.get("systems", type=Map)[str(S1)]["notes"]
    assert isinstance(notes, Text) and str(notes) == ""


def test_oversized_notes_are_truncated_in_place(chain: Chain) -> None:
    client_notes = chain.root("systems")[str(S1)]["notes"]
    assert chain.edit(lambda: client_notes.insert(0, "é😀" * MAX_NOTES)) == 1
    assert str(client_notes) == ("é😀" * MAX_NOTES)[:MAX_NOTES]
    # The client's Y.Text is still the live one: its next edit lands in the document.
    assert chain.edit(lambda: client_notes.__delitem__(slice(0, len(client_notes)))) == 0
    assert chain.json()["systems"][str(S1)]["notes"] == ""


# --- meta -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "bad", "fixed"),
    [
        ("schema", 2, 1.0),
        ("schema", "1", 1.0),
        ("schema", True, 1.0),
        ("name", 5, ""),
        ("name", LONG, LONG[:100]),
    ],
)
def test_meta_field_is_corrected(chain: Chain, field: str, bad: Any, fixed: Any) -> None:
    assert chain.edit(lambda: chain.root("meta").__setitem__(field, bad)) == 1
    assert same(chain.json()["meta"][field], fixed)


def test_meta_schema_deleted_is_restored(chain: Chain) -> None:
    assert chain.edit(lambda: chain.root("meta").__delitem__("schema")) == 1
    assert chain.json()["meta"]["schema"] == 1


@pytest.mark.parametrize("bad", ["31000001", 1.5, -5, 0, True, None, NAN])
def test_meta_home_that_is_not_a_system_id_is_deleted(chain: Chain, bad: Any) -> None:
    assert chain.edit(lambda: chain.root("meta").__setitem__("home", bad)) == 1
    assert "home" not in chain.json()["meta"]


# --- convergence, idempotence, lifecycle ------------------------------------------------------


def test_corrections_converge_across_replicas() -> None:
    server: Doc = Doc()
    server.apply_update(new_chain_update("c"))
    guard = SchemaGuard(server)
    broadcast: list[bytes] = []
    server.observe(lambda event: broadcast.append(event.update))
    alice: Doc = Doc()
    alice.apply_update(server.get_update())
    carol: Doc = Doc()
    carol.apply_update(server.get_update())

    with alice.transaction():
        alice.get("systems", type=Map)["1"] = Map({"id": 2, "status": "bad", "notes": 3})
        alice.get("connections", type=Map)["1-2"] = Map({"a": 1, "b": 2})
        alice.get("meta", type=Map)["schema"] = 7
    server.apply_update(alice.get_update(server.get_state()))
    assert guard.enforce() == 5
    _, correction = broadcast  # what the room sends to every client: the edit, then the fix
    alice.apply_update(correction)
    for update in broadcast:
        carol.apply_update(update)
    assert document_json(alice) == document_json(server) == document_json(carol)
    assert document_json(server)["systems"]["1"] == {"id": 1, "status": "unknown", "notes": ""}


def test_enforce_is_idempotent_and_ignores_its_own_corrections(chain: Chain) -> None:
    assert chain.edit(lambda: chain.root("systems")[str(S1)].__setitem__("x", "bad")) == 1
    assert chain.guard._touched == set()  # the correction itself left no work behind
    assert chain.guard.enforce() == 0
    assert chain.guard.enforce_all() == 0


def test_enforce_all_corrects_a_loaded_document() -> None:
    loaded: Doc = Doc()
    with loaded.transaction():
        loaded.get("systems", type=Map)["1"] = Map({"id": 1, "locked": "yes"})
        loaded.get("connections", type=Map)["1-2"] = Map({"a": 1, "b": 2})
    server: Doc = Doc()
    server.apply_update(loaded.get_update())
    guard = SchemaGuard(server)
    # meta.schema added, locked fixed, dangling connection dropped.
    assert guard.enforce_all() == 3
    assert guard.enforce_all() == 0
    assert document_json(server)["meta"] == {"schema": 1}


def test_close_stops_watching(chain: Chain) -> None:
    chain.guard.close()
    assert chain.edit(lambda: chain.root("systems")[str(S1)].__setitem__("x", "bad")) == 0


def jumps_of(chain: Chain) -> Array:
    return chain.root("connections")[CONN]["jumps"]


def test_valid_jumps_write_nothing(chain: Chain) -> None:
    chain.server_updates.clear()
    connection = chain.root("connections")[CONN]
    assert chain.edit(lambda: connection.__setitem__("jumps", Array([JUMP]))) == 0
    assert chain.edit(lambda: jumps_of(chain).append({**JUMP, "extra": "kept"})) == 0
    assert chain.edit(lambda: jumps_of(chain).append(Map(JUMP))) == 0
    assert len(chain.server_updates) == 3
    assert len(chain.json()["connections"][CONN]["jumps"]) == 3


@pytest.mark.parametrize(
    "bad",
    [
        5,
        "jump",
        None,
        [1, 2],
        {**JUMP, "mass": "heavy"},
        {**JUMP, "mass": -5.0},
        {**JUMP, "at": True},
        {**JUMP, "shipTypeId": NAN},
        {k: v for k, v in JUMP.items() if k != "characterId"},
    ],
)
def test_a_bad_jump_is_removed(chain: Chain, bad: Any) -> None:
    chain.edit(lambda: chain.root("connections")[CONN].__setitem__("jumps", Array([JUMP])))
    assert chain.edit(lambda: jumps_of(chain).extend([bad, JUMP])) == 1
    assert chain.json()["connections"][CONN]["jumps"] == [JUMP, JUMP]
    assert chain.guard.enforce_all() == 0


@pytest.mark.parametrize("bad", ["many", 3, lambda: Map({"at": 1}), lambda: Text("x")])
def test_jumps_that_are_not_an_array_are_deleted(chain: Chain, bad: Any) -> None:
    value = bad() if callable(bad) else bad
    assert chain.edit(lambda: chain.root("connections")[CONN].__setitem__("jumps", value)) == 1
    assert "jumps" not in chain.json()["connections"][CONN]


def test_jumps_keep_the_newest_200(chain: Chain) -> None:
    first = [{**JUMP, "at": float(at)} for at in range(150)]
    chain.edit(lambda: chain.root("connections")[CONN].__setitem__("jumps", Array(first)))
    more = [{**JUMP, "at": float(at)} for at in range(150, 260)]
    assert chain.edit(lambda: jumps_of(chain).extend([*more[:5], "bad", *more[5:]])) == 61
    kept = chain.json()["connections"][CONN]["jumps"]
    assert [jump["at"] for jump in kept] == list(range(60, 260))


def test_concurrent_jumps_from_two_clients_both_count(chain: Chain) -> None:
    chain.edit(lambda: chain.root("connections")[CONN].__setitem__("jumps", Array([])))
    other: Doc = Doc()
    other.apply_update(chain.client.get_update())
    jumps_of(chain).append({**JUMP, "characterId": 1})
    other.get("connections", type=Map)[CONN]["jumps"].append({**JUMP, "characterId": 2})
    for doc in (chain.client, other):
        chain.server.apply_update(doc.get_update(chain.server.get_state()))
    assert chain.guard.enforce() == 0
    kept = chain.json()["connections"][CONN]["jumps"]
    assert sorted(jump["characterId"] for jump in kept) == [1, 2]


def test_corrections_use_the_schema_origin(chain: Chain) -> None:
    origins: list[Any] = []
    systems = chain.server.get("systems", type=Map)  # a subscription lives as long as its Map
    systems.observe_deep(lambda events, txn: origins.append(txn.origin))
    chain.edit(lambda: chain.root("systems")[str(S1)].__setitem__("x", "bad"))
    assert origins == [None, SCHEMA_ORIGIN]


# --- property: any edits end in a document that a full check finds valid ----------------------


def is_number(value: Any) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def is_integer(value: Any) -> bool:
    return is_number(value) and value == int(value)


def is_string(limit: int) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and len(value) <= limit


def is_one_of(*allowed: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and value in allowed


# Schema 1 written out independently of mapper.chains.schema, to check the guard against.
SPEC: dict[str, dict[str, Callable[[Any], bool]]] = {
    "systems": {
        "x": is_number,
        "y": is_number,
        "alias": is_string(64),
        "status": is_one_of("unknown", "friendly", "hostile", "occupied", "empty"),
        "locked": lambda value: type(value) is bool,
        "notes": is_string(MAX_NOTES),
        "addedAt": is_integer,
        "addedBy": is_string(100),
    },
    "connections": {
        "kind": is_one_of("wormhole", "stargate", "bridge"),
        "whType": is_string(100),
        "whSide": is_one_of("", "a", "b"),
        "sigA": lambda value: value == "" or is_signature_id(value),
        "sigB": lambda value: value == "" or is_signature_id(value),
        "jumps": lambda value: (
            isinstance(value, list) and len(value) <= 200 and all(map(is_jump, value))
        ),
        "mass": is_one_of("fresh", "reduced", "critical"),
        "eol": lambda value: type(value) is bool,
        "eolAt": lambda value: value is None or is_integer(value),
        "size": is_one_of("", "small", "medium", "large", "xlarge", "capital"),
        "createdAt": is_integer,
        "updatedAt": is_integer,
    },
    "signatures": {
        "group": is_one_of("unknown", "wormhole", "combat", "data", "relic", "gas", "ore"),
        "type": is_string(100),
        "whType": is_string(100),
        "name": is_string(100),
        "createdAt": is_integer,
        "updatedAt": is_integer,
        "by": is_string(100),
    },
}


def is_signature_id(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch("[A-Z]{3}-[0-9]{3}", value) is not None


def is_jump(value: Any) -> bool:
    fields = ("at", "characterId", "shipTypeId", "mass")
    return (
        isinstance(value, dict)
        and all(is_number(value.get(field)) for field in fields)
        and value["mass"] >= 0
    )


def identity(root: str, key: str) -> dict[str, Any] | None:
    ident = "[1-9][0-9]{0,14}"
    if root == "systems" and re.fullmatch(ident, key):
        return {"id": int(key)}
    if root == "connections" and (match := re.fullmatch(f"({ident})-({ident})", key)):
        a, b = int(match[1]), int(match[2])
        return {"a": a, "b": b} if a < b else None
    if root == "signatures" and (match := re.fullmatch(f"({ident}):([A-Z]{{3}}-[0-9]{{3}})", key)):
        return {"system": int(match[1]), "sig": match[2]}
    return None


def problems(doc: Doc) -> list[str]:
    found = []
    data = document_json(doc)
    meta = data["meta"]
    if meta.get("schema") != 1 or type(meta["schema"]) is bool:
        found.append("meta.schema")
    if "name" in meta and not is_string(100)(meta["name"]):
        found.append("meta.name")
    if "home" in meta and not (is_integer(meta["home"]) and meta["home"] > 0):
        found.append("meta.home")
    for root, spec in SPEC.items():
        for key, entry in data[root].items():
            expected = identity(root, key)
            if expected is None or not isinstance(entry, dict):
                found.append(f"{root}[{key!r}]")
                continue
            for field, value in expected.items():
                if not same(entry.get(field), float(value) if field != "sig" else value):
                    found.append(f"{root}[{key!r}].{field}")
            found += [
                f"{root}[{key!r}].{field}"
                for field, valid in spec.items()
                if field in entry and not valid(entry[field])
            ]
    for key in data["connections"]:
        ends = identity("connections", key)
        if ends and not {str(ends["a"]), str(ends["b"])} <= data["systems"].keys():
            found.append(f"connections[{key!r}] dangles")
    for key, entry in data["signatures"].items():
        if entry.get("connection", "") not in ("", *data["connections"]):
            found.append(f"signatures[{key!r}].connection")
    for key, entry in data["systems"].items():
        if "notes" in entry and not isinstance(doc.get("systems", type=Map)[key]["notes"], Text):
            found.append(f"systems[{key!r}].notes is no Y.Text")
    return found


SYSTEM_KEYS = ["1", "2", "3", "1", "2", "3", "0", "01", "x"]
CONNECTION_KEYS = ["1-2", "2-3", "1-3", "1-2", "2-3", "1-3", "2-1", "1-x", "9-10"]
SIGNATURE_KEYS = ["1:ABC-123", "2:XYZ-999", "1:ABC-123", "2:XYZ-999", "1:abc-123", "3:AB-123"]
KEYS = {"systems": SYSTEM_KEYS, "connections": CONNECTION_KEYS, "signatures": SIGNATURE_KEYS}
FIELDS = [
    *("id", "x", "y", "alias", "status", "locked", "notes", "addedAt", "addedBy"),
    *("a", "b", "kind", "whType", "mass", "eol", "eolAt", "size", "createdAt", "updatedAt"),
    *("whSide", "sigA", "sigB", "jumps"),
    *("system", "sig", "group", "type", "name", "connection", "by", "extra"),
]
WORDS = [
    "",
    "unknown",
    "hostile",
    "wormhole",
    "fresh",
    "large",
    "data",
    "ABC-123",
    "abc-123",
    "a",
    "b",
    *CONNECTION_KEYS,
]

values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**31), 2**31),
    st.sampled_from([0, 1, 2, 3, 1.5, 1.7e12]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(WORDS),
    st.text(max_size=3),
    st.just("y" * 120),
    st.sampled_from(["<map>", "<text>", "<jumps>"]),
)
fields = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)
entry_ops = st.sampled_from(list(KEYS)).flatmap(
    lambda root: st.one_of(
        st.tuples(st.just("put"), st.just(root), st.sampled_from(KEYS[root]), fields),
        st.tuples(
            st.just("set"),
            st.just(root),
            st.sampled_from(KEYS[root]),
            st.sampled_from(FIELDS),
            values,
        ),
        st.tuples(st.just("plain"), st.just(root), st.sampled_from(KEYS[root]), values),
        st.tuples(st.just("delete"), st.just(root), st.sampled_from(KEYS[root])),
        st.tuples(
            st.just("append"),
            st.just(root),
            st.sampled_from(KEYS[root]),
            st.lists(st.one_of(st.just(JUMP), values), max_size=3),
        ),
    )
)
meta_ops = st.tuples(
    st.just("set"),
    st.just("meta"),
    st.just(""),
    st.sampled_from(["schema", "name", "home"]),
    values,
)
ops = st.one_of(entry_ops, meta_ops)
# x and y set together, as a drag sets them; mostly to numbers.
coordinates = st.one_of(
    st.integers(-(2**31), 2**31), st.floats(allow_nan=False, allow_infinity=False), values
)
drag_ops = st.sampled_from(list(KEYS)).flatmap(
    lambda root: st.tuples(
        st.just("drag"), st.just(root), st.sampled_from(KEYS[root]), coordinates, coordinates
    )
)
# (which client, its edits in one transaction, whether it then hears back from the server)
batches = st.lists(
    st.tuples(st.integers(0, 1), st.lists(ops, min_size=1, max_size=5), st.booleans()),
    min_size=1,
    max_size=8,
)


def realize(value: Any) -> Any:
    if value == "<map>":
        return Map({"x": 1})
    if value == "<text>":
        return Text("t")
    if value == "<jumps>":
        return Array([JUMP, {"at": "x"}, 5, Map(JUMP), {**JUMP, "mass": -1}])
    return value


def apply_op(doc: Doc, op: tuple[Any, ...]) -> None:
    kind, root_name, key, *rest = op
    root = doc.get(root_name, type=Map)
    if kind == "put":
        root[key] = Map({field: realize(value) for field, value in rest[0].items()})
    elif kind == "plain":
        root[key] = realize(rest[0])
    elif kind == "delete":
        root.pop(key, None)
    elif kind == "drag":
        if isinstance(root.get(key), Map):
            root[key].update({"x": realize(rest[0]), "y": realize(rest[1])})
    elif kind == "append":
        jumps = root[key].get("jumps") if isinstance(root.get(key), Map) else None
        if isinstance(jumps, Array):
            jumps.extend([realize(value) for value in rest[0]])
    elif root_name == "meta":
        root[rest[0]] = realize(rest[1])
    elif isinstance(root.get(key), Map):
        root[key][rest[0]] = realize(rest[1])


def _small_chain() -> Doc:
    """A valid chain whose entries the generated edits name."""
    doc: Doc = Doc()
    doc.apply_update(new_chain_update("c"))
    with doc.transaction():
        for system_id in (1, 2, 3):
            doc.get("systems", type=Map)[str(system_id)] = system(system_id)
        doc.get("connections", type=Map)["1-2"] = connection(1, 2)
        doc.get("connections", type=Map)["2-3"] = connection(2, 3)
        doc.get("signatures", type=Map)["1:ABC-123"] = signature(1, "ABC-123", connection="1-2")
    return doc


def test_spec_check_sees_violations() -> None:
    doc: Doc = Doc()
    with doc.transaction():
        doc.get("meta", type=Map)["schema"] = 1
        doc.get("systems", type=Map)["1"] = Map({"id": 1, "x": True, "notes": "plain"})
        doc.get("connections", type=Map)["1-2"] = Map({"a": 1, "b": 2})
        doc.get("signatures", type=Map)["1:ABC-123"] = Map({"connection": "2-3"})
    assert sorted(problems(doc)) == [
        "connections['1-2'] dangles",
        "signatures['1:ABC-123'].connection",
        "signatures['1:ABC-123'].sig",
        "signatures['1:ABC-123'].system",
        "systems['1'].notes is no Y.Text",
        "systems['1'].x",
    ]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches)
def test_any_edits_end_valid_and_converged(batches: list[Any]) -> None:
    server = _small_chain()
    guard = SchemaGuard(server)
    assert problems(server) == [] and guard.enforce_all() == 0
    clients: list[Doc] = [Doc(), Doc()]
    for client in clients:
        client.apply_update(server.get_update())
    for index, batch, hears_back in batches:
        client = clients[index]
        with client.transaction():
            for op in batch:
                apply_op(client, op)
        server.apply_update(client.get_update(server.get_state()))
        guard.enforce()
        assert problems(server) == []
        # The incremental check found everything a full check would.
        assert guard.enforce_all() == 0
        if hears_back:
            client.apply_update(server.get_update(client.get_state()))
    for client in clients:
        client.apply_update(server.get_update(client.get_state()))
        assert document_json(client) == document_json(server)


async def test_an_update_from_another_process_is_held_to_the_schema() -> None:
    """Two processes each accept a valid edit (one deletes a system, the other connects it);
    the one that receives the other's edit as a remote update corrects the result."""
    from mapper.core.metrics import Metrics
    from mapper.rooms import fanout
    from mapper.rooms.room import Room

    stored: list[bytes] = []
    room = Room(
        "chain",
        metrics=Metrics(),
        store_update=lambda key, u: stored.append(u),
        make_guard=SchemaGuard,
        clock=SystemClock(),
    )
    peer: Doc = Doc()
    with peer.transaction():
        peer.get("meta", type=Map).update({"schema": 1, "name": "Home"})
        peer.get("systems", type=Map).update(
            {"31000001": system(31000001), "31000002": system(31000002)}
        )
    room.load([peer.get_update()])
    await room.survey()
    list(room.check_stored())
    room.edit(lambda doc: doc.get("systems", type=Map).pop("31000002"))
    before = peer.get_state()
    peer.get("connections", type=Map)["31000001-31000002"] = connection(31000001, 31000002)

    room.apply_remote(b"peer", fanout.UPDATE, peer.get_update(before))

    assert "31000001-31000002" not in room.doc.get("connections", type=Map)
    assert stored, "the correction is stored like any change"


class _RoomClient:
    """A client of a room in this process: its edits go in as a Yjs client sends them, each
    transaction's own update, through `Room.receive`."""

    def __init__(self, room: Room, metrics: Metrics) -> None:
        self.room = room
        self.doc: Doc = Doc()
        self.doc.apply_update(room.doc.get_update())
        self._sent: list[bytes] = []
        self.doc.observe(lambda event: self._sent.append(event.update))
        identity = Identity("scout", "scout", False, (), time.time() + 3600)
        rate = TokenBucket(1e9, 10**9, time.monotonic)
        self.connection = Connection(
            identity, "editor", queue_bytes=1 << 20, rate=rate, metrics=metrics
        )

    def edit(self, change: Callable[[Doc], object]) -> None:
        with self.doc.transaction():
            change(self.doc)
        for update in self._sent:
            for message in protocol.read_frame(protocol.create_update_message(update)):
                self.room.receive(self.connection, message)
        self._sent.clear()

    def hear_back(self) -> None:
        self.doc.apply_update(self.room.doc.get_update(self.doc.get_state()))
        self._sent.clear()


async def _chain_room(metrics: Metrics) -> Room:
    """A room holding `_small_chain`, surveyed and checked as a service's is."""
    room = Room(
        "chain", metrics=metrics, store_update=None, make_guard=SchemaGuard, clock=SystemClock()
    )
    room.load([_small_chain().get_update()])
    await room.survey()
    list(room.check_stored())
    return room


def test_number_fields_take_any_finite_number_wherever_they_sit() -> None:
    """What the room relies on to let the guard skip a drag (`SchemaGuard.number_fields`)."""
    from mapper.chains import schema

    rules = (schema.SYSTEM_RULES, schema.CONNECTION_RULES, schema.SIGNATURE_RULES)
    entry_fields = set().union(*schema._ENTRY_FIELDS.values())
    for field in SchemaGuard.number_fields:
        assert all(root.get(field, schema.number) is schema.number for root in rules)
        assert field not in entry_fields and field not in schema.JUMP_FIELDS


def test_a_drag_goes_in_without_the_guard_looking() -> None:
    metrics = Metrics()
    room = asyncio.run(_chain_room(metrics))
    assert room.guard is not None
    looked: list[str] = []
    room.guard._note_touched = lambda root, events: looked.append(root)  # type: ignore[attr-defined]
    scout = _RoomClient(room, metrics)
    scout.edit(lambda doc: doc.get("systems", type=Map)["1"].update({"x": 5, "y": 6.5}))
    assert looked == []
    assert room.doc.get("systems", type=Map)["1"]["x"] == 5
    scout.edit(lambda doc: doc.get("systems", type=Map)["1"].update({"x": 7, "alias": "a"}))
    assert looked == ["systems"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.integers(0, 1),
            st.lists(st.one_of(ops, drag_ops), min_size=1, max_size=3)
            | st.lists(drag_ops, min_size=1, max_size=2),
            st.booleans(),
        ),
        min_size=1,
        max_size=10,
    )
)
def test_what_a_room_takes_unlooked_at_keeps_the_schema(batches: list[Any]) -> None:
    """The room lets the guard skip an update that only sets number fields (a drag): whatever
    clients send, the document stays valid and a full check finds nothing to correct."""
    metrics = Metrics()
    room = asyncio.run(_chain_room(metrics))
    assert room.guard is not None
    clients = [_RoomClient(room, metrics), _RoomClient(room, metrics)]
    for index, batch, hears_back in batches:

        def change(doc: Doc, batch: list[Any] = batch) -> None:
            for op in batch:
                apply_op(doc, op)

        clients[index].edit(change)
        assert problems(room.doc) == []
        assert room.guard.enforce_all() == 0
        if hears_back:
            clients[index].hear_back()

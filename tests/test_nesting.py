"""The nesting check on its own: every honest update is placed exactly, nothing too deep gets
through, and the awareness table forgets what it no longer needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, write_var_uint

from mapper.core.protocol import RawAwarenessEntry
from mapper.persistence.nesting import (
    MAX_DEPTH,
    Nesting,
    NestingError,
    read_structs,
    repair,
    survey,
)
from mapper.presence.awareness import RoomAwareness
from tests.chains import meta_edits

# One edit: (root, path of keys below it, what to do there).
values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
edits = st.lists(
    st.tuples(
        st.sampled_from(["systems", "meta"]),
        st.lists(st.sampled_from(["a", "b", "c"]), max_size=4),
        st.sampled_from(["map", "text", "array", "value", "delete", "type-text"]),
        values,
        st.text(alphabet="aé😀 \n", max_size=6),
    ),
    min_size=1,
    max_size=25,
)


def _apply(doc: Doc, root: str, path: list[str], action: str, value: Any, text: str) -> None:
    current: Map = doc.get(root, type=Map)
    for key in path:
        inner = current.get(key)
        if not isinstance(inner, Map):
            current[key] = inner = Map()
        current = inner
    leaf = "leaf"
    if action == "map":
        current[leaf] = Map({"v": value})
    elif action == "text":
        current[leaf] = Text(text)
    elif action == "type-text":
        existing = current.get("notes")
        if isinstance(existing, Text):
            existing.insert(0, text)  # at the start: byte offsets never split a character
        else:
            current["notes"] = Text(text)
    elif action == "array":
        existing = current.get("list")
        if isinstance(existing, Array):
            existing.append(value)
        else:
            current["list"] = Array([value, Map({"k": 1})])
    elif action == "value":
        current[leaf] = value
    elif leaf in current:
        del current[leaf]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits, edits)
def test_honest_updates_are_placed_and_accepted(first: list[Any], second: list[Any]) -> None:
    """Two replicas edit concurrently; whatever each sends the other is accepted, and the
    index read from the whole document agrees with the one built update by update."""
    server: Doc = Doc()
    index = Nesting()
    replicas: list[Doc] = [Doc(), Doc()]
    for replica, script in zip(replicas, (first, second), strict=True):
        for edit in script:
            with replica.transaction():
                _apply(replica, *edit)
    for replica in replicas:
        update = replica.get_update(server.get_state())
        placed = index.check(update)  # refuses what nests deeper than MAX_DEPTH
        server.apply_update(update)
        index.add(placed)
    whole = survey(server.get_update())
    assert whole.too_deep == []
    assert len(whole.nesting) <= len(index) + len(read_structs(server.get_update()))


def test_values_nested_too_deep_are_refused() -> None:
    doc: Doc = Doc()
    value: Any = 1
    for _ in range(40):
        value = [value]
    doc.get("meta", type=Map)["deep"] = value
    with pytest.raises(NestingError, match="value nests deeper"):
        Nesting().check(doc.get_update())


def test_an_update_that_hangs_on_missing_content_is_refused() -> None:
    doc: Doc = Doc()
    systems = doc.get("systems", type=Map)
    systems["1"] = Map()
    before = doc.get_state()
    systems["1"]["inner"] = Map()
    with pytest.raises(NestingError, match="does not have"):
        Nesting().check(doc.get_update(before))


def test_truncated_and_trailing_bytes_are_refused() -> None:
    doc: Doc = Doc()
    doc.get("meta", type=Map)["name"] = "home"
    update = doc.get_update()
    unknown_value_tag = bytes.fromhex("0101010008010161018000")
    for broken in (update[:-3], update + b"\x00", b"\xff" * 12, unknown_value_tag):
        with pytest.raises(NestingError):
            Nesting().check(broken)


def test_repair_keeps_the_allowed_levels() -> None:
    doc: Doc = Doc()
    current = doc.get("systems", type=Map)
    with doc.transaction():
        for key in ["1", *["deep"] * 300]:
            current[key] = Map({"n": 1})
            current = current[key]
    found = survey(doc.get_update())
    assert len(found.too_deep) == 2 * (301 - MAX_DEPTH + 1)  # each map and its field
    repair(doc, found.too_deep)
    assert survey(doc.get_update()).too_deep == []
    current, depth = doc.get("systems", type=Map), 1
    while isinstance(inner := current.get("1" if depth == 1 else "deep"), Map):
        current, depth = inner, depth + 1
    assert depth == MAX_DEPTH


def test_awareness_tombstones_are_forgotten_after_the_timeout() -> None:
    now = [0.0]
    awareness = RoomAwareness(lambda: now[0])
    owner = object()
    for client_id in range(1, 9):
        awareness.apply(owner, [RawAwarenessEntry(client_id, 1, b"{}")], {"id": "u"})
    awareness.remove_owner(owner)
    assert len(awareness) == 8
    now[0] = 10.0
    awareness.expire(30.0)
    assert len(awareness) == 8, "a tombstone outlives a late relay"
    now[0] = 31.0
    awareness.expire(30.0)
    assert len(awareness) == 0


def test_yrs_shows_an_entry_after_a_clock_gap_without_emitting_it() -> None:
    """Why the room refuses updates that skip clocks: yrs makes the entry visible (and a full
    state carries it to late joiners) while the transaction's update, which the room stores
    and broadcasts, is empty. If this ever stops holding, the refusal is still right."""
    updates = meta_edits("first", "second", "third")
    live: Doc = Doc()
    emitted: list[bytes] = []
    live.observe(lambda event: emitted.append(event.update))
    live.apply_update(updates[0])
    index = Nesting()
    index.record(updates[0])
    with pytest.raises(NestingError, match="does not have"):
        index.check(updates[2])
    live.apply_update(updates[2])
    replayed: Doc = Doc()
    for update in emitted:
        replayed.apply_update(update)
    assert "third" in live.get("meta", type=Map).to_py()
    assert "third" not in replayed.get("meta", type=Map).to_py()


NUMBER_FIELDS = frozenset({"x", "y"})


class _Scout:
    """A client document that sends each transaction's own update, as a Yjs client does."""

    def __init__(self) -> None:
        self.doc: Doc = Doc(client_id=7)
        self.sent: list[bytes] = []
        self.doc.observe(lambda event: self.sent.append(event.update))

    def edit(self, change: Callable[[Map[Any]], object], root: str = "systems") -> bytes:
        with self.doc.transaction():
            change(self.doc.get(root, type=Map))
        return self.sent[-1]


def _only_numbers(index: Nesting, update: bytes) -> bool:
    placed = index.check(update)
    index.add(placed)
    return placed.only_number_fields


def _set(key: str, **fields: Any) -> Callable[[Map[Any]], None]:
    return lambda root: root[key].update(fields)


def test_a_drag_sets_only_number_fields() -> None:
    scout, index = _Scout(), Nesting(NUMBER_FIELDS)
    created = scout.edit(lambda systems: systems.update({"1": Map({"id": 1, "x": 0, "y": 0})}))
    assert index.check(created).number_fields == [False, False, True, True]
    assert not _only_numbers(index, created)
    assert _only_numbers(index, scout.edit(_set("1", x=10.5, y=-3)))
    assert _only_numbers(index, scout.edit(_set("1", x=1e300)))
    assert _only_numbers(index, scout.edit(lambda systems: systems["1"].pop("y")))
    assert _only_numbers(index, scout.edit(_set("1", y=7)))


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), True, "far", None, [1], {"a": 1}]
)
def test_a_value_that_is_not_a_finite_number_is_looked_at(value: Any) -> None:
    scout, index = _Scout(), Nesting(NUMBER_FIELDS)
    _only_numbers(index, scout.edit(lambda systems: systems.update({"1": Map({"x": 0})})))
    assert not _only_numbers(index, scout.edit(_set("1", x=value)))
    # The field is still a number field: a number set over the odd value is a drag again.
    assert _only_numbers(index, scout.edit(_set("1", x=4)))


def test_other_fields_and_deletions_are_looked_at() -> None:
    scout, index = _Scout(), Nesting(NUMBER_FIELDS)
    created = scout.edit(lambda systems: systems.update({"1": Map({"id": 1, "x": 0, "name": ""})}))
    _only_numbers(index, created)
    assert not _only_numbers(index, scout.edit(_set("1", x=2, name="J123")))
    assert not _only_numbers(index, scout.edit(lambda systems: systems["1"].pop("id")))
    assert not _only_numbers(index, scout.edit(lambda systems: systems.pop("1")))
    # A root's own fields are never number fields: `meta` is a root.
    meta = scout.edit(lambda meta: meta.update({"x": 1}), root="meta")
    assert not _only_numbers(index, meta)
    assert not _only_numbers(index, scout.edit(lambda meta: meta.update({"x": 2}), root="meta"))


def test_an_item_beside_another_field_is_not_in_a_number_field() -> None:
    """An item that names no parent takes its neighbour's parent and key: a number written
    beside `name`, as a hostile client may write it, sets `name`."""
    scout, index = _Scout(), Nesting(NUMBER_FIELDS)
    _only_numbers(index, scout.edit(lambda systems: systems.update({"1": Map({"x": 0})})))
    named = scout.edit(_set("1", name="J123"))
    dragged = scout.edit(_set("1", x=1))
    for update in (named, dragged):
        _only_numbers(index, update)
    (name,) = read_structs(named)
    (x,) = read_structs(dragged)
    beside_name = _beside((name.client, name.clock), client=8)
    assert not _only_numbers(index, beside_name)
    assert _only_numbers(index, _beside((x.client, x.clock), client=9))


def _beside(origin: tuple[int, int], client: int) -> bytes:
    """An update of one item: the number 5 to the right of `origin`, naming no parent."""
    any_content, has_origin, var_int = 8, 0x80, 125
    return b"".join(
        [
            *map(write_var_uint, (1, 1, client, 0)),  # one client, one struct, at clock 0
            bytes([has_origin | any_content]),
            *map(write_var_uint, origin),
            write_var_uint(1),  # one value
            bytes([var_int, 5]),
            write_var_uint(0),  # no deletions
        ]
    )

"""`mapper.rooms.room.apply_update` calls pycrdt's native layer itself; these hold it to what
pycrdt's own `Doc.apply_update` does, so that a pycrdt release that moves those internals fails
here, loudly, rather than in a room."""

from __future__ import annotations

from typing import Any

import pytest
from pycrdt import Array, Doc, Map, Text, TransactionEvent

from mapper.rooms.room import apply_update


def _edits() -> list[bytes]:
    """A few updates of one client: a new nested entry, field changes, text, an array, deletes."""
    client = Doc()
    systems = client.get("systems", type=Map)
    updates: list[bytes] = []

    def step(change: Any) -> None:
        before = client.get_state()
        with client.transaction():
            change()
        updates.append(client.get_update(before))

    step(lambda: systems.__setitem__("31000001", Map({"x": 0, "y": 0, "notes": Text("hi")})))
    step(lambda: systems["31000001"].update({"x": 10, "y": 20}))
    step(lambda: systems["31000001"]["notes"].insert(2, " there"))
    step(lambda: systems["31000001"].__setitem__("jumps", Array([1, 2, 3])))
    step(lambda: systems.pop("31000001"))
    return updates


def test_the_document_and_its_observers_see_what_pycrdt_shows_them() -> None:
    ours, theirs = Doc(), Doc()
    seen: dict[str, list[tuple[bytes, list[Any]]]] = {"ours": [], "theirs": []}
    for name, doc in (("ours", ours), ("theirs", theirs)):
        events: list[Any] = []

        def on_change(
            event: TransactionEvent, name: str = name, events: list[Any] = events
        ) -> None:
            seen[name].append((event.update, [(e.path, e.keys) for e in events]))
            events.clear()

        doc.observe(on_change)
        doc.get("systems", type=Map).observe_deep(events.extend)
    for update in _edits():
        apply_update(ours, update)
        theirs.apply_update(update)
        assert ours.get_state() == theirs.get_state()
        assert ours.get("systems", type=Map).to_py() == theirs.get("systems", type=Map).to_py()
    assert seen["ours"] == seen["theirs"]
    assert len(seen["ours"]) == len(_edits())
    assert ours._txn is None


def test_an_observer_may_read_in_the_running_transaction() -> None:
    doc = Doc()
    systems = doc.get("systems", type=Map)
    read: list[Any] = []

    def on_events(events: list[Any]) -> None:
        with doc.transaction():  # the running one: it must not end here
            read.append(systems.to_py())

    systems.observe_deep(on_events)
    first, second, *_ = _edits()
    apply_update(doc, first)
    apply_update(doc, second)
    assert [entry["31000001"]["x"] for entry in read] == [0, 10]
    assert doc._txn is None


def test_an_observers_error_comes_after_the_update_is_in() -> None:
    doc = Doc()
    fail = [True]

    def on_change(event: TransactionEvent) -> None:
        if fail[0]:
            raise ValueError("observer broke")

    doc.observe(on_change)
    first, second, *_ = _edits()
    with pytest.raises(ExceptionGroup) as raised:
        apply_update(doc, first)
    assert isinstance(raised.value.exceptions[0], ValueError)
    assert "31000001" in doc.get("systems", type=Map)
    fail[0] = False
    apply_update(doc, second)  # nothing left over from the failure
    assert doc.get("systems", type=Map)["31000001"]["x"] == 10


def test_bytes_that_do_not_decode_leave_the_document_usable() -> None:
    for garbage in (b"\xff\xff\xff", b"\x01\x01\x05\x05\x28\x01"):
        doc, reference = Doc(), Doc()
        with pytest.raises(BaseException):  # noqa: B017 - pycrdt may panic: a BaseException
            reference.apply_update(garbage)
        with pytest.raises(BaseException):  # noqa: B017
            apply_update(doc, garbage)
        assert doc._txn is None
        for update in _edits()[:2]:
            apply_update(doc, update)
        assert doc.get("systems", type=Map)["31000001"]["y"] == 20


def test_inside_a_transaction_it_is_pycrdts_own_apply() -> None:
    doc = Doc()
    first, second, *_ = _edits()
    with doc.transaction():
        apply_update(doc, first)
        apply_update(doc, second)
    assert doc.get("systems", type=Map)["31000001"]["x"] == 10

"""The native build of the wire format (setup.py compiles mapper/core/protocol.py with mypyc)
answers exactly as the Python module it is compiled from: for honest frames, for honest frames
with bytes changed, cut or added, and for random bytes; and it writes the same bytes."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from mapper.core import protocol
from tests.native_builds import damaged, native, reference

REFERENCE = reference(protocol)
NATIVE = native(protocol)
BUILDS = (REFERENCE, NATIVE)


def _message(message: Any) -> tuple[Any, ...]:
    kind = type(message).__name__
    if kind == "SyncMessage":
        return (kind, message.kind, message.payload)
    if kind == "AwarenessMessage":
        return (kind, message.payload, _awareness(message.payload))
    if kind == "AuthMessage":
        return (kind, message.reason)
    return (kind,)


def _awareness(payload: bytes) -> tuple[Any, ...]:
    """What the awareness reader makes of a payload, in either build."""
    outcomes = []
    for module in BUILDS:
        try:
            count, entries = module.read_awareness(payload)
            read = [(e.client_id, e.clock, e.json, e.leaves, _state(e)) for e in entries]
            outcomes.append(("read", count, read))
        except module.ProtocolError as error:
            outcomes.append(("refused", str(error)))
    assert outcomes[0] == outcomes[1]
    return tuple(outcomes[0])


def _state(entry: Any) -> Any:
    try:
        return entry.state()
    except ValueError as error:  # ProtocolError, of whichever build
        return ("refused", type(error).__name__, str(error))


def _same_reading(frame: bytes) -> None:
    outcomes = []
    for module in BUILDS:
        try:
            outcomes.append(("read", [_message(m) for m in module.read_frame(frame)]))
        except module.ProtocolError as error:
            outcomes.append(("refused", str(error)))
    assert outcomes[0] == outcomes[1]


def _honest_frames(names: list[str]) -> list[bytes]:
    doc: Doc = Doc(client_id=7)
    systems = doc.get("systems", type=Map)
    frames = [REFERENCE.create_sync_step1_message(doc.get_state())]
    for name in names:
        before = doc.get_state()
        systems[name] = Map({"name": name, "x": len(name)})
        frames.append(REFERENCE.create_update_message(doc.get_update(before)))
    frames.append(REFERENCE.create_sync_step2_message(doc.get_update()))
    entry = REFERENCE.AwarenessEntry(7, 3, {"user": {"name": "scout"}, "names": names})
    frames.append(REFERENCE.encode_awareness([entry]))
    frames.append(REFERENCE.permission_denied_message("read-only"))
    frames.append(bytes([REFERENCE.MESSAGE_QUERY_AWARENESS]))
    return frames


names = st.lists(st.text(max_size=150), max_size=4)


def test_the_builds_are_different_code() -> None:
    assert REFERENCE.SyncMessage is not NATIVE.SyncMessage
    assert NATIVE.__file__.endswith(".so")


@settings(max_examples=100, deadline=None)
@given(names)
def test_honest_frames(names: list[str]) -> None:
    frames = _honest_frames(names)
    for frame in [*frames, b"".join(frames)]:
        _same_reading(frame)


@settings(max_examples=300, deadline=None)
@given(names, st.data())
def test_changed_frames(names: list[str], data: st.DataObject) -> None:
    frames = _honest_frames(names)
    _same_reading(damaged(data, data.draw(st.sampled_from(frames))))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_random_bytes(frame: bytes) -> None:
    _same_reading(frame)
    _awareness(frame)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=70_000), st.text(max_size=200), st.integers(0, 2**53))
def test_the_same_bytes_are_written(payload: bytes, text: str, number: int) -> None:
    for write in ("create_update_message", "create_sync_step1_message", "binary_frame"):
        assert getattr(REFERENCE, write)(payload) == getattr(NATIVE, write)(payload)
    assert REFERENCE.permission_denied_message(text) == NATIVE.permission_denied_message(text)
    entries = [(number, number % 1000, {"name": text}), (1, 0, None)]
    assert REFERENCE.encode_awareness(
        [REFERENCE.AwarenessEntry(*entry) for entry in entries]
    ) == NATIVE.encode_awareness([NATIVE.AwarenessEntry(*entry) for entry in entries])

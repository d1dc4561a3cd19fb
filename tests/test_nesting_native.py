"""The native build of the nesting check (setup.py compiles persistence/nesting.py with mypyc)
answers exactly as the Python module it is compiled from: for honest updates, for honest
updates with bytes changed, cut or added, and for random bytes."""

from __future__ import annotations

from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from mapper.persistence import nesting
from tests.native_builds import damaged, native, reference
from tests.test_nesting import _apply, edits

REFERENCE = reference(nesting)
NATIVE = native(nesting)


# Keys the edits set to every kind of value: both builds tell the same items apart.
NUMBER_FIELDS = frozenset({"leaf", "v", "k"})


def _fields(struct: Any) -> tuple[Any, ...]:
    s = struct
    return (
        *(s.client, s.clock, s.length, s.kind, s.root, s.parent, s.origin, s.right),
        *(s.value_depth, s.number, s.number_field),
    )


def _too_deep(module: ModuleType, state: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    return [(level, _fields(struct)) for level, struct in module.survey(state).too_deep]


def _outcome(index: Any, update: bytes) -> tuple[Any, ...]:
    try:
        placed = index.check(update)
    except Exception as error:
        return (type(error).__name__, str(error))
    structs = [_fields(struct) for struct in placed.structs]
    numbers = (list(placed.number_fields), placed.only_number_fields)
    return ("placed", structs, list(placed.levels), dict(placed.basis), placed.all_new, numbers)


def _same_answer(state: list[bytes], update: bytes) -> None:
    """Both builds, with an index of `state`, answer `update` the same; the update is then
    added to both when it was placed."""
    outcomes = []
    for module in (REFERENCE, NATIVE):
        index = module.Nesting(NUMBER_FIELDS)
        for known in state:
            index.record(known)
        outcomes.append(_outcome(index, update))
    assert outcomes[0] == outcomes[1]


def _honest(first: list[Any], second: list[Any]) -> tuple[list[bytes], bytes]:
    """The updates that made a document, and a concurrent replica's update to it."""
    # Fixed client ids: the same edits make the same bytes, as hypothesis needs to replay them.
    server: Doc = Doc(client_id=1)
    replica: Doc = Doc(client_id=2)
    for edit in first:
        with server.transaction():
            _apply(server, *edit)
    for edit in second:
        with replica.transaction():
            _apply(replica, *edit)
    return [server.get_update()], replica.get_update()


def test_the_install_uses_the_native_build() -> None:
    assert nesting.NATIVE, "persistence/nesting.py changed since the install: reinstall"
    assert nesting.Nesting is NATIVE.Nesting
    assert nesting.NestingError is NATIVE.NestingError
    assert REFERENCE.NATIVE is False


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits, edits)
def test_honest_updates(first: list[Any], second: list[Any]) -> None:
    state, update = _honest(first, second)
    _same_answer(state, update)
    _same_answer([], state[0])
    assert _too_deep(REFERENCE, state[0]) == _too_deep(NATIVE, state[0])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits, edits, st.data())
def test_changed_updates(first: list[Any], second: list[Any], data: st.DataObject) -> None:
    state, update = _honest(first, second)
    _same_answer(state, damaged(data, update))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_bytes(update: bytes) -> None:
    _same_answer([], update)


def test_deep_nesting_and_deep_values() -> None:
    doc: Doc = Doc()
    current = doc.get("systems", type=Map)
    for _ in range(40):
        current["inner"] = inner = Map()
        current = inner
    value: Any = 1
    for _ in range(40):
        value = [value, {"k": value}] if isinstance(value, int) else [value]
    doc.get("meta", type=Map)["deep"] = value
    update = doc.get_update()
    _same_answer([], update)
    assert _too_deep(REFERENCE, update) == _too_deep(NATIVE, update) != []

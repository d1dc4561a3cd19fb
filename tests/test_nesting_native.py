"""The native build of the nesting check (setup.py compiles persistence/nesting.py with mypyc)
answers exactly as the Python module it is compiled from: for honest updates, for honest
updates with bytes changed, cut or added, and for random bytes."""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycrdt import Doc, Map

from mapper.persistence import nesting
from tests.test_nesting import _apply, edits

SOURCE = Path(nesting.__file__)


def _reference() -> ModuleType:
    """The module's text run as Python, under a name of its own (so it keeps its own names)."""
    spec = importlib.util.spec_from_file_location("nesting_reference", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _native() -> ModuleType:
    try:
        return importlib.import_module("mapper.persistence.nesting_native")
    except ImportError:
        if os.environ.get("CI"):
            raise  # CI has a C compiler: a missing build is a broken install
        pytest.skip("no native build here: `pip install -e .` with a C compiler makes one")


REFERENCE = _reference()
NATIVE = _native()


def _fields(struct: Any) -> tuple[Any, ...]:
    s = struct
    return (s.client, s.clock, s.length, s.kind, s.root, s.parent, s.origin, s.right, s.value_depth)


def _too_deep(module: ModuleType, state: bytes) -> list[tuple[int, tuple[Any, ...]]]:
    return [(level, _fields(struct)) for level, struct in module.survey(state).too_deep]


def _outcome(index: Any, update: bytes) -> tuple[Any, ...]:
    try:
        placed = index.check(update)
    except Exception as error:
        return (type(error).__name__, str(error))
    structs = [_fields(struct) for struct in placed.structs]
    return ("placed", structs, list(placed.levels), dict(placed.basis), placed.all_new)


def _same_answer(state: list[bytes], update: bytes) -> None:
    """Both builds, with an index of `state`, answer `update` the same; the update is then
    added to both when it was placed."""
    outcomes = []
    for module in (REFERENCE, NATIVE):
        index = module.Nesting()
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
    changed = bytearray(update)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(changed)))
        how = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if how == "set" and where < len(changed):
            changed[where] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del changed[where:]
        else:
            changed[where:where] = data.draw(st.binary(min_size=1, max_size=6))
    _same_answer(state, bytes(changed))


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


@pytest.mark.parametrize("fresh", [True, False])
def test_a_build_of_other_text_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fresh: bool
) -> None:
    """The module hands over to its build only while the build was made from its text: after
    an edit, a stale build of a `pip install -e .` must not run instead of the edited code."""
    name = f"handover_{'fresh' if fresh else 'stale'}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    text = SOURCE.read_bytes()
    (package / "nesting.py").write_bytes(text)
    digest = hashlib.sha256(text if fresh else text + b"# edited\n").hexdigest()
    # A stand-in for the compiled build: the same text, as setup.py stages it.
    (package / "nesting_native.py").write_bytes(text + f'\nSOURCE_DIGEST = "{digest}"\n'.encode())
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module(f"{name}.nesting")
    assert module.NATIVE is fresh
    assert (module.Nesting.__module__ == f"{name}.nesting_native") is fresh
    assert ("older than the module" in caplog.text) is not fresh

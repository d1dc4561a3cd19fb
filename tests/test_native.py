"""A module compiled by setup.py hands over to its native build only while the build was made
from its text (mapper/core/native.py): after an edit, a stale build of a `pip install -e .` must
not run instead of the edited code."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

import pytest

from mapper.core import protocol
from mapper.persistence import nesting

# Each compiled module, and a class of it that the build replaces.
COMPILED = [(nesting, "Nesting"), (protocol, "SyncMessage")]
IDS = [module.__name__ for module, _ in COMPILED]


@pytest.mark.parametrize(
    ("module", "class_name"), COMPILED, ids=lambda m: getattr(m, "__name__", m)
)
def test_the_install_uses_the_native_build(module: ModuleType, class_name: str) -> None:
    assert module.NATIVE, f"{module.__file__} changed since the install: reinstall"
    built = importlib.import_module(f"{module.__name__}_native")
    assert getattr(module, class_name) is getattr(built, class_name)
    assert built.NATIVE is False  # the build does not look for a build of its own


@pytest.mark.parametrize("fresh", [True, False], ids=["fresh", "stale"])
@pytest.mark.parametrize(
    ("module", "class_name"), COMPILED, ids=lambda m: getattr(m, "__name__", m)
)
def test_a_build_of_other_text_is_left_alone(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    module: ModuleType,
    class_name: str,
    fresh: bool,
) -> None:
    stem = module.__name__.rpartition(".")[2]
    name = f"handover_{stem}_{'fresh' if fresh else 'stale'}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    text = Path(str(module.__file__)).read_bytes()
    (package / f"{stem}.py").write_bytes(text)
    digest = hashlib.sha256(text if fresh else text + b"# edited\n").hexdigest()
    # A stand-in for the compiled build: the same text, as setup.py stages it.
    stand_in = text + f'\nSOURCE_DIGEST = "{digest}"\n'.encode()
    (package / f"{stem}_native.py").write_bytes(stand_in)
    monkeypatch.syspath_prepend(str(tmp_path))
    handed = importlib.import_module(f"{name}.{stem}")
    assert handed.NATIVE is fresh
    assert (getattr(handed, class_name).__module__ == f"{name}.{stem}_native") is fresh
    assert ("older than the module" in caplog.text) is not fresh

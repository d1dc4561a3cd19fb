"""The two texts of a module that setup.py compiles with mypyc: the Python reference, run under
a name of its own, and the native build the install made of it (mapper/core/native.py)."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import strategies as st


def reference(module: ModuleType) -> ModuleType:
    """The module's text run as Python, under a name of its own (so it keeps its own names)."""
    name = f"{module.__name__.rpartition('.')[2]}_reference"
    spec = importlib.util.spec_from_file_location(name, Path(str(module.__file__)))
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded  # dataclasses look their module up there
    spec.loader.exec_module(loaded)
    return loaded


def native(module: ModuleType) -> ModuleType:
    """The install's build of the module; skips where there is none, except under CI."""
    try:
        return importlib.import_module(f"{module.__name__}_native")
    except ImportError:
        if os.environ.get("CI"):
            raise  # CI has a C compiler: a missing build is a broken install
        pytest.skip("no native build here: `pip install -e .` with a C compiler makes one")


def damaged(data: st.DataObject, honest: bytes) -> bytes:
    """`honest` with one to four bytes changed, its tail cut, or bytes inserted."""
    changed = bytearray(honest)
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.integers(0, len(changed)))
        how = data.draw(st.sampled_from(["set", "cut", "insert"]))
        if how == "set" and where < len(changed):
            changed[where] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del changed[where:]
        else:
            changed[where:where] = data.draw(st.binary(min_size=1, max_size=6))
    return bytes(changed)

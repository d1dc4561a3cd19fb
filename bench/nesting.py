"""The nesting check's cost per client update, in process: the Python module against its native
build (setup.py compiles it with mypyc). Prints microseconds per update (the median over chunks
of 100) to read an update and to check and index it, for a drag (two fields of a system) and
a new system (a map with five fields and a Y.Text).

    python -m bench.nesting [--updates 3000]
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

from pycrdt import Doc, Map, Text

from mapper.chains.schema import new_chain_update
from mapper.persistence import nesting

CHUNK = 100
SYSTEMS = 10


def builds() -> dict[str, ModuleType]:
    """The module's text run as Python, and the native build when the install made one."""
    spec = importlib.util.spec_from_file_location("nesting_python", Path(nesting.__file__))
    assert spec is not None and spec.loader is not None
    python = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = python  # dataclasses look their module up there
    spec.loader.exec_module(python)
    found = {"python": python}
    try:
        found["native"] = importlib.import_module("mapper.persistence.nesting_native")
    except ImportError:
        print("no native build: `pip install -e .` with a C compiler makes one", file=sys.stderr)
    return found


def workload(updates: int) -> tuple[list[bytes], dict[str, list[bytes]]]:
    """The updates that made a chain of SYSTEMS systems, then the edits to measure."""
    client: Doc = Doc()
    client.apply_update(new_chain_update("bench"))
    systems = client.get("systems", type=Map)
    with client.transaction():
        for n in range(1, SYSTEMS + 1):
            systems[str(n)] = Map({"id": n, "x": 1, "y": 2, "name": f"J{n}", "notes": Text()})
    state = [client.get_update()]

    def drag(n: int) -> None:
        systems["5"]["x"] = n
        systems["5"]["y"] = n

    def add(n: int) -> None:
        fields = {"id": 100 + n, "x": 1, "y": 2, "name": "J", "status": "unknown"}
        systems[str(100 + n)] = Map({**fields, "notes": Text()})

    edits: dict[str, Callable[[int], None]] = {"drag a system": drag, "add a system": add}
    made: dict[str, list[bytes]] = {}
    for name, edit in edits.items():
        made[name] = []
        for n in range(updates):
            before = client.get_state()
            with client.transaction():
                edit(n)
            made[name].append(client.get_update(before))
    return state, made


def per_update(run: Callable[[bytes], object], updates: list[bytes]) -> float:
    chunks = []
    for start in range(0, len(updates), CHUNK):
        began = time.perf_counter()
        for update in updates[start : start + CHUNK]:
            run(update)
        chunks.append((time.perf_counter() - began) / len(updates[start : start + CHUNK]))
    return statistics.median(chunks) * 1e6


def _check_and_index(index: Any, update: bytes) -> None:
    index.add(index.check(update))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--updates", type=int, default=3000)
    args = parser.parse_args()
    state, made = workload(args.updates)
    for build, module in builds().items():
        index = module.Nesting()
        for update in state:
            index.record(update)
        for name, updates in made.items():  # in order: each edit's updates follow the last's
            read = per_update(module.read_update, updates)
            checked = per_update(partial(_check_and_index, index), updates)
            print(f"{build:7} {name:14} read {read:6.2f} us   check and index {checked:6.2f} us")


if __name__ == "__main__":
    main()

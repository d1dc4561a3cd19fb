"""The layers of the code base, and the rule that imports only point down.

Every module of the wheel belongs to exactly one layer; a module may import its own layer and
the layers below it, never one above. Imports inside functions and under TYPE_CHECKING count
too: a type-only arrow upwards is still a wrong arrow. The README's architecture section
describes the same table.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Lowest first. A module belongs to the layer of the longest prefix that names it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("core", ("mapper.core",)),
    ("persistence", ("mapper.persistence",)),
    ("presence", ("mapper.presence",)),
    ("rooms", ("mapper.rooms",)),
    ("sync", ("mapper.sync",)),
    ("universe", ("mapper.universe",)),
    ("chains", ("mapper.chains",)),
    (
        "edge",
        (
            "mapper",
            "mapper.__main__",
            "mapper.api",
            "mapper.app",
            "mapper.auth",
            "mapper.cli",
            "mapper.client",
            "mapper.connection_limits",
            "mapper.eve",
            "mapper.service",
            "mapper.settings",
            "mapper.transport",
            "mapper.web",
        ),
    ),
]
# Arrows the layer order would allow but the design does not: (importer, imported, why).
FORBIDDEN = [
    (
        "mapper.sync",
        "mapper.rooms",
        "the sync engine writes through mapper.sync.live.LiveDocuments, which the rooms implement",
    ),
]
# Folders of the repository that the wheel installs as these packages.
FOLDER_NAMES = {"sync", "presence", "persistence", "universe", "web"}


@dataclass(frozen=True)
class Arrow:
    importer: str
    imported: str
    line: int


def package_dirs() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {package: ROOT / folder for package, folder in config["package-dir"].items()}


def modules() -> dict[str, Path]:
    """Every module of the wheel by its installed name."""
    found: dict[str, Path] = {}
    dirs = package_dirs()
    for package, folder in dirs.items():
        for path in folder.rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            parts = path.relative_to(folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((package, *parts))
            # A folder mapped to a package of its own is not also a part of its parent.
            owner = max((p for p in dirs if name == p or name.startswith(p + ".")), key=len)
            if owner == package:
                found[name] = path
    return found


def layer_of(module: str) -> int | None:
    best: tuple[int, int] | None = None
    for rank, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                # A bare "mapper" names only the package itself, not everything under it.
                if prefix == "mapper" and module != "mapper":
                    continue
                if best is None or len(prefix) > best[1]:
                    best = (rank, len(prefix))
    return None if best is None else best[0]


def arrows(module: str, path: Path) -> list[Arrow]:
    tree = ast.parse(path.read_text(), str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Arrow(module, alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, base] if base else anchor)
            # `from mapper.core import clock` imports mapper.core.clock.
            names = [f"{base}.{alias.name}" for alias in node.names]
            found += [Arrow(module, name, node.lineno) for name in names]
    return found


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of ours an import names (the longest known prefix), or None."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(name for name in modules() if layer_of(name) is None)
    assert not unplaced, f"add these modules to a layer in tests/test_layers.py: {unplaced}"


def upward(module: str, path: Path, known: dict[str, Path]) -> list[str]:
    """The imports of one module that point up a layer, or name a folder instead of a package."""
    own = layer_of(module)
    assert own is not None, f"{module} has no layer"
    wrong = []
    for arrow in sorted(arrows(module, path), key=lambda arrow: arrow.line):
        where = f"{path.name}:{arrow.line}"
        if arrow.imported.split(".")[0] in FOLDER_NAMES:
            wrong.append(f"{where}: {module} imports {arrow.imported}; use mapper.{arrow.imported}")
            continue
        target = resolve(arrow.imported, known)
        for importer, imported, why in FORBIDDEN:
            if _within(module, importer) and target is not None and _within(target, imported):
                wrong.append(f"{where}: {module} imports {target}: {why}")
        theirs = None if target is None else layer_of(target)
        if theirs is not None and theirs > own:
            wrong.append(
                f"{where}: {module} ({LAYERS[own][0]}) imports {target} ({LAYERS[theirs][0]})"
            )
    return wrong


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_imports_only_point_down() -> None:
    known = modules()
    wrong = [line for module, path in known.items() for line in upward(module, path, known)]
    assert not wrong, "imports that point up a layer:\n" + "\n".join(sorted(wrong))


def test_the_check_sees_a_wrong_arrow(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text(
        "from mapper.rooms.room import Room\n"  # down, but forbidden: sync uses an interface
        "from . import engine\n"  # same layer
        "def later():\n"
        "    from mapper.service import Service\n"  # up, even inside a function
        "from sync.clock import Clock\n"  # a folder name, not the installed package
    )
    wrong = upward("mapper.sync.probe", probe, modules())
    assert len(wrong) == 3
    assert "imports mapper.rooms.room: the sync engine writes through" in wrong[0]
    assert "mapper.sync.probe (sync) imports mapper.service (edge)" in wrong[1]
    assert "use mapper.sync.clock" in wrong[2]

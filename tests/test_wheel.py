"""The wheel, installed into a fresh venv, claims `mapper` alone in site-packages, and works.

The repository keeps a folder per layer at its top (`sync/`, `web/`, ...); the wheel installs
them under `mapper` (pyproject.toml's package-dir), so installing mapper never shadows another
project's `sync` or `web`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_SOURCE = (".git", ".venv", "node_modules", "build", "*.egg-info", "__pycache__", "mapper-data")


def test_the_wheel_installs_mapper_alone(tmp_path: Path) -> None:
    # Built from a copy: building in place would leave build/ and egg-info in the checkout.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(source)],
        check=True,
        timeout=300,
    )
    (wheel,) = wheels.glob("mapper-*.whl")
    assert wheel.stat().st_size < 2 << 20, "the wheel, the universe in it, stays under 2 MiB"
    target = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(target)
    python = target / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    before = {path.name for path in site.iterdir()}
    # --ignore-installed: else pip uninstalls this environment's mapper first.
    install = [*pip, "install", "--no-deps", "--ignore-installed", "-q"]
    subprocess.run(
        [*install, "--prefix", str(target), str(wheel)],
        check=True,
        timeout=300,
    )
    added = {path.name for path in site.iterdir()} - before
    top_level = {name for name in added if not name.endswith(".dist-info")}
    assert top_level == {"mapper"}, f"the wheel installs {sorted(top_level)}"
    assert (target / "bin" / "mapper").is_file()
    installed = site / "mapper"
    for folder in ("sync", "presence", "persistence", "universe", "web", "core", "chains"):
        assert (installed / folder / "__init__.py").is_file(), folder
    assert (installed / "web" / "static" / "index.html").is_file()
    assert (installed / "web" / "static" / "app.css").is_file()  # the map canvas's stylesheet
    assert (installed / "persistence" / "migrations" / "script.py.mako").is_file()
    assert list((installed / "persistence" / "migrations" / "versions").glob("0001_*.py"))
    assert (installed / "docs" / "security.md").is_file()
    assert (installed / "universe" / "data" / "universe.json.gz").is_file()
    assert (installed / "universe" / "data" / "NOTICE.md").is_file()  # its sources' licences

    # The dependencies (pycrdt, starlette, ...) come from this environment's site-packages, as
    # a plain path: its .pth files, such as the editable install of the repository, stay out.
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # Run from a folder without the repository, the installed package imports and finds its
    # web app and migrations.
    probe = (
        "import mapper, mapper.app, mapper.sync.engine, mapper.persistence.migrations as m;"
        "from mapper.universe.packed import load_builtin;"
        "print(mapper.__file__); print(mapper.app.WEB_ROOT.is_dir()); print(m.MIGRATIONS);"
        "print(load_builtin().universe.systems[30000142].name);"
        "import sys, mapper.persistence.nesting as n, mapper.core.protocol as p;"
        "print(n.NATIVE and p.NATIVE and 'mypy' not in sys.modules)"
    )
    result = subprocess.run(
        [str(python), "-I", "-c", probe],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    where, web_found, migrations, jita, native = result.stdout.split()
    assert Path(where).is_relative_to(site)
    assert web_found == "True"
    assert Path(migrations).is_relative_to(site)
    assert jita == "Jita"  # the universe the package carries
    # The native builds (setup.py: the nesting check, the wire format) ship in the wheel and
    # need no mypy to run.
    assert native == "True"

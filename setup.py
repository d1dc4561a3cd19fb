"""The native build: modules on every update's path, compiled with mypyc where it can be done.

Everything else is in pyproject.toml. Each module in `NATIVE` stays pure Python and is the
reference; its text is compiled as `<module>_native` beside it, with the digest of that text, and
the module hands its names over to the build only while the digests agree
(mapper/core/native.py). Without a C compiler, or with `MAPPER_PURE_PYTHON=1` at install time,
the install is pure Python and works the same, slower.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from setuptools import Extension, setup

ROOT = Path(__file__).resolve().parent
# (source file, the package it installs in)
NATIVE = [
    ("persistence/nesting.py", "mapper.persistence"),
    ("mapper/core/protocol.py", "mapper.core"),
]
STAGE = Path("build") / "mypyc-source"


def native_extensions() -> list[Extension]:
    if os.environ.get("MAPPER_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("mapper: mypyc is not installed; installing pure Python", file=sys.stderr)
        return []
    staged = []
    for source, package in NATIVE:
        text = (ROOT / source).read_bytes()
        # Staged under its installed name, so that mypyc names the module as it is imported.
        folder = STAGE.joinpath(*package.split("."))
        folder.mkdir(parents=True, exist_ok=True)
        for depth in range(1, len(package.split(".")) + 1):
            STAGE.joinpath(*package.split(".")[:depth], "__init__.py").touch()
        target = folder / f"{Path(source).stem}_native.py"
        digest = hashlib.sha256(text).hexdigest()
        target.write_bytes(text + f'\nSOURCE_DIGEST = "{digest}"\n'.encode())
        staged.append(str(target))
    try:
        extensions = mypycify(
            ["--ignore-missing-imports", "--cache-dir", str(STAGE / ".mypy_cache"), *staged],
            opt_level="3",
            # A library of its own beside each module: shared ones would sit at the top level
            # of site-packages, where the wheel claims nothing but `mapper`.
            separate=True,
        )
    except (Exception, SystemExit) as error:  # mypy exits on a type error
        print(f"mapper: mypyc failed ({error}); installing pure Python", file=sys.stderr)
        return []
    for extension in extensions:
        extension.optional = True  # no C compiler: pure Python
    return extensions


setup(ext_modules=native_extensions())

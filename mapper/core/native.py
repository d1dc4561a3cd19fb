"""The handover from a module on every update's path to its native build.

setup.py compiles such modules with mypyc at install time, each as `<module>_native` beside
it, stamped with the digest of the text it was compiled from. The Python module stays the
reference and ends with `NATIVE = native.adopt(globals())`: while the build was compiled from
this very text, its public names replace the module's; after an edit, until the next install,
the stale build is left alone and the Python runs.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_KEPT = ("NATIVE", "SOURCE_DIGEST", "log")  # the module's own, whichever text runs


def adopt(namespace: dict[str, Any]) -> bool:
    """Take the native build's public names into the module whose globals are `namespace`;
    True when it did. Every public name, so that no class or function of the text is left
    behind: the build's functions take only the build's classes."""
    name = namespace["__name__"]
    if name.endswith("_native"):
        return False  # the build itself, compiled from this text too
    try:
        build = importlib.import_module(f"{name}_native")
    except ImportError:
        return False
    digest = hashlib.sha256(Path(namespace["__file__"]).read_bytes()).hexdigest()
    if build.SOURCE_DIGEST != digest:
        log.warning("%s: the native build is older than the module; reinstall to rebuild", name)
        return False
    namespace.update(
        (key, value)
        for key, value in vars(build).items()
        if not key.startswith("_") and key not in _KEPT
    )
    return True

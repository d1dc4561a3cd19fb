"""The browser app's own toolchain (web/package-lock.json), installed on first use."""

from __future__ import annotations

import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"


def ensure_web_modules() -> None:
    if not (WEB / "node_modules" / ".bin" / "esbuild").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)

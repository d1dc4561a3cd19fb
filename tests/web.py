"""The browser app's own toolchain (web/package-lock.json), installed on first use, and its
unit tests (web/test), bundled by esbuild and run by node's test runner."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parent.parent / "web"


def ensure_web_modules() -> None:
    if not (WEB / "node_modules" / ".bin" / "esbuild").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=WEB, check=True, timeout=600)


def run_web_test(test_file: str, out_dir: Path, env: dict[str, str] | None = None) -> None:
    """Bundle `test_file` (relative to web/) for node and run it; fail with node's report."""
    ensure_web_modules()
    bundle = out_dir / (Path(test_file).stem + ".mjs")
    subprocess.run(
        [
            str(WEB / "node_modules/.bin/esbuild"),
            test_file,
            "--bundle",
            "--platform=node",
            "--format=esm",
            f"--outfile={bundle}",
        ],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=60,
    )
    result = subprocess.run(
        ["node", "--test", str(bundle)],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr

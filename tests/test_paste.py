"""The browser app's probe-scanner parser (web/src/paste.ts), over tests/data/probe-scanner.json."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.web import WEB, ensure_web_modules

SAMPLES = Path(__file__).parent / "data" / "probe-scanner.json"


def test_paste_parser_reads_every_sample(tmp_path: Path) -> None:
    ensure_web_modules()
    bundle = tmp_path / "paste.test.mjs"
    subprocess.run(
        [
            str(WEB / "node_modules/.bin/esbuild"),
            "test/paste.test.ts",
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
        env={**os.environ, "PASTE_SAMPLES": str(SAMPLES)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr

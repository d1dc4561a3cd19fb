"""bench/drag_path.py reaches into the room's internals; this keeps it running as they change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_drag_path_bench_runs_every_drag_to_every_writer() -> None:
    for extra in ([], ["--no-guard"]):
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "drag_path.py"), "--count", "200", *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "us per drag" in done.stdout

"""The committed bundles (web/static/app.js and the zoom sketch's worker, what `pip install`
serves) are built from the current sources: `npm run build --prefix web` after changing
web/src."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.web import WEB, ensure_web_modules


def test_the_committed_bundle_matches_the_sources(tmp_path: Path) -> None:
    ensure_web_modules()
    subprocess.run(
        ["npx", "--no-install", "tsc", "--noEmit", "-p", "."], cwd=WEB, check=True, timeout=120
    )
    for script, name in (("build:app", "app.js"), ("build:worker", "sketch-worker.js")):
        built = tmp_path / name
        subprocess.run(
            ["npm", "run", script, "--", f"--outfile={built}"],
            cwd=WEB,
            check=True,
            capture_output=True,
            timeout=120,
        )
        assert built.read_bytes() == (WEB / "static" / name).read_bytes(), (
            f"web/static/{name} is stale: run `npm run build --prefix web` and commit it"
        )

"""The committed bundle (web/static/app.js, what `pip install` serves) is built from the
current sources: `npm run build --prefix web` after changing web/src."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.web import WEB, ensure_web_modules


def test_the_committed_bundle_matches_the_sources(tmp_path: Path) -> None:
    ensure_web_modules()
    subprocess.run(
        ["npx", "--no-install", "tsc", "--noEmit", "-p", "."], cwd=WEB, check=True, timeout=120
    )
    built = tmp_path / "app.js"
    subprocess.run(
        ["npm", "run", "build", "--", f"--outfile={built}"],
        cwd=WEB,
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert built.read_bytes() == (WEB / "static" / "app.js").read_bytes(), (
        "web/static/app.js is stale: run `npm run build --prefix web` and commit it"
    )

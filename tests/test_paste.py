"""The browser app's probe-scanner parser (web/src/paste.ts), over tests/data/probe-scanner.json."""

from __future__ import annotations

from pathlib import Path

from tests.web import run_web_test

SAMPLES = Path(__file__).parent / "data" / "probe-scanner.json"


def test_paste_parser_reads_every_sample(tmp_path: Path) -> None:
    run_web_test("test/paste.test.ts", tmp_path, {"PASTE_SAMPLES": str(SAMPLES)})

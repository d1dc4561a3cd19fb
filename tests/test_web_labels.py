"""How the browser app writes static data (web/src/labels.ts): class labels, security as
EVE shows it, masses in tonnes (contract section 8)."""

from __future__ import annotations

from pathlib import Path

from tests.web import run_web_test


def test_labels(tmp_path: Path) -> None:
    run_web_test("test/labels.test.ts", tmp_path)

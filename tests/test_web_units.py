"""The browser app's unit tests (web/test) in node: how static data reads on screen (class
labels, security as EVE shows it, tonnes; contract section 8) and how its answers are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web import run_web_test


@pytest.mark.parametrize("test_file", ["test/labels.test.ts", "test/universe.test.ts"])
def test_web_units(test_file: str, tmp_path: Path) -> None:
    run_web_test(test_file, tmp_path)

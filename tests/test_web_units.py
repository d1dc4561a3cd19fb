"""The browser app's unit tests (web/test/*.test.ts) in node: how static data reads on screen
(class labels, security as EVE shows it, tonnes; contract section 8), how its answers are read,
pastes, wormhole lifetime and mass, and how the EVE login names members and scopes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web import WEB, run_web_test

RUN_ELSEWHERE = {"test/paste.test.ts"}  # tests/test_paste.py gives it the sample pastes
UNIT_TESTS = sorted(
    {path.relative_to(WEB).as_posix() for path in (WEB / "test").glob("*.test.ts")} - RUN_ELSEWHERE
)


@pytest.mark.parametrize("test_file", UNIT_TESTS)
def test_web_units(test_file: str, tmp_path: Path) -> None:
    run_web_test(test_file, tmp_path)

"""The `mapper` command line and its settings."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from mapper.auth import Authenticator
from mapper.settings import Settings, SettingsError, parse_duration


def mapper(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mapper", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize(
    ("text", "unit", "value"),
    [
        ("90s", "s", 90),
        ("15m", "s", 900),
        ("8h", "s", 28800),
        ("7d", "s", 604800),
        ("250", "ms", 250),
        ("2s", "ms", 2000),
        ("1.5", "s", 1.5),
    ],
)
def test_durations(text: str, unit: str, value: float) -> None:
    assert parse_duration(text, unit) == value


def test_bad_settings_say_which() -> None:
    with pytest.raises(SettingsError, match="MAPPER_FLUSH_MS"):
        Settings.load(environ={"MAPPER_FLUSH_MS": "soon"})
    with pytest.raises(SettingsError, match="--port"):
        Settings.load({"port": "eighty"}, environ={})
    settings = Settings.load({"flush_ms": "1s"}, environ={"MAPPER_FLUSH_MS": "100"})
    assert settings.flush_ms == 1000  # the flag wins over the environment


def test_token_command_prints_a_verifiable_token(tmp_path: Path) -> None:
    result = mapper(
        "token",
        "pilot-7",
        "--name",
        "Pilot",
        "--admin",
        "--ttl",
        "15m",
        "--data-dir",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    auth = Authenticator.from_settings(Settings(data_dir=tmp_path))
    identity = asyncio.run(auth.verify(token))
    assert (identity.user_id, identity.name, identity.admin) == ("pilot-7", "Pilot", True)


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    result = mapper("db", "upgrade", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "mapper.db").is_file()
    assert mapper("db", "upgrade", "--data-dir", str(tmp_path)).returncode == 0


def test_bad_database_url_is_a_clear_error(tmp_path: Path) -> None:
    result = mapper("db", "upgrade", "--database-url", "postgresql://u@127.0.0.1/x")
    assert result.returncode != 0
    assert "postgresql+psycopg://" in result.stderr
    assert "Traceback" not in result.stderr

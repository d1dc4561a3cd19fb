"""Service settings: every field is a `MAPPER_*` environment variable and a `mapper serve` flag.

`MAPPER_FLUSH_MS` is `--flush-ms`; the flag wins over the environment, the environment over
the default. Durations accept plain numbers (in the field's unit) or `90s`, `15m`, `8h`, `7d`.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mapper.core.errors import SettingsError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SECONDS_PER_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, unit: str = "s") -> float:
    """Read `90s`, `15m`, `8h`, `7d` (or a bare number in `unit`) and return it in `unit`."""
    match = _DURATION.match(text)
    if match is None:
        raise SettingsError(f"{text!r} is not a duration; write it like 90s, 15m, 8h or 7d")
    value = float(match.group(1))
    given = match.group(2) or unit
    return value * _SECONDS_PER_UNIT[given] / _SECONDS_PER_UNIT[unit]


def _setting(default: Any, help: str, *, duration: str | None = None, secret: bool = False) -> Any:
    return dataclasses.field(
        default=default, metadata={"help": help, "duration": duration, "secret": secret}
    )


@dataclasses.dataclass(frozen=True)
class Settings:
    host: str = _setting("127.0.0.1", "address to listen on")
    port: int = _setting(8000, "port to listen on")
    data_dir: Path = _setting(Path("mapper-data"), "folder for the SQLite database and signing key")
    database_url: str = _setting(
        "",
        "database URL (postgresql+psycopg://... or sqlite+aiosqlite:///...); "
        "default: SQLite in the data folder",
    )
    redis_url: str = _setting("", "Redis URL that joins several processes into one service")
    flush_ms: int = _setting(
        250, "an accepted update reaches the database within this", duration="ms"
    )
    max_message_bytes: int = _setting(1024 * 1024, "largest websocket message accepted")
    rate_limit: float = _setting(100.0, "websocket messages a second allowed per client")
    rate_burst: int = _setting(500, "burst of websocket messages allowed per client")
    send_queue_bytes: int = _setting(
        4 * 1024 * 1024, "bytes queued for one slow client before it is dropped"
    )
    room_idle_s: float = _setting(
        5.0, "a room without clients is flushed and unloaded after this", duration="s"
    )
    snapshot_interval_s: float = _setting(
        600.0, "a changed chain gets a periodic snapshot this often", duration="s"
    )
    compact_updates: int = _setting(
        1000, "a chain's update log is compacted into its base past this many rows"
    )
    compact_bytes: int = _setting(
        4 * 1024 * 1024, "... or past this many bytes of log, whichever comes first"
    )
    snapshot_keep_all_s: float = _setting(
        86400.0, "periodic and unload snapshots younger than this are all kept", duration="s"
    )
    snapshot_keep_hourly_s: float = _setting(
        7 * 86400.0, "then one an hour is kept up to this age", duration="s"
    )
    snapshot_keep_daily_s: float = _setting(
        90 * 86400.0, "then one a day up to this age; older ones go", duration="s"
    )
    auth_issuer: str = _setting("", "external token issuer (iss); empty: built-in issuer")
    auth_audience: str = _setting("mapper", "token audience (aud)")
    auth_jwks: str = _setting("", "external issuer's JWKS: JSON, a file path or an https URL")
    auth_leeway_s: float = _setting(30.0, "clock skew allowed on token times", duration="s")
    metrics_public: bool = _setting(False, "serve /metrics without a token")
    cold_after_s: float = _setting(
        60.0, "a user stops being present this long after their last visible sign", duration="s"
    )
    idle_after_s: float = _setting(
        1800.0,
        "a hidden tab keeps its user present this long after its last activity (activeAt)",
        duration="s",
    )
    jump_gap_s: float = _setting(
        60.0, "longest gap between polls that still maps a jump", duration="s"
    )
    token_provider_url: str = _setting(
        "", "the app holding EVE token custody (POST {userId, group}); empty: no live status"
    )
    token_provider_secret: str = _setting(
        "", "bearer secret sent to the token provider", secret=True
    )
    esi_base_url: str = _setting("https://esi.evetech.net", "EVE's ESI API")
    esi_timeout_s: float = _setting(10.0, "longest wait for one ESI answer", duration="s")
    esi_error_floor: int = _setting(
        10, "stop all ESI calls until the reset when fewer errors than this remain"
    )
    online_cadence_s: float = _setting(
        60.0,
        "a present user's characters' online status is read at most this often",
        duration="s",
    )
    location_cadence_s: float = _setting(
        5.0, "... and their location and ship at most this often", duration="s"
    )
    intel: bool = _setting(
        True,
        "fill /ws/intel (Thera and Turnur from EVE-Scout, system activity from ESI) while "
        "someone is present; 0: no such calls",
    )
    evescout_base_url: str = _setting(
        "https://api.eve-scout.com", "EVE-Scout's API (Thera and Turnur); empty: not asked"
    )
    webhook_delay_s: float = _setting(
        2.0, "a chain's webhook notice waits this long for more news to send with it", duration="s"
    )
    webhook_interval_s: float = _setting(
        10.0, "at most one webhook message per chain this often", duration="s"
    )
    webhook_allow_base_url: str = _setting(
        "", "a URL prefix also accepted as a chain's webhook (a local fake for tests)"
    )
    sync_scan_interval_s: float = _setting(
        30.0, "the sync scanner looks for due subjects this often", duration="s"
    )
    sync_scan_limit: int = _setting(1024, "subjects one scan hands out at most")
    sync_workers: int = _setting(4, "sync runs at once")
    sync_rate_per_minute: float = _setting(
        30.0, "sync runs a minute allowed per user and rate-limit group"
    )
    sync_rate_burst: int = _setting(10, "burst of sync runs allowed per user and group")
    sync_stale_run_s: float = _setting(
        120.0, "a sync run older than this is taken as dead and may be run again", duration="s"
    )
    sync_forget_after_s: float = _setting(
        7 * 86400.0, "sync subjects of users unseen this long are deleted", duration="s"
    )
    handshake_timeout_s: float = _setting(
        10.0,
        "a connection that has not sent a whole HTTP request, or whose websocket handshake "
        "is not done, this long after it opened or began the request is closed",
        duration="s",
    )
    keep_alive_s: float = _setting(
        30.0, "an idle keep-alive HTTP connection is closed after this", duration="s"
    )
    max_pending_connections: int = _setting(
        0,
        "connections waiting for a request at once (just opened, part-way through one, or "
        "idle between requests); past it the one waiting longest is closed; "
        "0: a quarter of the open-files limit",
    )
    public_url: str = _setting(
        "", "the URL users reach the service at (EVE's login comes back to it)"
    )
    eve_client_id: str = _setting(
        "", "the EVE application's client id (developers.eveonline.com); empty: no EVE login"
    )
    eve_client_secret: str = _setting("", "the EVE application's secret key", secret=True)
    eve_sso_base_url: str = _setting("https://login.eveonline.com", "EVE's single sign-on")
    admins: str = _setting("", "EVE character ids that are service admins (comma-separated)")
    secret_key: str = _setting(
        "",
        "key that encrypts EVE refresh tokens at rest (32+ characters); "
        "empty: a key file in the data folder",
        secret=True,
    )
    affiliation_check_s: float = _setting(
        30.0,
        "present users' corporations and alliances are looked at this often "
        "(asked of ESI when its cache allows, at least hourly)",
        duration="s",
    )
    log_level: str = _setting("info", "log level: debug, info, warning, error")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'mapper.db').resolve()}"

    @classmethod
    def load(
        cls, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Build settings from the environment, then `overrides` (flag values, None = unset)."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            raw = environ.get(env_name(field.name))
            if raw is not None and raw != "":
                values[field.name] = _convert(field, raw, env_name(field.name))
        for name, raw in (overrides or {}).items():
            if raw is None:
                continue
            field = _FIELDS[name]
            values[name] = _convert(field, raw, flag_name(name)) if isinstance(raw, str) else raw
        return cls(**values)


def env_name(field_name: str) -> str:
    return "MAPPER_" + field_name.upper()


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


def _convert(field: dataclasses.Field[Any], raw: str, source: str) -> Any:
    kind = type(field.default)
    try:
        if field.metadata.get("duration"):
            value = parse_duration(raw, field.metadata["duration"])
            return int(value) if kind is int else value
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise SettingsError(f"{source}: {raw!r} is not a yes/no value; use 1 or 0")
        if kind is int:
            return int(raw)
        if kind is float:
            return float(raw)
        if kind is Path or isinstance(field.default, Path):
            return Path(raw)
        return raw
    except SettingsError as error:
        raise SettingsError(f"{source}: {error}") from None
    except ValueError:
        raise SettingsError(f"{source}: {raw!r} is not a valid {kind.__name__}") from None


_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def fields() -> list[dataclasses.Field[Any]]:
    return list(dataclasses.fields(Settings))

"""The `mapper` command: serve, token, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from typing import Any

from mapper import settings as settings_module
from mapper.settings import Settings, SettingsError, parse_duration
from persistence.database import DatabaseUrlError

log = logging.getLogger("mapper")

LOCAL_ADMIN_ID = "admin"
LOGIN_LINK_TTL_S = 8 * 3600


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        raise SystemExit(2)
    try:
        args.run(args)
    except (SettingsError, DatabaseUrlError) as error:
        raise SystemExit(f"mapper: {error}") from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mapper", description=__doc__)
    commands = parser.add_subparsers(title="commands")

    serve = commands.add_parser(
        "serve",
        help="run the service (HTTP API, websocket rooms, web app)",
        description="Run everything in one process. Every flag is also a MAPPER_* variable.",
    )
    for field in settings_module.fields():
        env = settings_module.env_name(field.name)
        kind = "duration" if field.metadata.get("duration") else type(field.default).__name__
        serve.add_argument(
            settings_module.flag_name(field.name),
            dest=field.name,
            default=None,
            metavar=kind.upper() if kind != "PosixPath" else "PATH",
            help=f"{field.metadata['help']} (env {env}, default {field.default})",
        )
    serve.set_defaults(run=_serve)

    token = commands.add_parser("token", help="print a token from the built-in issuer")
    token.add_argument("user_id", help="the user id (the token's sub)")
    token.add_argument("--name", help="display name")
    token.add_argument("--admin", action="store_true", help="make the user a service admin")
    token.add_argument("--ttl", default="8h", help="lifetime such as 90s, 15m, 8h, 7d")
    token.add_argument("--data-dir", help="data folder holding the signing key")
    token.set_defaults(run=_token)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="create or migrate the database schema")
    upgrade.add_argument("--database-url", help="database URL (env MAPPER_DATABASE_URL)")
    upgrade.add_argument("--data-dir", help="data folder (for the default SQLite database)")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _settings(args: argparse.Namespace, *names: str) -> Settings:
    overrides: dict[str, Any] = {name: getattr(args, name, None) for name in names}
    return Settings.load(overrides)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from mapper.app import create_app
    from mapper.rooms.transport import WebSocketProtocol

    settings = _settings(args, *(field.name for field in settings_module.fields()))
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    app = create_app(settings)
    builtin = app.state.service.auth.builtin
    if builtin is not None:
        token = builtin.issue(
            LOCAL_ADMIN_ID, name="Local admin", admin=True, ttl_s=LOGIN_LINK_TTL_S
        )
        base = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
        print(f"mapper: open {base}/#token={token}", file=sys.stderr, flush=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_message_bytes,
        # Yjs updates are small and already compact; deflate costs more CPU than it saves.
        ws_per_message_deflate=False,
        ws=WebSocketProtocol,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
    )


def _token(args: argparse.Namespace) -> None:
    from mapper.auth import BuiltinIssuer

    settings = _settings(args, "data_dir")
    if settings.auth_issuer:
        raise SettingsError(
            "MAPPER_AUTH_ISSUER is set, so tokens come from that issuer, not from mapper token"
        )
    ttl_s = parse_duration(args.ttl, "s")
    issuer = BuiltinIssuer(settings.data_dir, audience=settings.auth_audience)
    print(issuer.issue(args.user_id, name=args.name, admin=args.admin, ttl_s=ttl_s))


def _db_upgrade(args: argparse.Namespace) -> None:
    from persistence.migrations import upgrade_database

    settings = _settings(args, "database_url", "data_dir")
    asyncio.run(upgrade_database(settings.resolved_database_url))
    print("mapper: database schema is up to date", file=sys.stderr)

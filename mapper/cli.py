"""The `mapper` command: serve, token, db upgrade."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import resource
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mapper import settings as settings_module
from mapper.chains.diff import ENTRY_ROOTS, is_empty
from mapper.client import ApiClientError
from mapper.persistence.database import DatabaseUrlError
from mapper.settings import Settings, SettingsError, parse_duration
from mapper.universe import cli as universe_cli
from mapper.universe.sde import SdeError

if TYPE_CHECKING:
    from mapper.auth import BuiltinIssuer

log = logging.getLogger("mapper")

LOCAL_ADMIN_ID = "admin"
LOGIN_LINK_TTL_S = 8 * 3600
MIN_PENDING_CONNECTIONS = 64
MANY_FILES = 1 << 20  # what an unlimited open-files limit is taken as


def main(argv: Sequence[str] | None = None) -> None:
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "run"):
        parser.print_help()
        raise SystemExit(2)
    try:
        args.run(args)
    except (SettingsError, DatabaseUrlError, ApiClientError, SdeError) as error:
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

    snapshots = commands.add_parser(
        "snapshots",
        help="list, take, show and restore a chain's snapshots (through the running service)",
    )
    snapshot_commands = snapshots.add_subparsers(title="snapshot commands")
    for name, help_text, arguments in [
        ("list", "list a chain's snapshots, newest first", ["chain"]),
        ("create", "take a manual snapshot", ["chain"]),
        ("show", "print a snapshot's content as JSON", ["chain", "snapshot"]),
        ("diff", "what restoring a snapshot would add, remove and change", ["chain", "snapshot"]),
        (
            "restore",
            "make the chain equal to a snapshot (undo: restore the pre-restore one)",
            ["chain", "snapshot"],
        ),
        ("delete", "delete a snapshot (written to the audit log)", ["chain", "snapshot"]),
    ]:
        command = snapshot_commands.add_parser(name, help=help_text)
        for argument in arguments:
            command.add_argument(argument, type=int if argument == "snapshot" else str)
        if name == "create":
            command.add_argument("--label", help="a note on why")
        _add_service_options(command)
        command.set_defaults(run=_snapshots, action=name)

    verify = commands.add_parser(
        "verify",
        help="rebuild chains from the database alone and compare them with the live rooms",
        description="Exits 1 if any chain's stored content differs from its live room.",
    )
    verify.add_argument("chain", nargs="?", help="one chain (default: every chain)")
    _add_service_options(verify)
    verify.set_defaults(run=_verify)

    universe_cli.add_commands(commands, _settings)

    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(title="db commands")
    upgrade = db_commands.add_parser("upgrade", help="create or migrate the database schema")
    upgrade.add_argument("--database-url", help="database URL (env MAPPER_DATABASE_URL)")
    upgrade.add_argument("--data-dir", help="data folder (for the default SQLite database)")
    upgrade.set_defaults(run=_db_upgrade)
    return parser


def _add_service_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--url", help="the service (default: MAPPER_PUBLIC_URL or local)")
    command.add_argument("--token", help="a token (default: MAPPER_TOKEN or local admin)")
    command.add_argument("--data-dir", help="data folder holding the built-in signing key")


def _settings(args: argparse.Namespace, *names: str) -> Settings:
    overrides: dict[str, Any] = {name: getattr(args, name, None) for name in names}
    return Settings.load(overrides)


def _serve(args: argparse.Namespace) -> None:
    import uvicorn

    from mapper.app import create_app
    from mapper.connection_limits import WaitingConnections, WaitingHttpProtocol
    from mapper.core import logs
    from mapper.persistence import nesting
    from mapper.transport import WebSocketProtocol

    settings = _settings(args, *(field.name for field in settings_module.fields()))
    logs.configure(
        settings.log_level,
        secrets=[settings.token_provider_secret, settings.eve_client_secret, settings.secret_key],
    )
    if not nesting.NATIVE:
        log.info("update checks run as Python: this install has no native build (setup.py)")
    app = create_app(settings)
    builtin = app.state.service.auth.builtin
    if builtin is not None:
        _show_login_link(settings, builtin)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        ws_max_size=settings.max_message_bytes,
        # Yjs updates are small and already compact; deflate costs more CPU than it saves.
        ws_per_message_deflate=False,
        http=WaitingHttpProtocol.bound_to(
            WaitingConnections(_pending_limit(settings), settings.handshake_timeout_s)
        ),
        ws=WebSocketProtocol.with_handshake_timeout(settings.handshake_timeout_s),
        timeout_keep_alive=settings.keep_alive_s,
        # uvicorn's own lines go through the root handler set up above, which redacts tokens.
        log_config=None,
        log_level=settings.log_level,
        access_log=False,
        lifespan="on",
    )


def _pending_limit(settings: Settings) -> int:
    """How many connections may wait for a request at once. By default a quarter of the
    open-files limit: silent sockets never use up the files real users need, and a burst of
    reconnecting clients (a restart) fits."""
    if settings.max_pending_connections > 0:
        return settings.max_pending_connections
    files, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if files == resource.RLIM_INFINITY:
        files = MANY_FILES
    limit = max(files // 4, MIN_PENDING_CONNECTIONS)
    log.info("open-files limit %d: at most %d connections wait for a request at once", files, limit)
    return limit


def _show_login_link(settings: Settings, builtin: BuiltinIssuer) -> None:
    """The local admin's login link, on a terminal only: a log file or journal must never keep
    a working token."""
    if not sys.stderr.isatty():
        log.info(
            "no login link: stderr is not a terminal; `mapper token %s --admin` prints a token",
            LOCAL_ADMIN_ID,
        )
        return
    token = builtin.issue(LOCAL_ADMIN_ID, name="Local admin", admin=True, ttl_s=LOGIN_LINK_TTL_S)
    base = settings.public_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
    print(f"mapper: open {base}/#token={token}", file=sys.stderr, flush=True)


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


def _snapshots(args: argparse.Namespace) -> None:
    from mapper.client import ApiClient

    client = ApiClient.from_settings(_settings(args, "data_dir"), args.url, args.token)
    base = f"/api/chains/{args.chain}/snapshots"
    if args.action == "list":
        items = client.call("GET", base)["items"]
        print(
            f"{'id':>6}  {'created (UTC)':19}  {'reason':11}  {'sys':>4} {'conn':>4} "
            f"{'sigs':>5}  {'bytes':>8}  by / label"
        )
        for item in items:
            counts = item["counts"]
            created = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(item["createdAt"] / 1000))
            who = " / ".join(part for part in (item["createdBy"], item["label"]) if part)
            print(
                f"{item['id']:>6}  {created:19}  {item['reason']:11}  {counts['systems']:>4} "
                f"{counts['connections']:>4} {counts['signatures']:>5}  {item['bytes']:>8}  {who}"
            )
    elif args.action == "create":
        item = client.call("POST", base, {"label": args.label} if args.label else {})
        print(f"snapshot {item['id']} taken")
    elif args.action == "show":
        print(json.dumps(client.call("GET", f"{base}/{args.snapshot}"), indent=2))
    elif args.action == "diff":
        diff = client.call("GET", f"{base}/{args.snapshot}/diff")
        print(diff_table(diff, f"restoring snapshot {args.snapshot} would change:"))
    elif args.action == "delete":
        client.call("DELETE", f"{base}/{args.snapshot}")
        print(f"snapshot {args.snapshot} deleted")
    else:
        result = client.call("POST", f"{base}/{args.snapshot}/restore")
        print(
            f"chain {args.chain} restored to snapshot {args.snapshot}; to undo, restore "
            f"snapshot {result['preRestoreSnapshotId']}"
        )


def diff_table(diff: dict[str, Any], heading: str) -> str:
    """A content diff for people: a summary, then one line per entry it touches."""
    lines = [heading, ""]
    lines.append(f"{'':12} {'add':>5} {'remove':>7} {'change':>7}")
    for root in ENTRY_ROOTS:
        part = diff[root]
        lines.append(
            f"{root:12} {len(part['added']):>5} {len(part['removed']):>7} {len(part['changed']):>7}"
        )
    lines.append("")
    for field, change in diff["meta"].items():
        lines.append(f"~ meta {field}: {change['current']!r} -> {change['target']!r}")
    for root in ENTRY_ROOTS:
        kind = root.rstrip("s")
        for entry in diff[root]["added"]:
            lines.append(f"+ {kind} {entry['key']}")
        for entry in diff[root]["removed"]:
            lines.append(f"- {kind} {entry['key']}")
        for entry in diff[root]["changed"]:
            fields = ", ".join(
                f"{field}: {_short(change['current'])} -> {_short(change['target'])}"
                for field, change in entry["fields"].items()
            )
            lines.append(f"~ {kind} {entry['key']}  {fields}")
    if is_empty(diff):
        lines.append("(no difference)")
    return "\n".join(lines)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _verify(args: argparse.Namespace) -> None:
    from mapper.client import ApiClient

    client = ApiClient.from_settings(_settings(args, "data_dir"), args.url, args.token)
    if args.chain:
        chain_ids = [args.chain]
    else:
        chain_ids = [chain["id"] for chain in client.call("GET", "/api/chains")["items"]]
    differing = 0
    for chain_id in chain_ids:
        result = client.call("GET", f"/api/chains/{chain_id}/verify")
        counts = result["counts"]
        content = (
            f"{counts['systems']} systems, {counts['connections']} connections, "
            f"{counts['signatures']} signatures"
        )
        if not result["loaded"]:
            print(f"{chain_id}  rebuilt from the database ({content}); no live room to compare")
        elif result["equal"]:
            print(f"{chain_id}  identical to its live room ({content})")
        else:
            differing += 1
            heading = f"{chain_id}  DIFFERS: the live room has, where the database has:"
            print(diff_table(result["difference"], heading))
    print(f"{len(chain_ids)} chain(s) checked, {differing} differ", file=sys.stderr)
    if differing:
        raise SystemExit(1)


def _db_upgrade(args: argparse.Namespace) -> None:
    from mapper.persistence.migrations import upgrade_database

    settings = _settings(args, "database_url", "data_dir")
    asyncio.run(upgrade_database(settings.resolved_database_url))
    print("mapper: database schema is up to date", file=sys.stderr)

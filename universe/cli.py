"""`mapper sde import PATH_OR_URL` and `mapper sde statics FILE`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from mapper.universe.sde import SdeError

DOWNLOAD_CHUNK = 1 << 20
# CCP asks the callers of its services to say who they are (ESI best practices).
USER_AGENT = "mapper (EVE wormhole mapper; static data import)"


def add_commands(commands: Any, settings_of: Any) -> None:
    """Add the `sde` command; `settings_of(args, *names)` builds Settings from flags."""
    sde = commands.add_parser("sde", help="import EVE's static data export (the universe)")
    sde_commands = sde.add_subparsers(title="sde commands")
    load = sde_commands.add_parser(
        "import",
        help="import CCP's JSONL static data export: a zip, an unpacked folder or a URL",
        description="Get the export from https://developers.eveonline.com/static-data/ "
        "(eve-online-static-data-latest-jsonl.zip); the YAML sde.zip of before September 2025 "
        "is read too. Re-importing a newer one updates in place. See "
        "mapper/docs/static-data.md.",
    )
    load.add_argument("source", help="path to the zip or folder, or an https:// URL")
    statics = sde_commands.add_parser(
        "statics", help="load wormhole statics from a CSV of system_id,static_codes"
    )
    statics.add_argument("file", help="CSV file (see mapper/docs/static-data.md)")
    for command, run in ((load, _import), (statics, _statics)):
        command.add_argument("--database-url", help="database URL (env MAPPER_DATABASE_URL)")
        command.add_argument("--data-dir", help="data folder (for the default SQLite database)")
        command.set_defaults(
            run=lambda args, run=run: run(args, settings_of(args, "database_url", "data_dir"))
        )


def _import(args: argparse.Namespace, settings: Any) -> None:
    asyncio.run(_import_async(args.source, settings.resolved_database_url))


async def _import_async(source: str, url: str) -> None:
    from mapper.persistence.database import create_engine
    from mapper.persistence.migrations import upgrade_database
    from mapper.universe.importer import import_sde

    await upgrade_database(url)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder:
        path = await _download(source, Path(folder)) if "://" in source else Path(source)
        if not path.exists():
            raise SdeError(f"{path} does not exist")
        engine = create_engine(url)
        try:
            imported = await import_sde(
                engine, path, source=source, progress=_show_read, written=_show_written
            )
        finally:
            await engine.dispose()
    summary = ", ".join(
        f"{rows} {table.removeprefix('universe_')}" for table, rows in imported.rows.items()
    )
    build = f" of build {imported.build}" if imported.build is not None else ""
    print(
        f"mapper: imported {summary}{build} in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
    )


async def _download(url: str, folder: Path) -> Path:
    if not url.startswith(("https://", "http://")):
        raise SdeError(f"{url}: only http(s) URLs can be downloaded")
    target = folder / "sde.zip"
    try:
        async with httpx.AsyncClient(
            follow_redirects=True, timeout=60, headers={"User-Agent": USER_AGENT}
        ) as client:
            async with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise SdeError(f"{url} answered {response.status_code}")
                length = response.headers.get("content-length", "")
                total = int(length) if length.isdecimal() else 0
                done = 0
                with target.open("wb") as out:
                    async for chunk in response.aiter_bytes(DOWNLOAD_CHUNK):
                        await asyncio.to_thread(out.write, chunk)
                        done += len(chunk)
                        share = f" of {total >> 20} MiB ({done * 100 // total}%)" if total else ""
                        print(f"\rdownloading: {done >> 20} MiB{share}", end="", file=sys.stderr)
    except httpx.HTTPError as error:
        raise SdeError(f"cannot download {url}: {error}") from None
    print(file=sys.stderr)
    return target


def _show_read(name: str, count: int) -> None:
    if count < 0:
        print(f"\rread {name}" + " " * 20, file=sys.stderr)
    else:
        print(f"\rreading {name}: {count} records", end="", file=sys.stderr)


def _show_written(table: str, rows: int) -> None:
    print(f"wrote {table}: {rows} rows", file=sys.stderr)


def _statics(args: argparse.Namespace, settings: Any) -> None:
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise SdeError(f"cannot read {path}: {error}") from None
    asyncio.run(_statics_async(text, str(path), settings.resolved_database_url))


async def _statics_async(text: str, source: str, url: str) -> None:
    from mapper.persistence.database import create_engine
    from mapper.persistence.migrations import upgrade_database
    from mapper.universe.importer import import_statics

    await upgrade_database(url)
    engine = create_engine(url)
    try:
        systems = await import_statics(engine, text, source=source)
    finally:
        await engine.dispose()
    print(f"mapper: statics loaded for {systems} systems", file=sys.stderr)

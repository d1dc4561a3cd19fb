"""Schema migrations: `await upgrade_database(url)` brings the schema to the newest revision.

No alembic.ini is needed: the configuration is built here and points at this folder, which
ships inside the package (env.py, script.py.mako, versions/).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text

from mapper.persistence.database import create_engine

MIGRATIONS = Path(__file__).parent

# Any fixed number: every process that upgrades takes the same Postgres advisory lock.
_UPGRADE_LOCK = 0x6D6170706572  # "mapper"


def alembic_config() -> Config:
    config = Config()
    # The option goes through configparser interpolation, where % is special.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


async def upgrade_database(url: str) -> None:
    """Create or migrate the schema. Safe to run concurrently from several processes: the
    whole upgrade is one transaction that first takes a lock, so the later process waits and
    then finds nothing to do."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                await conn.execute(lock, {"key": _UPGRADE_LOCK})
            else:
                # Python's sqlite3 opens no transaction for DDL on its own; taking the write
                # lock up front makes the DDL transactional and serializes upgraders.
                await conn.exec_driver_sql("BEGIN IMMEDIATE")
            await conn.run_sync(_upgrade)
            await conn.commit()
    finally:
        await engine.dispose()


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")

"""Database connection and schema migrations (Tortoise ORM 1.x built-in migrations).

Tortoise 1.x keeps its state in a context variable: ``open_database`` must run in the
task that later runs the queries (or before the tasks that run them are created), so
the composition root opens it first and starts the front ends afterwards.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate

log = logging.getLogger(__name__)

MODELS_MODULE = "db.models"
MIGRATIONS_MODULE = "db.migrations"


def tortoise_config(database_url: str) -> dict[str, Any]:
    """The Tortoise configuration for one database URL (SQLite file or PostgreSQL)."""
    return {
        "connections": {"default": _connection(database_url)},
        "apps": {
            "models": {
                "models": [MODELS_MODULE],
                "default_connection": "default",
                "migrations": MIGRATIONS_MODULE,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection(url: str) -> str | dict[str, Any]:
    """PostgreSQL as given; a SQLite file through our engine (``BEGIN IMMEDIATE``)."""
    if not url.startswith("sqlite://") or url == "sqlite://:memory:":
        return url
    info = expand_db_url(_with_sqlite_pragmas(url))
    info["engine"] = "db.sqlite_backend"
    return info


def _with_sqlite_pragmas(url: str) -> str:
    """SQLite: WAL (Tortoise's default) plus a busy timeout for a second process, and
    ``synchronous=FULL``: every commit is on disk before we answer "received" (with
    NORMAL, a power cut can lose the last commits of a WAL database). The cost is
    measured in ``bench/sqlite_durability.py``."""
    if not url.startswith("sqlite://") or url == "sqlite://:memory:":
        return url
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    if "?" in url:
        return url
    return f"{url}?journal_mode=WAL&synchronous=FULL&busy_timeout=10000"


def masked_url(url: str) -> str:
    """The database URL fit to print or log: a password is shown as ``***`` (up to the
    last ``@``, so a password with an unescaped ``@`` or ``/`` is hidden whole)."""
    match = _CREDENTIALS.match(url)
    if match is None:
        return url
    return f"{match['scheme']}{match['user']}:***@{match['rest']}"


_CREDENTIALS = re.compile(r"^(?P<scheme>[A-Za-z][\w+.-]*://)(?P<user>[^:/@]*):.*@(?P<rest>[^@]*)$",
                          re.DOTALL)


async def upgrade(database_url: str) -> None:
    """Apply every committed migration that the database does not have yet."""
    await migrate(config=tortoise_config(database_url))
    await Tortoise.close_connections()


async def open_database(database_url: str) -> None:
    """Connect the ORM; the schema must be up to date (``atiende db upgrade``)."""
    # Tortoise caches built SQL per (connection name, table), not per dialect: a process
    # that opens SQLite and then PostgreSQL (the tests) must not reuse SQLite's SQL.
    from tortoise.backends.base.executor import EXECUTOR_CACHE

    EXECUTOR_CACHE.clear()
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def close_database() -> None:
    await Tortoise.close_connections()


@asynccontextmanager
async def database(database_url: str, *, upgrade_first: bool = True) -> AsyncIterator[None]:
    """Upgrade (by default), connect, and always close: for the CLI and the tests."""
    if upgrade_first:
        await upgrade(database_url)
    await open_database(database_url)
    try:
        yield
    finally:
        await close_database()

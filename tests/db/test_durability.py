"""What we acknowledged stays: SQLite commits reach the disk (``synchronous=FULL``), and
the database URL is never printed or logged with its password."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from tortoise import Tortoise

from bot.services import Services
from db.connection import masked_url, tortoise_config
from tests.conftest import sqlite_only
from tests.core.app.test_cli_export import atiende

SECRET = "Sup3r-Secreto_2026"


@pytest.mark.parametrize("url,shown", [
    ("postgres://atiende:s3cr%40t@db.example.cl:5432/atiende",
     "postgres://atiende:***@db.example.cl:5432/atiende"),
    ("postgres://atiende:pa@ss/w@db.example.cl/atiende?sslmode=require",
     "postgres://atiende:***@db.example.cl/atiende?sslmode=require"),
    ("postgres://:solo-clave@db.example.cl/atiende", "postgres://:***@db.example.cl/atiende"),
    ("postgres://atiende@db.example.cl:5432/atiende",
     "postgres://atiende@db.example.cl:5432/atiende"),
    ("postgres://db.example.cl:5432/atiende", "postgres://db.example.cl:5432/atiende"),
    ("sqlite://data/atiende.db", "sqlite://data/atiende.db"),
])
def test_masked_url(url: str, shown: str) -> None:
    assert masked_url(url) == shown


@sqlite_only("SQLite's synchronous pragma")
async def test_sqlite_commits_are_synchronous_full(services: Services) -> None:
    config = tortoise_config(services.settings.effective_database_url)
    assert config["connections"]["default"]["credentials"]["synchronous"] == "FULL"
    connection = Tortoise.get_connection("default")
    rows = await connection.execute_query_dict("PRAGMA synchronous")
    assert rows == [{"synchronous": 2}]  # 2 = FULL (1 = NORMAL)
    path = Path(services.settings.effective_database_url.removeprefix("sqlite://"))
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_cli_never_prints_the_database_password(tmp_path: Path, postgres_url: str) -> None:
    user, _, rest = postgres_url.removeprefix("postgres://").partition("@")
    url = f"postgres://{user}:{SECRET}@{rest}"  # the test server trusts any password
    upgraded = atiende(tmp_path, "db", "upgrade", env={"ATIENDE_DATABASE_URL": url})
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"postgres://{user}:***@{rest}" in upgraded.stdout
    ran = atiende(tmp_path, "run", env={"ATIENDE_DATABASE_URL": url,
                                        "ATIENDE_LOG_LEVEL": "DEBUG"})
    assert ran.returncode == 0, ran.stderr
    assert f"postgres://{user}:***@{rest}" in ran.stdout
    for output in (upgraded.stdout, upgraded.stderr, ran.stdout, ran.stderr):
        assert SECRET not in output and "Sup3r" not in output

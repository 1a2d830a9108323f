"""A throw-away PostgreSQL 15 for the test session, and a fresh database per test.

``initdb`` (no fsync) and ``pg_ctl start`` into a temp dir, listening on 127.0.0.1 at
a free port with trust auth; fsync is off because durability is not under test and it
makes inserts several times faster. PostgreSQL refuses to run as root, so as root the
server runs as the ``postgres`` user (the Debian package creates it); as anyone else
it runs as that user.

``ATIENDE_TEST_POSTGRES_URL`` (an admin URL, e.g. ``postgres://postgres@127.0.0.1:5432/postgres``)
points the suite at an existing server instead: only databases are created there.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

from ._support import LOOPBACK, free_port, server_unavailable


def _pg_bin() -> Path:
    """Debian's PostgreSQL 15 binaries (bookworm), else the newest installed major."""
    preferred = Path("/usr/lib/postgresql/15/bin")
    if preferred.exists():
        return preferred
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else preferred


PG_BIN = _pg_bin()
ENV_URL = "ATIENDE_TEST_POSTGRES_URL"
_SERVER_SETTINGS = (
    "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
    "-c max_connections=50 -c shared_buffers=32MB"
)


class PostgresServer:
    """One PostgreSQL for the session; ``create_database()`` for each test."""

    def __init__(self) -> None:
        self.port = 0
        self.base: Path | None = None
        self.admin_url = ""
        self._run_as: dict[str, Any] = {}
        self._names = itertools.count(1)

    def start(self) -> Self:
        """Use ``ATIENDE_TEST_POSTGRES_URL`` if set, else initdb + start our own."""
        if url := os.environ.get(ENV_URL):
            self.admin_url = url
            return self
        if not (PG_BIN / "pg_ctl").exists():
            server_unavailable(f"PostgreSQL is not installed ({PG_BIN}/pg_ctl missing)")
        if os.geteuid() == 0:
            try:
                owner = pwd.getpwnam("postgres")
            except KeyError:
                server_unavailable("system user 'postgres' missing")
            self._run_as = {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}
        self.base = Path(tempfile.mkdtemp(prefix="atiende-postgres-"))
        if self._run_as:
            os.chown(self.base, self._run_as["user"], self._run_as["group"])
        data = self.base / "data"
        self._run(
            [
                PG_BIN / "initdb",
                "-D",
                data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
                "--no-instructions",
            ],
            timeout=60,
        )
        for _attempt in range(3):
            self.port = free_port()
            options = (
                f"-c listen_addresses={LOOPBACK} -p {self.port} -k {self.base} {_SERVER_SETTINGS}"
            )
            result = self._run(
                [
                    PG_BIN / "pg_ctl",
                    "-D",
                    data,
                    "-l",
                    self.base / "server.log",
                    "-o",
                    options,
                    "-w",
                    "-t",
                    "30",
                    "start",
                ],
                timeout=60,
                check=False,
            )
            if result.returncode == 0:
                self.admin_url = f"postgres://postgres@{LOOPBACK}:{self.port}/postgres"
                return self
        raise RuntimeError(f"PostgreSQL did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        """Immediate shutdown (nothing to keep) and remove the temp dir."""
        if self.base is None:
            return
        data = self.base / "data"
        if (data / "postmaster.pid").exists():
            self._run(
                [PG_BIN / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                timeout=30,
                check=False,
            )
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        log = self.base / "server.log" if self.base else None
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def _run(
        self, argv: list[Any], *, timeout: float, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(a) for a in argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,
            env={**os.environ, "LC_ALL": "C"},
            **self._run_as,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({result.returncode}):\n{result.stderr}")
        return result

    # --- databases -------------------------------------------------------------------
    def next_database_name(self) -> str:
        """``atiende_test_<n>``, unique within this process (and this server)."""
        return f"atiende_test_{os.getpid()}_{next(self._names)}"

    def url_for(self, database: str) -> str:
        """The admin URL with its database swapped for ``database``."""
        parts = urlsplit(self.admin_url)
        return urlunsplit(parts._replace(path=f"/{database}"))

    async def create_database(self, *, template: str | None = None, name: str | None = None) -> str:
        """CREATE a fresh database (empty, or a copy of ``template``); returns its URL.

        A copy of a migrated template costs a few milliseconds where migrating an empty
        database costs a second: the suite's PostgreSQL half hands every test a copy.
        The template must have no open sessions while it is copied.
        """
        import asyncpg  # the project's "postgres" extra; only tests that use PG need it

        name = name or self.next_database_name()
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await conn.close()
        return self.url_for(name)

    async def drop_database(self, url: str) -> None:
        """DROP a database made by ``create_database`` (even with sessions left open)."""
        import asyncpg

        name = urlsplit(url).path.lstrip("/")
        conn = await asyncpg.connect(self.admin_url, timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

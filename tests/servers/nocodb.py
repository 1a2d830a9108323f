"""A real NocoDB (0.262.5, Node 20, SQLite metadata) for the test session.

``scripts/install-nocodb.sh`` installs it into ``.cache/nocodb`` (or ``NOCODB_DIR``);
``NocoDBServer`` starts ``server.js`` there on a free port of 127.0.0.1 with its own
metadata file, signs up the first user, makes an API token (``xc-token``), and hands
each test a fresh empty base (``new_base()``), so tests never see each other's rows.
Local webhooks are allowed (``NC_ALLOW_LOCAL_HOOKS``): the tests' Atiende listens on
127.0.0.1 too. Without Node or the install, the tests skip with one clear reason.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

import pytest

from ._support import LOOPBACK, free_port

ROOT = Path(__file__).resolve().parents[2]
NOCODB_DIR = Path(os.environ.get("NOCODB_DIR", ROOT / ".cache" / "nocodb"))
EMAIL = "admin@example.com"
PASSWORD = "Admin123456!"
START_TIMEOUT = 90.0


def _skip(reason: str) -> None:
    pytest.skip(f"NocoDB tests skipped: {reason} (run: bash scripts/install-nocodb.sh)")


class NocoDBServer:
    """One NocoDB for the session; ``new_base()`` for each test."""

    def __init__(self) -> None:
        self.url = ""
        self.token = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmp: Path | None = None
        self._names = itertools.count(1)

    def start(self) -> Self:
        if shutil.which("node") is None:
            _skip("node is not installed")
        if not (NOCODB_DIR / "node_modules" / "nocodb").is_dir():
            _skip(f"NocoDB is not installed in {NOCODB_DIR}")
        self._tmp = Path(tempfile.mkdtemp(prefix="atiende-nocodb-"))
        port = free_port()
        env = dict(os.environ, NC_DB=f"sqlite3://?q=sqlite3&d={self._tmp}/noco.db",
                   NC_TOOL_DIR=str(self._tmp), NC_DISABLE_TELE="true",
                   NC_AUTH_JWT_SECRET="atiende-tests", NC_ALLOW_LOCAL_HOOKS="true",
                   HOST=LOOPBACK, PORT=str(port))
        log = (self._tmp / "server.log").open("wb")
        self._proc = subprocess.Popen(["node", "server.js"], cwd=NOCODB_DIR, env=env,
                                      stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.url = f"http://{LOOPBACK}:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log_tail()
                self.stop()
                raise RuntimeError(f"NocoDB did not start:\n{tail}")
            time.sleep(0.2)
        jwt = self.call("POST", "/api/v1/auth/user/signup",
                        {"email": EMAIL, "password": PASSWORD})["token"]
        self.token = self.call("POST", "/api/v1/tokens", {"description": "atiende tests"},
                               headers={"xc-auth": jwt})["token"]
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(5)
            self._proc = None
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        log = self._tmp / "server.log" if self._tmp else None
        if log is None or not log.exists():
            return ""
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])

    def call(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        """One request with the API token (stdlib, blocking: for set-up and assertions)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("xc-token", self.token)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} -> {exc.code}: {exc.read()[:300]!r}") from None

    def new_base(self) -> str:
        """A fresh empty base; returns its id."""
        return str(self.call("POST", "/api/v2/meta/bases",
                             {"title": f"Soporte {next(self._names)}"})["id"])

    def tables(self, base_id: str) -> dict[str, str]:
        """Table title -> id in a base."""
        found = self.call("GET", f"/api/v2/meta/bases/{base_id}/tables")["list"]
        return {t["title"]: t["id"] for t in found}

    def rows(self, table_id: str, where: str = "") -> list[dict[str, Any]]:
        """Every row of a table (pages of 1000)."""
        out: list[dict[str, Any]] = []
        offset = 0
        while True:
            query = f"?limit=1000&offset={offset}"
            if where:
                query += "&where=" + urllib.request.quote(where)
            page = self.call("GET", f"/api/v2/tables/{table_id}/records{query}")
            out.extend(page["list"])
            if page["pageInfo"].get("isLastPage", True):
                return out
            offset += len(page["list"])

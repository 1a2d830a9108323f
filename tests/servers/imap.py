"""A real Dovecot IMAP server on 127.0.0.1, from one config file in a temp dir.

Why Dovecot and not aioimaplib's mock: the mock does not mark appended mail UNSEEN and
never pushes during IDLE, which is exactly what the email front end relies on.

One Dovecot runs per test session (start ~15 ms, but SIGTERM shutdown takes ~1 s);
each test gets its own user, hence an empty Maildir (``DovecotServer.new_account``).
Each user has its own passwd-file (``users/<user>``, the path takes ``%u``): Dovecot
opens a new one on first login, so adding a user needs no reload. (One shared file is
re-read only when its mtime or size changes, which two quick same-length writes miss.)
Needs root (Dovecot's master drops to ``vmail``/``dovenull``/``dovecot``; its login
process refuses to run as root).
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

from aioimaplib import IMAP4

from ._support import LOOPBACK, free_port, port_open, server_unavailable

DOVECOT = "/usr/sbin/dovecot"
MAIL_USER = "vmail"
_FLAGS = re.compile(rb"FLAGS \(([^)]*)\)")

_CONFIG = """\
# Written by tests/servers/imap.py for one test session.
base_dir = {base}/run
state_dir = {base}/state
instance_name = atiende-test-{port}
log_path = {base}/dovecot.log
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_uid = {uid}
mail_gid = {gid}
mail_location = maildir:{base}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {base}/users/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={base}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@dataclass(frozen=True)
class ImapAccount:
    """One mailbox user on the running Dovecot, with helpers that speak real IMAP."""

    host: str
    port: int
    user: str
    password: str

    async def _client(self) -> IMAP4:
        client = IMAP4(host=self.host, port=self.port, timeout=5)
        await client.wait_hello_from_server()
        response = await client.login(self.user, self.password)
        if response.result != "OK":
            raise AssertionError(f"IMAP login failed for {self.user}: {response.lines}")
        return client

    async def append(self, raw: bytes, folder: str = "INBOX", flags: str | None = None) -> None:
        """APPEND a raw RFC 822 message (unseen unless ``flags`` says ``\\Seen``)."""
        client = await self._client()
        try:
            if folder != "INBOX":
                await client.create(folder)  # NO if it exists: fine
            response = await client.append(raw, mailbox=folder, flags=flags)
            if response.result != "OK":
                raise AssertionError(f"APPEND to {folder} failed: {response.lines}")
        finally:
            await client.logout()

    async def append_many(self, raws: list[bytes]) -> None:
        """APPEND many unseen messages to INBOX over one connection (a full mailbox)."""
        client = await self._client()
        try:
            for raw in raws:
                response = await client.append(raw, mailbox="INBOX")
                if response.result != "OK":
                    raise AssertionError(f"APPEND failed: {response.lines}")
        finally:
            await client.logout()

    async def list_flags(self, folder: str = "INBOX") -> list[set[str]]:
        """The flags of every message in ``folder``, in sequence order."""
        client = await self._client()
        try:
            selected = await client.select(folder)
            if selected.result != "OK":
                raise AssertionError(f"SELECT {folder} failed: {selected.lines}")
            if not any(
                line.endswith(b"EXISTS") and not line.startswith(b"0 ") for line in selected.lines
            ):
                return []
            response = await client.fetch("1:*", "(FLAGS)")
            return [
                set(m.group(1).decode().split())
                for line in response.lines
                if isinstance(line, bytes) and (m := _FLAGS.search(line))
            ]
        finally:
            await client.logout()

    async def seen_count(self, folder: str = "INBOX") -> int:
        """How many messages in ``folder`` are marked ``\\Seen``."""
        return sum("\\Seen" in flags for flags in await self.list_flags(folder))


class DovecotServer:
    """Dovecot for one test session; ``new_account()`` per test."""

    def __init__(self, password: str = "imap-secret") -> None:
        self.host = LOOPBACK
        self.port = 0
        self.password = password
        self.base: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._users = itertools.count(1)

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> Self:
        """Write the config, start Dovecot in the foreground as our child, wait for it."""
        if not os.access(DOVECOT, os.X_OK):
            server_unavailable(f"Dovecot is not installed ({DOVECOT} missing)")
        if os.geteuid() != 0:
            server_unavailable("Dovecot tests run only as root (the master switches users)")
        for system_user in ("dovecot", "dovenull"):
            _require_user(system_user)
        mail_user = _ensure_mail_user()
        self.base = Path(tempfile.mkdtemp(prefix="atiende-dovecot-"))
        self.base.chmod(0o755)  # login/auth processes run as dovenull/dovecot
        (self.base / "mail").mkdir(mode=0o700)
        os.chown(self.base / "mail", mail_user.pw_uid, mail_user.pw_gid)
        (self.base / "users").mkdir(mode=0o755)
        for _attempt in range(3):
            self.port = free_port()
            config = self.base / "dovecot.conf"
            config.write_text(
                _CONFIG.format(
                    base=self.base,
                    host=self.host,
                    port=self.port,
                    uid=mail_user.pw_uid,
                    gid=mail_user.pw_gid,
                )
            )
            if self._launch(config):
                return self
        raise RuntimeError(f"Dovecot did not start; log:\n{self.log_tail()}")

    def _launch(self, config: Path) -> bool:
        assert self.base is not None
        with open(self.base / "stderr.log", "ab") as stderr:
            self._process = subprocess.Popen(
                [DOVECOT, "-F", "-c", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if port_open(self.port):
                return True
            if self._process.poll() is not None:  # e.g. the port was taken meanwhile
                return False
            time.sleep(0.01)
        self.stop()
        raise TimeoutError(f"Dovecot not listening after 10 s; log:\n{self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM the master (via master.pid), wait for it, remove the temp dir."""
        process, self._process = self._process, None
        if process is not None:
            pid_file = self.base / "run" / "master.pid" if self.base else None
            pid = int(pid_file.read_text()) if pid_file and pid_file.exists() else process.pid
            try:
                os.kill(pid, signal.SIGTERM)
                process.wait(timeout=5)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self.base is not None:
            shutil.rmtree(self.base, ignore_errors=True)
            self.base = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        """The end of Dovecot's logs, for failure messages."""
        if self.base is None:
            return ""
        text = ""
        for name in ("stderr.log", "dovecot.log"):
            path = self.base / name
            if path.exists():
                text += path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # --- accounts --------------------------------------------------------------------
    def new_account(self, password: str | None = None) -> ImapAccount:
        """A new user with an empty mailbox (Dovecot creates the Maildir on login)."""
        assert self.base is not None, "DovecotServer is not started"
        user = f"test{next(self._users)}@atiende.test"
        password = password or self.password
        path = self.base / "users" / user
        path.write_text(f"{user}:{{PLAIN}}{password}::::::\n")
        path.chmod(0o644)  # read by the auth process (user dovecot)
        return ImapAccount(self.host, self.port, user, password)


def _require_user(name: str) -> None:
    try:
        pwd.getpwnam(name)
    except KeyError:
        server_unavailable(f"system user {name!r} missing (dovecot-core creates it)")


def _ensure_mail_user() -> pwd.struct_passwd:
    """The unprivileged owner of the Maildirs; created (``useradd -r``) if missing."""
    try:
        return pwd.getpwnam(MAIL_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "-r", "-U", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", MAIL_USER],
            check=True,
            capture_output=True,
            timeout=30,
        )
        return pwd.getpwnam(MAIL_USER)

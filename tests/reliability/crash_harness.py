"""Helpers for the crash-safety test: the real ``atiende run`` in a subprocess that the
test kills with SIGKILL and restarts, customers that keep writing meanwhile, and the
accounting of what the fakes received.

Why a subprocess: only a real process killed with SIGKILL loses its memory, its open
transactions and its half-sent requests the way a power cut or the OOM killer does.
The test process opens the same SQLite file (WAL, busy_timeout) to queue replies, the
way a second ``atiende`` command would.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
from aioimaplib import IMAP4

from bot.incoming.inbox_items import PENDING
from bot.outgoing.outbox import IN_FLIGHT, UNCERTAIN
from bot.process.domain import DeliveryStatus
from db.models import InboxItem, Interaction, Lease, OutboxMessage
from tests.servers import FakeGraph, ImapAccount, SmtpServer, sign_whatsapp

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
APP_SECRET = "crash-test-app-secret"
SMTP_FROM = "Soporte <soporte@empresa.cl>"
_OUR_MESSAGE_ID = re.compile(r"<atiende-(\d+)\.")


def atiende_env(*, database_url: str, data_dir: Path, http_port: int, graph: FakeGraph,
                imap: ImapAccount, smtp: SmtpServer) -> dict[str, str]:
    """A clean ``ATIENDE_`` environment: WhatsApp against the fake Graph, email against
    the real Dovecot and the SMTP capture, no chat front end (console on stdin)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "ATIENDE_DATA_DIR": str(data_dir),
        "ATIENDE_DATABASE_URL": database_url,
        "ATIENDE_HTTP_HOST": "127.0.0.1",
        "ATIENDE_HTTP_PORT": str(http_port),
        "ATIENDE_LOG_LEVEL": "INFO",
        "ATIENDE_WHATSAPP_API_URL": graph.api_url,
        "ATIENDE_WHATSAPP_TOKEN": graph.access_token,
        "ATIENDE_WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
        "ATIENDE_WHATSAPP_APP_SECRET": APP_SECRET,
        "ATIENDE_WHATSAPP_VERIFY_TOKEN": "crash-verify",
        "ATIENDE_IMAP_HOST": imap.host,
        "ATIENDE_IMAP_PORT": str(imap.port),
        "ATIENDE_IMAP_TLS": "false",
        "ATIENDE_IMAP_USER": imap.user,
        "ATIENDE_IMAP_PASSWORD": imap.password,
        "ATIENDE_IMAP_POLL_SECONDS": "3",
        "ATIENDE_SMTP_HOST": smtp.host,
        "ATIENDE_SMTP_PORT": str(smtp.port),
        "ATIENDE_SMTP_SECURITY": "none",
        "ATIENDE_SMTP_USER": smtp.user,
        "ATIENDE_SMTP_PASSWORD": smtp.password,
        "ATIENDE_SMTP_FROM": SMTP_FROM,
    })
    return env


class AtiendeProcess:
    """``python -m bot run`` as a child process: start (wait for /healthz), SIGKILL, stop.

    stdin stays an open pipe: without a chat front end ``run`` opens the console, which
    ends at end of input. Output goes to a log file (a full pipe would block the child).
    """

    def __init__(self, env: dict[str, str], cwd: Path, port: int, log_path: Path) -> None:
        self.env, self.cwd, self.port, self.log_path = env, cwd, port, log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    async def start(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.proc = self._spawn()
        self.starts += 1
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise AssertionError(f"atiende run exited ({self.proc.returncode}):\n"
                                         f"{self.log_tail()}")
                try:
                    if (await http.get(f"{self.url}/healthz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)  # bounded wait for a real process
        raise AssertionError(f"atiende run not healthy after {timeout}s:\n{self.log_tail()}")

    def _spawn(self) -> subprocess.Popen[bytes]:
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== start {self.starts + 1} =====\n".encode())
            log.flush()
            return subprocess.Popen([PYTHON, "-m", "bot", "run"], stdin=subprocess.PIPE,
                                    stdout=log, stderr=log, cwd=self.cwd, env=self.env)

    def kill(self) -> bool:
        """SIGKILL now (safe to call from any thread); False if it was not running."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return False
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        self.kills += 1
        return True

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM and wait (a clean shutdown); SIGKILL if it hangs. Returns the code."""
        proc = self.proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc.stdin is not None:
            proc.stdin.close()
        return proc.returncode

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tracebacks(self) -> list[str]:
        """Every log record that carries a traceback (its message plus the traceback)."""
        records: list[list[str]] = []
        for line in self.log_text().splitlines():
            if _RECORD.match(line) or line.startswith("====="):
                records.append([line])
            elif records:
                records[-1].append(line)
        return ["\n".join(r) for r in records if any(x.startswith("Traceback") for x in r)]


_RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ")


def final_error(record: str) -> str:
    """The last line of a traceback record: the exception that ended it."""
    lines = [line for line in record.splitlines() if line.strip()]
    return lines[-1] if lines else ""


async def expire_leases(now: datetime | None = None) -> int:
    """Let the claims of a killed worker run out, as if the outage outlasted the lease.

    Only call while no ``atiende run`` is alive: a dead worker's claimed rows keep
    ``next_attempt_at`` LEASE_SECONDS (120 s) ahead; moving it to now is what waiting
    120 s would do, without the wait.
    """
    now = now or datetime.now(UTC)
    # The inbox's claims too (a message stored, then the process died mid-processing).
    await InboxItem.filter(status=PENDING, next_attempt_at__gt=now).update(next_attempt_at=now)
    await Lease.filter(expires_at__gt=now).update(expires_at=now)  # once-only loops too
    return await OutboxMessage.filter(status=DeliveryStatus.PENDING,
                                      last_error__startswith=IN_FLIGHT,
                                      next_attempt_at__gt=now).update(next_attempt_at=now)


# --- customers ----------------------------------------------------------------------
def customer_email(i: int, *, parent: str | None = None) -> tuple[str, bytes]:
    """Email number ``i`` from one of 60 customers; a reply when ``parent`` is given."""
    mail = EmailMessage()
    sender = f"cliente{i % 60:02d}@example.cl"
    message_id = f"<crash-{i:04d}.{i * 7919 % 100000:05d}@example.cl>"
    mail["From"] = f"Cliente {i % 60} <{sender}>"
    mail["To"] = SMTP_FROM
    mail["Subject"] = f"Re: Consulta {i}" if parent else f"Consulta {i}"
    mail["Date"] = format_datetime(datetime(2026, 11, 24, 12, 0, tzinfo=UTC))
    mail["Message-ID"] = message_id
    if parent:
        mail["In-Reply-To"] = parent
        mail["References"] = parent
    mail.set_content(f"Hola, mensaje {i} del cliente.\nNo me funciona el correo.\n")
    return message_id, bytes(mail)


class ImapAppender:
    """APPENDs over one logged-in connection (a login per message would be the
    bottleneck of the test, not the product)."""

    def __init__(self, account: ImapAccount) -> None:
        self._account = account
        self._client: IMAP4 | None = None

    async def __aenter__(self) -> ImapAppender:
        client = IMAP4(host=self._account.host, port=self._account.port, timeout=10)
        await client.wait_hello_from_server()
        response = await client.login(self._account.user, self._account.password)
        assert response.result == "OK", response.lines
        self._client = client
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.logout()

    async def append(self, raw: bytes) -> None:
        assert self._client is not None
        response = await self._client.append(raw, mailbox="INBOX")
        assert response.result == "OK", response.lines


def whatsapp_body(payload: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    import json

    body = json.dumps(payload).encode()
    return body, {"Content-Type": "application/json",
                  "X-Hub-Signature-256": sign_whatsapp(APP_SECRET, body)}


class WebhookSender:
    """POSTs signed webhooks like Meta: anything but a 2xx (refused connection, reset,
    503) is delivered again later, once the process is back (``up`` is set)."""

    def __init__(self, proc: AtiendeProcess, up: asyncio.Event, max_attempts: int = 60) -> None:
        self._proc, self._up, self._max = proc, up, max_attempts
        self.accepted = 0
        self.retries = 0
        self.given_up: list[str] = []

    async def deliver(self, key: str, payload: dict[str, Any], http: httpx.AsyncClient) -> None:
        body, headers = whatsapp_body(payload)
        for _attempt in range(self._max):
            await asyncio.wait_for(self._up.wait(), 60)
            try:
                response = await http.post(f"{self._proc.url}/webhooks/whatsapp",
                                           content=body, headers=headers)
                if response.status_code == 200:
                    self.accepted += 1
                    return
            except httpx.HTTPError:
                pass
            self.retries += 1
            await asyncio.sleep(0.05)  # bounded back-off against a real process
        self.given_up.append(key)


# --- accounting at the fakes --------------------------------------------------------
def graph_deliveries(graph: FakeGraph) -> dict[int, int]:
    """Interaction id -> how many messages the Graph fake accepted for it."""
    counts: dict[int, int] = {}
    for body in graph.sent.values():
        key = str(body.get("biz_opaque_callback_data") or "")
        if key.startswith("atiende-") and key[8:].isdigit():
            counts[int(key[8:])] = counts.get(int(key[8:]), 0) + 1
    return counts


def smtp_deliveries(smtp: SmtpServer) -> dict[int, int]:
    """Interaction id -> how many mails the SMTP capture accepted for it."""
    counts: dict[int, int] = {}
    for mail in list(smtp.messages):
        found = _OUR_MESSAGE_ID.search(str(mail.message.get("Message-ID", "")))
        if found:
            counts[int(found.group(1))] = counts.get(int(found.group(1)), 0) + 1
    return counts


async def outbound_rows() -> list[OutboxMessage]:
    return await OutboxMessage.all().order_by("id")


def uncertain(row: OutboxMessage) -> bool:
    return row.status == DeliveryStatus.FAILED and UNCERTAIN in (row.last_error or "")


async def external_id_counts(channel: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ext in await Interaction.filter(channel=channel, external_id__isnull=False) \
            .values_list("external_id", flat=True):
        counts[str(ext)] = counts.get(str(ext), 0) + 1
    return counts


async def wait_until(check: Callable[[], Any], timeout: float, what: str,  # noqa: ASYNC109
                     interval: float = 0.2) -> None:
    """Poll an (async) condition against real processes; AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if asyncio.iscoroutine(last):
            last = await last
        if last is True:
            return
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")

"""Helpers shared by benchmarks 1, 4 and 5 (chat latency, message to card, footprint).

Kept apart from ``bench/_common.py`` (benchmark 2's): statistics and table printing,
settings against the fakes, a migrated SQLite file, the scenarios' team, and reading a
process's memory from ``/proc``. Everything binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.process.domain import Rol  # noqa: E402
from bot.process.settings import Settings  # noqa: E402
from bot.process.views import MemberView  # noqa: E402
from bot.services import Services  # noqa: E402

PYTHON = sys.executable  # the venv the benchmark runs in has the project installed
ADMIN_TELEGRAM_ID = 1001  # Carla, as in tests/conftest.py
SLACK_CHANNEL = "C0SUPPORT"


# --- statistics and tables ---------------------------------------------------------------
def percentile(samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted samples."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def latency_row(name: str, samples_ms: Sequence[float]) -> list[str]:
    """``name, n, p50, p90, p99, max, mean`` formatted in milliseconds."""
    mean = sum(samples_ms) / len(samples_ms) if samples_ms else math.nan
    return [name, str(len(samples_ms)), *(f"{percentile(samples_ms, q):.2f}"
                                          for q in (50, 90, 99)),
            f"{max(samples_ms, default=math.nan):.2f}", f"{mean:.2f}"]


LATENCY_HEADERS = ["path", "n", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms"]


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A Markdown table (pastes into the README as is)."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    print(f"\n{title}\n", flush=True)
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    print(flush=True)


def machine_line() -> str:
    """One line naming the machine, printed under each table (figures are machine-bound)."""
    cpu = "?"
    try:
        for text in Path("/proc/cpuinfo").read_text().splitlines():
            if text.startswith("model name"):
                cpu = text.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"machine: {os.cpu_count()} cores, {cpu}; Python {sys.version.split()[0]}"


# --- settings, database, team --------------------------------------------------------------
def bench_settings(base: Path, **fields: Any) -> Settings:
    """Settings on a fresh SQLite file under ``base`` (no .env read)."""
    return Settings(_env_file=None, data_dir=base / "data",  # type: ignore[call-arg]
                    database_url=f"sqlite://{base / 'atiende.db'}",
                    timezone="America/Santiago", holidays_country="CL",
                    company_name="Hosting Andino", **fields)


async def add_team(services: Services) -> MemberView:
    """The scenarios' team (tests/conftest.py): Carla admin on Telegram, two Slack agents."""
    carla = await services.team.add("Carla", Rol.ADMIN, email="carla@empresa.cl",
                                    telegram_user_id=ADMIN_TELEGRAM_ID)
    await services.team.add("Diego", Rol.AGENT, email="diego@empresa.cl",
                            slack_user_id="UDIEGO")
    await services.team.add("Sofía", Rol.AGENT, email="sofia@empresa.cl",
                            slack_user_id="USOFIA")
    return carla


# --- processes ---------------------------------------------------------------------------------
def proc_memory_kb(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM (peak RSS), RssAnon, RssFile of a live process, in kB."""
    found: dict[str, int] = {}
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = text.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "Threads"):
            found[key] = int(value.split()[0])
    return found


def ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


# --- every fake, and `atiende run` against them -----------------------------------------------
WA_APP_SECRET = "bench-app-secret"
WA_VERIFY_TOKEN = "bench-verify-token"
SLACK_SIGNING_SECRET = "bench-signing-secret"


class Fakes:
    """The fake Telegram/Slack/Graph servers (this loop), aiosmtpd and Dovecot.

    ``env(base, http_port)`` is the ``ATIENDE_*`` environment that points ``atiende run``
    at all of them (``full=False``: no front end configured, the console-only mode).
    """

    def __init__(self, *, imap: bool = True) -> None:
        from tests.servers import DovecotServer, FakeGraph, FakeSlack, FakeTelegram, SmtpServer

        self.telegram = FakeTelegram()
        self.slack = FakeSlack()
        self.graph = FakeGraph()
        self.smtp = SmtpServer()
        self.dovecot = DovecotServer() if imap else None
        self.account: Any = None

    async def __aenter__(self) -> Fakes:
        await self.telegram.start()
        await self.slack.start()
        await self.graph.start()
        self.slack.add_channel(SLACK_CHANNEL, "soporte")
        self.slack.add_user("UDIEGO", "diego@empresa.cl", "Diego")
        self.slack.add_user("USOFIA", "sofia@empresa.cl", "Sofía")
        self.smtp.start()
        if self.dovecot is not None:
            self.dovecot.start()
            self.account = self.dovecot.new_account()
            await self.account.append(b"From: a@b.cl\r\nSubject: warm-up\r\n\r\nhola\r\n",
                                      flags="\\Seen")  # creates the Maildir
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self.dovecot is not None:
            self.dovecot.stop()
        self.smtp.stop()
        for fake in (self.graph, self.slack, self.telegram):
            await fake.stop()

    def fields(self) -> dict[str, Any]:
        """Settings fields of every front end (for ``Settings`` or as env vars)."""
        fields: dict[str, Any] = {
            "telegram_token": self.telegram.token,
            "telegram_api_url": self.telegram.base_url,
            "slack_bot_token": self.slack.token,
            "slack_signing_secret": SLACK_SIGNING_SECRET,
            "slack_api_url": self.slack.api_url,
            "slack_channel": SLACK_CHANNEL,
            "whatsapp_api_url": self.graph.api_url,
            "whatsapp_token": self.graph.access_token,
            "whatsapp_phone_number_id": self.graph.phone_number_id,
            "whatsapp_app_secret": WA_APP_SECRET,
            "whatsapp_verify_token": WA_VERIFY_TOKEN,
            "smtp_host": self.smtp.host, "smtp_port": self.smtp.port,
            "smtp_security": "none", "smtp_user": self.smtp.user,
            "smtp_password": self.smtp.password, "smtp_from": "soporte@empresa.cl",
        }
        if self.account is not None:
            fields.update(imap_host=self.account.host, imap_port=self.account.port,
                          imap_tls=False, imap_user=self.account.user,
                          imap_password=self.account.password)
        return fields


def run_env(base: Path, http_port: int, fields: dict[str, Any] | None = None) -> dict[str, str]:
    """Environment for ``python -m bot run`` in a subprocess (``.env`` is not read:
    the working directory is ``base``)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT),
           "HOME": str(base), "LANG": "C.UTF-8",
           "ATIENDE_DATA_DIR": str(base / "data"),
           "ATIENDE_DATABASE_URL": f"sqlite://{base / 'atiende.db'}",
           "ATIENDE_TIMEZONE": "America/Santiago", "ATIENDE_HOLIDAYS_COUNTRY": "CL",
           "ATIENDE_COMPANY_NAME": "Hosting Andino", "ATIENDE_LOG_LEVEL": "WARNING",
           "ATIENDE_HTTP_HOST": "127.0.0.1", "ATIENDE_HTTP_PORT": str(http_port)}
    for key, value in (fields or {}).items():
        env[f"ATIENDE_{key.upper()}"] = str(value).lower() if isinstance(value, bool) \
            else str(value)
    return env


async def prepare_database(base: Path) -> None:
    """A migrated SQLite file with the scenarios' team, then closed (for a subprocess)."""
    from db.connection import close_database, open_database, upgrade

    settings = bench_settings(base)
    from bot.services import build_services

    url = settings.effective_database_url
    await upgrade(url)
    await open_database(url)
    try:
        await add_team(build_services(settings))
    finally:
        await close_database()


def free_port() -> int:
    from tests.servers._support import free_port as pick

    return pick()


@asynccontextmanager
async def atiende_run(base: Path, env: dict[str, str], *,
                      stdout: int = subprocess.PIPE
                      ) -> AsyncIterator[tuple[subprocess.Popen[bytes], float]]:
    """``atiende run`` as a subprocess in ``base``, its stderr in ``base/stderr.log``.

    Yields the process and its start instant; on an error prints the log's tail; always
    stops it (SIGTERM, then SIGKILL after 30 s).
    """
    log = (base / "stderr.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(  # noqa: ASYNC220 (returns at once; callers poll it)
        [PYTHON, "-m", "bot", "run"], cwd=base, env=env, stdin=subprocess.PIPE,
        stdout=stdout, stderr=log)
    try:
        yield proc, started
    except BaseException:
        log.flush()
        print((base / "stderr.log").read_text(errors="replace")[-3000:])
        raise
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, 30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()

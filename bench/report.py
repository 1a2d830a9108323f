"""Benchmark 6: ``/reporte`` over a year of 50,000 tickets, and the idle footprint with
charts imported lazily.

Run: ``python bench/report.py --dir DIR [--tickets 50000] [--runs 5] [--settle 8]``

``DIR`` keeps a migrated SQLite file with the scenarios' team and ``--tickets`` generated
tickets spread over the last 365 days (made once, reused by later runs). Then:

1. **/reporte**: the real ``TelegramFrontEnd`` (no polling) against the fake Bot API in
   this process; the administrator's ``/reporte <a year ago> <today>`` goes through
   ``Application.process_update``, which returns once the summary and the six-chart album
   are at the fake. The first run pays matplotlib's import; the others do not. The core's
   share is timed apart: the figures (query + compute) and the charts (drawing). Wall
   time and this process's CPU time (all threads, the fake's included) are both shown:
   on a shared machine the CPU time is what one free core would take.
2. **Idle footprint**: ``atiende run`` as a subprocess on the same database with Telegram,
   Slack, WhatsApp and SMTP pointed at the fakes; after ``--settle`` seconds its RSS is
   read from ``/proc`` and its memory map is searched for matplotlib (it must be absent).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import signal
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _harness as h

from bot.app.frontend import wired
from bot.jobs.weekly_report import KV_NAMESPACE
from bot.process.clock import SystemClock


async def prepare(base: Path, tickets: int) -> None:
    """The database once: migrated, the team, ``tickets`` tickets over the last year."""
    from bot.services import build_services
    from db.connection import close_database, open_database
    from db.models import TeamMember, Ticket
    from tests.core.reports.harness import generate_tickets

    if not (base / "atiende.db").exists():
        await h.prepare_database(base)
    settings = h.bench_settings(base)
    await open_database(settings.effective_database_url)
    try:
        have = await Ticket.all().count()
        if have < tickets:
            build_services(settings)
            now = datetime.now(UTC)
            members = list(await TeamMember.all().values_list("id", flat=True))
            started = time.perf_counter()
            await generate_tickets(tickets - have, now - timedelta(days=365), now,
                                   member_ids=members, seed=have + 1)
            print(f"generated {tickets - have} tickets in {time.perf_counter() - started:.1f} s")
        # Steady state: this week's report already went out (else ``atiende run`` would
        # post it at start-up, drawing charts, and the idle figure would include them).
        today = datetime.now(UTC).astimezone(settings.zone).date()
        monday = today - timedelta(days=today.weekday())
        await build_services(settings).kv.add_if_absent(
            KV_NAMESPACE, f"weekly:{monday.isoformat()}", {"claimed_at": "bench"})
    finally:
        await close_database()


async def time_reporte(base: Path, runs: int) -> list[list[str]]:
    from bot.reports import ReportService
    from bot.reports.charts import render_charts
    from bot.services import build_services
    from db.connection import close_database, open_database
    from handlers.telegram.app import TelegramFrontEnd
    from handlers.telegram.transport import parse_update
    from tests.servers import FakeTelegram
    from tests.servers import telegram_updates as tu

    fake = FakeTelegram()
    await fake.start()
    settings = h.bench_settings(base, telegram_token=fake.token, telegram_api_url=fake.base_url)
    await open_database(settings.effective_database_url)
    services = build_services(settings, SystemClock())
    front = wired(services, TelegramFrontEnd(services, fetch_updates=False))
    await front.start()
    today = datetime.now(UTC).astimezone(settings.zone).date()
    words = f"{today - timedelta(days=364):%Y-%m-%d} {today:%Y-%m-%d}"
    totals, figures_ms, charts_ms = [], [], []
    cpu_totals, cpu_figures, cpu_charts = [], [], []
    try:
        for _ in range(runs):
            fake.clear()
            update = tu.make_message_update(h.ADMIN_TELEGRAM_ID, h.ADMIN_TELEGRAM_ID,
                                            f"/reporte {words}")
            parsed = parse_update(copy.deepcopy(update), front.application.bot)
            started, cpu = time.perf_counter(), time.process_time()
            await front.application.process_update(parsed)
            totals.append(h.ms_since(started))
            cpu_totals.append((time.process_time() - cpu) * 1000)
            album = fake.calls_to("sendMediaGroup")
            if len(album) != 1 or len(album[0].params["media"]) != 6:
                raise RuntimeError(f"no album: {[c.method for c in fake.calls]}")
        reports = ReportService(settings, services.clock)
        period = reports.period(words.split())
        for _ in range(runs):
            started, cpu = time.perf_counter(), time.process_time()
            f = await reports.figures(period)
            figures_ms.append(h.ms_since(started))
            cpu_figures.append((time.process_time() - cpu) * 1000)
            started, cpu = time.perf_counter(), time.process_time()
            render_charts(f, settings.first_response_hours, settings.resolution_business_hours)
            charts_ms.append(h.ms_since(started))
            cpu_charts.append((time.process_time() - cpu) * 1000)
        print(f"period {period.label}: {f.created} tickets created, {len(f.weeks)} weeks")
    finally:
        await front.stop()
        await close_database()
        await fake.stop()
    med = statistics.median
    later = (f"{med(totals[1:]):.0f}", f"{med(cpu_totals[1:]):.0f}") if runs > 1 else "--"
    return [
        ["/reporte, first (imports matplotlib)", "1", f"{totals[0]:.0f}",
         f"{cpu_totals[0]:.0f}"],
        ["/reporte, later runs (median)", str(runs - 1), *later],
        ["  figures: query + compute (median)", str(runs), f"{med(figures_ms):.0f}",
         f"{med(cpu_figures):.0f}"],
        ["  six charts drawn (median)", str(runs), f"{med(charts_ms):.0f}",
         f"{med(cpu_charts):.0f}"],
    ]


async def idle_footprint(base: Path, settle: float) -> list[list[str]]:
    async with h.Fakes(imap=False) as fakes:
        port = h.free_port()
        env = h.run_env(base, port, fakes.fields())
        async with h.atiende_run(base, env) as (proc, _):
            await asyncio.sleep(settle)
            if proc.poll() is not None:
                raise RuntimeError(f"atiende run exited with {proc.returncode}")
            memory = h.proc_memory_kb(proc.pid)
            maps = Path(f"/proc/{proc.pid}/maps").read_text()
            loaded = "matplotlib" in maps
            proc.send_signal(signal.SIGTERM)
            await asyncio.to_thread(proc.wait, 30)
    return [["atiende run, all front ends, idle", f"{memory['VmRSS'] / 1024:.0f}",
             f"{memory['VmHWM'] / 1024:.0f}", "yes" if loaded else "no"]]


async def main(base: Path, tickets: int, runs: int, settle: float) -> None:
    logging.basicConfig(level=logging.WARNING)
    base.mkdir(parents=True, exist_ok=True)
    await prepare(base, tickets)
    h.print_table(f"Benchmark 6a: /reporte over a year ({tickets} tickets in the database)",
                  ["path", "runs", "wall ms", "CPU ms"], await time_reporte(base, runs))
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (2 cores)")
    h.print_table(f"Benchmark 6b: idle footprint after {settle:g} s",
                  ["process", "RSS MB", "peak MB", "matplotlib mapped"],
                  await idle_footprint(base, settle))
    print(h.machine_line())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dir", type=Path, required=True, help="folder for the database")
    parser.add_argument("--tickets", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=8.0)
    args = parser.parse_args()
    asyncio.run(main(args.dir, args.tickets, args.runs, args.settle))

"""The composition root: builds the services, starts every configured front end and
channel, and stops them cleanly on SIGTERM/SIGINT.

This is the one module of ``bot`` that may import front ends (``handlers``); it does so
lazily, so a front end that is not configured costs nothing at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bot.app.frontend import FrontEnd, connect
from bot.incoming.csat import build_csat
from bot.jobs.event_relay import LEASE as EVENTS_LEASE
from bot.jobs.event_relay import carry_events
from bot.jobs.weekly_report import WeeklyReport
from bot.people.team import PLACEHOLDER_ADMIN_NAME
from bot.process.clock import Clock
from bot.process.domain import Rol
from bot.process.errors import DomainError
from bot.process.settings import Settings
from bot.process.views import MemberView
from bot.services import Services, build_services
from bot.storage.leases import Job
from db.connection import close_database, masked_url, open_database, upgrade

if TYPE_CHECKING:
    from bot.reminders import ReminderService

log = logging.getLogger(__name__)

CONFORMITY_SWEEP_SECONDS = 300.0
SHARED_WAKE_SECONDS = 20.0  # several instances: how often the reminder loop looks anyway


async def ensure_admin(services: Services) -> MemberView:
    """The console needs someone to act as: a fresh database gets a default administrator."""
    admin = await services.team.admin()
    if admin is None:
        admin = await services.team.add(PLACEHOLDER_ADMIN_NAME, Rol.ADMIN)
        log.info("no administrator yet: created the placeholder %r (the first "
                 "'atiende team add NAME --role administrador' takes it over)",
                 PLACEHOLDER_ADMIN_NAME)
    return admin


def configured_front_ends(services: Services) -> list[FrontEnd]:
    """Every front end and channel whose settings are present."""
    fronts: list[FrontEnd] = []
    registry: list[tuple[bool, str, str]] = [
        (services.settings.telegram_enabled, "handlers.telegram", "build_front_end"),
        (services.settings.slack_enabled, "handlers.slack", "build_front_end"),
        (services.settings.smtp_enabled or services.settings.imap_enabled,
         "handlers.email", "build_front_end"),
        (services.settings.whatsapp_enabled, "handlers.whatsapp", "build_front_end"),
        (services.settings.nocodb_enabled, "handlers.nocodb", "build_front_end"),
    ]
    for enabled, module_name, factory in registry:
        if not enabled:
            continue
        import importlib

        module = importlib.import_module(module_name)
        fronts.append(getattr(module, factory)(services))
    web = _web_server(services, fronts)
    if web is not None:
        fronts.append(web)
    return fronts


def _web_server(services: Services, fronts: list[FrontEnd]) -> FrontEnd | None:
    try:
        from handlers.web import build_web_server
    except ImportError:
        return None
    return build_web_server(services, fronts)


async def _background(services: Services, stop: asyncio.Event,
                      reminders: ReminderService) -> list[asyncio.Task[None]]:
    async def sweep_conformity(stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await services.conformity.sweep()
            except Exception:
                log.exception("conformity sweep failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), CONFORMITY_SWEEP_SECONDS)

    async def reminders_job(job_stop: asyncio.Event) -> None:
        """The reminder loop; with other instances, looked at every SHARED_WAKE_SECONDS,
        since a ticket changed on another instance cannot wake it."""
        poke = None
        if services.leases.shared:
            poke = asyncio.create_task(_poke(reminders.wake, job_stop))
        try:
            await reminders.run(job_stop)
        finally:
            if poke is not None:
                poke.cancel()

    from bot.jobs.daily_records import DailyJobs

    leased = services.leases.run
    # Once-only loops run where the lease is (issue 14); the outbox and the inbox claim
    # rows and the triage learner is per process, so they run on every instance.
    return [asyncio.create_task(services.outbox.run(stop), name="outbox"),
            asyncio.create_task(services.inbox.run(stop), name="inbox"),
            asyncio.create_task(leased("conformity", sweep_conformity, stop),
                                name="conformity"),
            asyncio.create_task(leased("reminders", reminders_job, stop), name="reminders"),
            asyncio.create_task(services.triage.run(stop), name="triage"),
            asyncio.create_task(leased("records-daily", DailyJobs(services).run, stop),
                                name="records-daily"),
            asyncio.create_task(leased("weekly-report", WeeklyReport(services).run, stop),
                                name="weekly_report")]


async def _poke(wake: Callable[[], None], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), SHARED_WAKE_SECONDS)
        wake()


def exclusive_jobs(fronts: list[FrontEnd]) -> dict[str, Job]:
    """Front ends' once-only loops (Telegram long polling, the IMAP reader), by lease
    name. A front end offers them with ``exclusive_jobs()``, which hands them over: its
    ``start()`` then leaves them to the caller, who runs each under its lease."""
    jobs: dict[str, Job] = {}
    for front in fronts:
        offer = getattr(front, "exclusive_jobs", None)
        if offer is not None:
            jobs.update(offer())
    return jobs


def _install_signal_handlers(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)


async def run(settings: Settings, *, clock: Clock | None = None,
              write: Callable[[str], None] | None = None,
              stop: asyncio.Event | None = None) -> None:
    """``atiende run``: the main job."""
    write = write or _print
    stop = stop or asyncio.Event()
    _install_signal_handlers(stop)  # first: a SIGTERM while migrating still stops cleanly
    await upgrade(settings.effective_database_url)
    await open_database(settings.effective_database_url)
    services = build_services(settings, clock)
    relay = carry_events(services)  # before anything publishes
    problems = services.renderer.check()
    if problems:  # better refuse to start than fail in front of a customer
        await close_database()
        raise DomainError("Las plantillas tienen errores: " + "; ".join(problems[:5]))
    fronts: list[FrontEnd] = []
    tasks: list[asyncio.Task[None]] = []
    try:
        from bot.reminders import build_reminders

        reminders = build_reminders(services)  # subscribes before any event is published
        csat = build_csat(services)  # asks for a rating once a ticket is Resuelto
        await csat.ask_missed()
        fronts = configured_front_ends(services)
        connect(services, fronts)  # what they offer: processors, senders, subscribers, notifiers
        once_only = exclusive_jobs(fronts)  # before start(): see there
        for front in fronts:
            await front.start()
            log.info("started %s", front.name)
        tasks = [asyncio.create_task(services.leases.run(name, job, stop), name=name)
                 for name, job in once_only.items()]
        tasks += await _background(services, stop, reminders)
        if relay is not None:  # one instance redraws every chat's cards
            tasks.append(asyncio.create_task(services.leases.run(EVENTS_LEASE, relay.run, stop),
                                             name=EVENTS_LEASE))
        chat = settings.telegram_enabled or settings.slack_enabled
        if not chat:
            write("No hay ningún chat configurado (ATIENDE_TELEGRAM_TOKEN, "
                  "ATIENDE_SLACK_BOT_TOKEN): abro la consola del administrador sobre "
                  f"{masked_url(settings.effective_database_url)}.")
            await run_console(services, write, stop)
            stop.set()
        await stop.wait()
    finally:
        log.info("stopping")
        stop.set()
        # Background work first (it may still be sending through a front end's
        # client), then the front ends, then the database.
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 10)
        for front in reversed(fronts):
            try:
                await front.stop()
            except Exception:
                log.exception("stopping %s failed", front.name)
        await close_database()


async def run_console(services: Services, write: Callable[[str], None],
                      stop: asyncio.Event | None = None) -> None:
    """The console on standard input, until /salir, end of input, or a stop signal.

    The caller runs the outbox worker; the console only flushes what it queued last.
    """
    from handlers.console import ConsoleFrontEnd

    console = ConsoleFrontEnd(services, await ensure_admin(services), write)
    connect(services, [console])  # prints the channels nobody configured
    await console.start()
    waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(console.finished())}
    if stop is not None:
        waiters.add(asyncio.ensure_future(stop.wait()))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        await services.outbox.deliver_due()  # show what the last command queued
    finally:
        for waiter in waiters:
            waiter.cancel()
        await console.stop()


def _print(text: str) -> None:
    print(text, flush=True)

"""Last week's report, posted by itself on the first business day of each week.

It goes to the support channel and the administrator at ``weekly_report_time`` (local)
on the week's first business day (Tuesday after a Monday holiday), or later that week
if the process was down then. The week is claimed with ``kv.add_if_absent`` before
anything is posted, so a restart or a second instance never posts it twice (the price:
a post that fails after its claim is logged, not retried, as with reminders).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, date, datetime, time, timedelta

from bot.calendar.sla import calendar_for
from bot.process.notify import Audience, Digest
from bot.reports.period import last_week
from bot.reports.service import ReportService
from bot.services import Services

log = logging.getLogger(__name__)

KV_NAMESPACE = "reports"
MAX_SLEEP = timedelta(hours=1)
START_DELAY = 30.0  # seconds: a report due at start-up waits until the front ends are up


class WeeklyReport:
    def __init__(self, services: Services) -> None:
        self._services = services
        self._settings = services.settings
        self._calendar = calendar_for(services.settings)
        hour, minute = (int(x) for x in services.settings.weekly_report_time.split(":"))
        self._at = time(hour, minute)
        self.reports = ReportService(services.settings, services.clock)

    def _scheduled(self, monday: date) -> datetime | None:
        """When this week's report is due: its first business day at the set time."""
        for offset in range(7):
            day = monday + timedelta(days=offset)
            if self._calendar.is_business_day(day):
                local = datetime.combine(day, self._at, tzinfo=self._settings.zone)
                return local.astimezone(UTC)
        return None  # a week without business days has no report

    def due_week(self, now: datetime) -> date | None:
        """The Monday of the current week if its report is due now (claim not checked)."""
        if not self._settings.weekly_report:
            return None
        today = now.astimezone(self._settings.zone).date()
        monday = today - timedelta(days=today.weekday())
        scheduled = self._scheduled(monday)
        return monday if scheduled is not None and now >= scheduled else None

    def next_at(self, now: datetime) -> datetime:
        today = now.astimezone(self._settings.zone).date()
        monday = today - timedelta(days=today.weekday())
        for week in range(1, 60):
            scheduled = self._scheduled(monday + timedelta(days=7 * week))
            if scheduled is not None:
                return scheduled
        return now + MAX_SLEEP

    async def send_if_due(self) -> list[Digest]:
        """Claim this week's report and post it; ``[]`` when not due or already claimed."""
        now = self._services.clock.now()
        monday = self.due_week(now)
        if monday is None:
            return []
        claimed = await self._services.kv.add_if_absent(
            KV_NAMESPACE, f"weekly:{monday.isoformat()}", {"claimed_at": now.isoformat()})
        if not claimed:
            return []
        report = await self.reports.build(last_week(monday, self._settings.zone))
        title = f"Reporte semanal · {report.figures.period.label}"
        admin = await self._services.team.admin()
        digests = [Digest(Audience.CHANNEL, None, title, summary=report.text, report=report)]
        if admin is not None:
            digests.append(Digest(Audience.ADMIN, admin, title, summary=report.text,
                                  report=report))
        for digest in digests:
            await self._deliver(digest)
        log.info("weekly report posted week=%s", monday.isoformat())
        return digests

    async def _deliver(self, digest: Digest) -> None:
        notifier = next((n for n in self._services.notifiers if n.can_reach(digest)), None)
        if notifier is None:
            log.warning("no notifier can reach %s: weekly report not delivered",
                        digest.audience.value)
            return
        try:
            await notifier.deliver(digest)
        except Exception:
            log.exception("weekly report delivery failed via %s", notifier.name)

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: post when due, then sleep until next week's moment (max 1 h)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), START_DELAY)
        while not stop.is_set():
            try:
                await self.send_if_due()
            except Exception:
                log.exception("weekly report failed")
            now = self._services.clock.now()
            delay = min(self.next_at(now) - now, MAX_SLEEP).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(1.0, delay))

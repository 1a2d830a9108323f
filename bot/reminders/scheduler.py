"""The reminder loop: fire what is due, exactly once, as one digest per recipient.

One pass (``fire_due``):
1. due tickets come from the ``next_reminder_at`` index (``<= now``, ordered, batches);
2. each ticket's reached, unclaimed marks are grouped per deadline (``due.py``);
3. every mark is *claimed* by inserting its ``SentReminder`` key before anything is
   posted, so a restart, a second instance or a retried post never sends it twice (the
   price: a post that fails after its claim is logged, not retried);
4. notices are grouped per recipient into one ``Digest`` (a catch-up after downtime is
   one message per person, nothing skipped) and handed to the first notifier in
   ``services.notifiers`` that can reach that recipient.

``run`` sleeps until the earliest of: the next ``next_reminder_at``, the end of the
current quiet period, the next morning summary; a ticket event wakes it early.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import cast

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.process.notify import Digest, Notice
from bot.process.views import MemberView
from bot.services import Services
from db.models import SentReminder, Ticket

from .due import Recipient, TicketDue, notice_for, ordered, plan_ticket
from .planner import MIN_STEP, Planner, sent_keys
from .policy import ClockState, Mark
from .quiet import QuietHours
from .summary import MorningSummary
from .texts import digest_title

log = logging.getLogger(__name__)

BATCH = 200
MAX_BATCHES = 50  # one pass handles up to 10,000 due tickets; the next pass the rest
MAX_SLEEP = timedelta(hours=1)  # re-check now and then (clock jumps, other instances)
RELATED = ("customer", "assignee")
# A range start, not IS NOT NULL: the index keeps NULLs first, and a range seeks past
# them instead of stepping over every ticket that has nothing planned.
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


async def due_tickets(now: datetime, limit: int = BATCH) -> list[Ticket]:
    """The due-reminder query: the ``next_reminder_at`` index, nothing else."""
    return await (Ticket.filter(next_reminder_at__lte=now).order_by("next_reminder_at")
                  .limit(limit).select_related(*RELATED))


async def load_due(services: Services, planner: Planner, quiet: QuietHours, now: datetime,
                   rows: list[Ticket], admin: MemberView | None) -> list[TicketDue]:
    """Plan the notices of a batch of due tickets (no writes)."""
    states = {row.id: ClockState.of(row) for row in rows}
    crossed = {n: planner.crossed(s, now) for n, s in states.items()}
    sent = await sent_keys(m.key for marks, _ in crossed.values() for m in marks)
    return [plan_ticket(row, sent, now, services.settings, quiet, admin) for row in rows]


class ReminderService:
    def __init__(self, services: Services, planner: Planner, quiet: QuietHours) -> None:
        self._services = services
        self._clock = services.clock
        self._planner = planner
        self._quiet = quiet
        self.summary = MorningSummary(services.settings, services.kv, quiet)
        self._wake = asyncio.Event()
        self.passes = 0  # completed passes of ``run`` (lets tests wait without sleeping)
        self.passed = asyncio.Event()

    @property
    def planner(self) -> Planner:
        return self._planner

    def wake(self) -> None:
        """Look again now (a ticket changed)."""
        self._wake.set()

    # --- one pass ---------------------------------------------------------------------
    async def fire_due(self) -> list[Digest]:
        """Claim and send every reminder due now; returns the digests built."""
        now = self._clock.now()
        admin = await self._services.team.admin()
        buckets: dict[Recipient, list[Notice]] = {}
        held: set[Recipient] = set()
        for _ in range(MAX_BATCHES):
            rows = await due_tickets(now)
            if not rows:
                break
            for due, row in zip(await load_due(self._services, self._planner, self._quiet,
                                               now, rows, admin), rows, strict=True):
                for recipient, notice in await self._claim_ticket(due, now):
                    buckets.setdefault(recipient, []).append(notice)
                    if due.held:
                        held.add(recipient)
                await self._replan(row, due, now)
            if len(rows) < BATCH:
                break
        digests = [Digest(r.audience, r.member, digest_title(len(buckets[r]), r in held),
                          tuple(buckets[r])) for r in ordered(buckets)]
        for digest in digests:
            await self._deliver(digest)
        return digests

    async def _claim_ticket(self, due: TicketDue, now: datetime,
                            ) -> list[tuple[Recipient, Notice]]:
        out: list[tuple[Recipient, Notice]] = []
        for group in due.groups:
            labels = [r.label for r in group.recipients]
            won = await self._claim_group(group.marks, now, labels)
            if not won:
                continue  # another instance (or an earlier run) has them
            notice = notice_for(due, max(won, key=lambda m: m.rank), now,
                                self._services.settings)
            out.extend((recipient, notice) for recipient in group.recipients)
            log.info("reminder claimed ticket=#%s deadline=%s marks=%s to=%s", due.ticket.number,
                     group.top.deadline, [m.threshold for m in won], labels)
        return out

    async def _claim_group(self, marks: tuple[Mark, ...], now: datetime,
                           recipients: list[str]) -> list[Mark]:
        """Claim a deadline's marks all together, or none: two instances claiming mark
        by mark could each win one (75 % here, 90 % there) and both post a notice for
        the same deadline (seen on PostgreSQL, where they really run at once). A mark
        someone else claimed meanwhile makes us leave the group to them; any mark they
        did not take is claimed on the next pass."""
        try:
            async with in_transaction():
                for mark in marks:
                    await SentReminder.create(key=mark.key, ticket_id=mark.ticket,
                                              deadline=mark.deadline, threshold=mark.threshold,
                                              due_at=mark.due_at, sent_at=now,
                                              recipients=recipients)
        except IntegrityError:
            return []
        return list(marks)

    async def _replan(self, row: Ticket, due: TicketDue, now: datetime) -> None:
        if due.wait_until is not None:
            when: datetime | None = due.wait_until
        else:
            when = await self._planner.plan(row, now)
        if when is not None and when <= now:  # must not happen; never spin on it
            log.warning("reminder plan not in the future ticket=#%s at=%s", row.id, when)
            when = now + MIN_STEP
        if not await self._planner.store(row, when):
            await self._planner.replan(row.id)  # changed meanwhile: plan from fresh state

    async def _deliver(self, digest: Digest) -> bool:
        who = digest.member.name if digest.member else "canal"
        notifier = next((n for n in self._services.notifiers if n.can_reach(digest)), None)
        if notifier is None:
            log.warning("no notifier can reach %s %s: %d reminder(s) not delivered",
                        digest.audience.value, who, len(digest.notices) or 1)
            return False
        try:
            await notifier.deliver(digest)
        except Exception:
            log.exception("reminder delivery failed via %s to %s %s", notifier.name,
                          digest.audience.value, who)
            return False
        log.info("reminders delivered via %s to %s %s: %d", notifier.name,
                 digest.audience.value, who, len(digest.notices))
        return True

    async def send_summary(self) -> list[Digest]:
        """The morning summary, if today's is due and not yet claimed."""
        now = self._clock.now()
        day = self.summary.due_day(now)
        if day is None or not await self.summary.claim(day, now):
            return []
        digests = await self.summary.digests(now)
        for digest in digests:
            await self._deliver(digest)
        return digests

    # --- the loop ---------------------------------------------------------------------
    async def next_wake(self) -> datetime:
        """The earliest instant something may become due."""
        now = self._clock.now()
        candidates = [now + MAX_SLEEP, self.summary.next_at(now)]
        first = await Ticket.filter(next_reminder_at__gte=EPOCH).order_by(
            "next_reminder_at").first().values_list("next_reminder_at", flat=True)
        if first is not None:
            candidates.append(cast(datetime, first))  # flat=True: the value itself
        if self._quiet.is_quiet(now):
            candidates.append(self._quiet.end(now))
        return min(candidates)

    async def tick(self) -> None:
        await self.fire_due()
        await self.send_summary()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set (``atiende run``)."""
        try:
            await self._planner.backfill()
        except Exception:
            log.exception("reminder backfill failed")
        while not stop.is_set():
            self._wake.clear()
            try:
                await self.tick()
                wake_at = await self.next_wake()
            except Exception:
                log.exception("reminder pass failed")
                wake_at = self._clock.now() + timedelta(minutes=1)
            self.passes += 1
            self.passed.set()
            delay = max(0.0, (wake_at - self._clock.now()).total_seconds())
            waiters = {asyncio.ensure_future(self._wake.wait()),
                       asyncio.ensure_future(stop.wait())}
            _, pending = await asyncio.wait(waiters, timeout=delay,
                                            return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

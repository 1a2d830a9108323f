"""The morning summary: at the start of each business day, where the desk stands.

Sent once per business day at ``morning_summary_time`` (local) to the support channel
and the administrator. The day is claimed with ``services.kv.add_if_absent`` before
posting, so a restart or a second instance never sends it twice. After downtime it is
still sent later that morning (``LATE_GRACE`` after its time), never in the afternoon
or at night, where a "morning" summary would be noise.

Counts come from aggregate queries, so the cost does not grow with closed tickets.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime, time, timedelta
from typing import cast

from tortoise.expressions import Q
from tortoise.functions import Count

from bot.chats.cards import local
from bot.process.notify import Audience, Digest
from bot.process.settings import Settings
from bot.process.views import MemberView
from bot.storage.kv import KeyValueStore
from bot.storage.presenters import member_view
from bot.tickets.queries import OPEN_ESTADOS
from db.models import TeamMember, Ticket

from .quiet import QuietHours

log = logging.getLogger(__name__)

KV_NAMESPACE = "reminders"
_MAX_LISTED = 10
LATE_GRACE = timedelta(hours=4)  # a summary missed by downtime still goes out until then


def summary_time(settings: Settings) -> time:
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", settings.morning_summary_time)
    if match is None:
        raise ValueError(f"hora del resumen inválida {settings.morning_summary_time!r}: "
                         "use HH:MM")
    return time(int(match.group(1)), int(match.group(2)))


def _numbers(ids: list[int], total: int) -> str:
    shown = ", ".join(f"#{n}" for n in ids[:_MAX_LISTED])
    return shown + (f" y {total - _MAX_LISTED} más" if total > _MAX_LISTED else "")


def _overdue(now: datetime) -> Q:
    return (Q(first_response_at__isnull=True, first_response_due__lt=now)
            | Q(resolution_clock_since__isnull=False, resolution_due__lt=now))


class MorningSummary:
    def __init__(self, settings: Settings, kv: KeyValueStore, quiet: QuietHours) -> None:
        self._settings = settings
        self._kv = kv
        self._quiet = quiet
        self._at = summary_time(settings)
        self._done: date | None = None  # saves a failing insert on every pass

    def _start(self, day: date) -> datetime:
        return datetime.combine(day, self._at, tzinfo=self._settings.zone).astimezone(UTC)

    def next_at(self, now: datetime) -> datetime:
        """The next summary instant strictly after the one due now (for the wake-up)."""
        day = now.astimezone(self._settings.zone).date()
        for _ in range(400):
            if self._quiet.is_business_day(day) and self._start(day) > now:
                return self._start(day)
            day += timedelta(days=1)
        raise ValueError("sin días hábiles para el resumen de la mañana")

    def due_day(self, now: datetime) -> date | None:
        """Today's local date if its summary should go out now (not checking the claim)."""
        day = now.astimezone(self._settings.zone).date()
        if not self._quiet.is_business_day(day) or now < self._start(day):
            return None
        if now >= self._start(day) + LATE_GRACE or self._quiet.is_quiet(now):
            return None  # too late for a morning summary: tomorrow brings a fresh one
        return day

    async def claim(self, day: date, now: datetime) -> bool:
        if self._done == day:
            return False
        self._done = day
        return await self._kv.add_if_absent(KV_NAMESPACE, f"morning_summary:{day.isoformat()}",
                                            {"sent_at": now.isoformat()})

    async def text(self, now: datetime) -> str:
        """Open tickets by Estado, due today, overdue, per assignee."""
        zone = self._settings.zone
        open_q = Ticket.filter(estado__in=OPEN_ESTADOS)
        by_estado = dict(await open_q.group_by("estado").annotate(n=Count("id"))
                         .values_list("estado", "n"))
        total = sum(by_estado.values())
        if not total:
            return "Sin tickets abiertos."
        parts = " · ".join(f"{e.value} {by_estado[e]}" for e in OPEN_ESTADOS if by_estado.get(e))
        lines = [f"Abiertos: {total} ({parts})"]
        end = datetime.combine(now.astimezone(zone).date() + timedelta(days=1), time(),
                               tzinfo=zone)
        today_q = Ticket.filter(estado__in=OPEN_ESTADOS).filter(
            Q(first_response_at__isnull=True, first_response_due__gte=now,
              first_response_due__lt=end)
            | Q(resolution_clock_since__isnull=False, resolution_due__gte=now,
                resolution_due__lt=end))
        overdue_q = Ticket.filter(estado__in=OPEN_ESTADOS).filter(_overdue(now))
        for title, query in (("Vencen hoy", today_q), ("Vencidos", overdue_q)):
            count = await query.count()
            ids = cast(list[int], list(await query.order_by("id").limit(_MAX_LISTED)
                                       .values_list("id", flat=True)))
            lines.append(f"{title}: {count}" + (f" ({_numbers(ids, count)})" if count else ""))
        lines.extend(await self._unclassified())
        lines.append("Por responsable:")
        lines.extend(await self._per_assignee(now))
        return "\n".join(lines)

    async def _unclassified(self) -> list[str]:
        """Open tickets nobody classified yet (triage, issue 16); no line when none."""
        query = Ticket.filter(estado__in=OPEN_ESTADOS).filter(
            Q(tipo__isnull=True) | Q(prioridad__isnull=True))
        count = await query.count()
        if not count:
            return []
        ids = cast(list[int], list(await query.order_by("id").limit(_MAX_LISTED)
                                   .values_list("id", flat=True)))
        return [f"Sin clasificar: {count} ({_numbers(ids, count)})"]

    async def _per_assignee(self, now: datetime) -> list[str]:
        open_q = Ticket.filter(estado__in=OPEN_ESTADOS)
        counts = dict(await open_q.group_by("assignee_id").annotate(n=Count("id"))
                      .values_list("assignee_id", "n"))
        late = dict(await Ticket.filter(estado__in=OPEN_ESTADOS).filter(_overdue(now))
                    .group_by("assignee_id").annotate(n=Count("id"))
                    .values_list("assignee_id", "n"))
        names = dict(await TeamMember.filter(id__in=[i for i in counts if i is not None])
                     .values_list("id", "name"))
        rows = sorted(counts.items(), key=lambda kv: (kv[0] is None, names.get(kv[0], "")))
        lines = []
        for member_id, n in rows:
            who = names.get(member_id, "sin asignar") if member_id is not None else "sin asignar"
            extra = f", {late[member_id]} vencido{'s' if late[member_id] > 1 else ''}" \
                if late.get(member_id) else ""
            lines.append(f"· {who}: {n} abierto{'s' if n > 1 else ''}{extra}")
        return lines

    async def _yesterday(self, now: datetime) -> str:
        """One line on yesterday's compliance (first replies due, tickets resolved)."""
        from bot.reports.load import compliance_line

        today = now.astimezone(self._settings.zone).date()
        start = datetime.combine(today - timedelta(days=1), time(), tzinfo=self._settings.zone)
        end = datetime.combine(today, time(), tzinfo=self._settings.zone)
        return await compliance_line(self._settings, start.astimezone(UTC), end.astimezone(UTC))

    async def digests(self, now: datetime) -> list[Digest]:
        """The summary for the support channel and the administrator."""
        title = f"Resumen de la mañana · {local(now, self._settings.zone)[:9]}"
        body = await self.text(now) + "\n" + await self._yesterday(now)
        admin = await TeamMember.get_or_none(role="administrador", active=True)
        found = [Digest(Audience.CHANNEL, None, title, summary=body)]
        if admin is not None:
            member: MemberView = member_view(admin)
            found.append(Digest(Audience.ADMIN, member, title, summary=body))
        return found

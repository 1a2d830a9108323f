"""``atiende reminders --dry-run``: what would be sent now, and to whom, touching nothing.

It reads exactly what a pass would read (the due tickets by index, plus open tickets
that were never planned, as the scheduler's start-up backfill would plan them) and
claims nothing, stores nothing, posts nothing.
"""

from __future__ import annotations

from bot.chats.cards import local
from bot.process.notify import Audience, Digest
from bot.services import Services
from bot.tickets.queries import OPEN_ESTADOS
from db.models import Ticket

from .due import notice_for
from .planner import Planner
from .quiet import QuietHours
from .scheduler import BATCH, RELATED, due_tickets, load_due
from .summary import MorningSummary


def _reach(services: Services, digest: Digest) -> str:
    for notifier in services.notifiers:
        if notifier.can_reach(digest):
            return notifier.name
    return "nadie (sin notificador que llegue)"


async def describe_due(services: Services) -> list[str]:
    """One line per notice and recipient, plus held tickets and the morning summary."""
    settings, now = services.settings, services.clock.now()
    quiet = QuietHours(settings)
    planner = Planner(settings, services.clock, quiet)
    rows = await due_tickets(now, BATCH)
    seen = {row.id for row in rows}
    unplanned = await (Ticket.filter(estado__in=OPEN_ESTADOS, next_reminder_at__isnull=True)
                       .order_by("id").limit(BATCH).select_related(*RELATED))
    rows += [row for row in unplanned if row.id not in seen]
    admin = await services.team.admin()
    lines: list[str] = []
    for due in await load_due(services, planner, quiet, now, rows, admin):
        if due.wait_until is not None:
            lines.append(f"#{due.ticket.number}: espera al fin del horario de silencio "
                         f"({local(due.wait_until, settings.zone)})")
        for group in due.groups:
            notice = notice_for(due, group.top, now, settings).text
            for r in group.recipients:
                digest = Digest(r.audience, r.member, "", ())
                lines.append(f"{r.label} [{_reach(services, digest)}]: {notice}")
    summary = MorningSummary(settings, services.kv, quiet)
    day = summary.due_day(now)
    if day is not None and not await services.kv.get("reminders",
                                                     f"morning_summary:{day.isoformat()}"):
        reach = _reach(services, Digest(Audience.CHANNEL, None, ""))
        lines.append(f"canal de soporte [{reach}]: resumen de la mañana del "
                     f"{local(now, settings.zone)[:9]}")
    return lines or ["Nada que enviar ahora."]


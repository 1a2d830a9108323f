"""What one due ticket should tell whom, right now: shared by the scheduler and the dry run.

Routing (scenario 1 of the acceptance scenarios):
- a warning (75 %, 90 %) or the WhatsApp-window notice goes to the assignee (the support
  channel when nobody is assigned), and also to the administrator when the ticket is Alta;
- "vencido" and its repeats go to the assignee, the support channel and the administrator.
An administrator who is also the assignee hears it once, as the assignee.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.chats.cards import whatsapp_window_closes
from bot.process.notify import Audience, Notice
from bot.process.settings import Settings
from bot.process.views import MemberView, TicketView
from bot.storage.presenters import ticket_view
from db.models import Ticket

from .policy import OVERDUE, REPEAT, ClockState, Mark, pending
from .quiet import QuietHours
from .texts import notice_text

_AUDIENCE_ORDER = {Audience.ASSIGNEE: 0, Audience.ADMIN: 1, Audience.CHANNEL: 2}


@dataclass(frozen=True)
class Recipient:
    audience: Audience
    member: MemberView | None = None

    @property
    def label(self) -> str:
        if self.audience is Audience.CHANNEL or self.member is None:
            return "canal de soporte"
        role = "responsable" if self.audience is Audience.ASSIGNEE else "administración"
        return f"{self.member.name} ({role})"

    @property
    def sort_key(self) -> tuple[int, str]:
        return _AUDIENCE_ORDER[self.audience], self.member.name if self.member else ""


@dataclass(frozen=True)
class Group:
    """The pending marks of one deadline of one ticket, shown as one notice."""

    marks: tuple[Mark, ...]
    recipients: tuple[Recipient, ...]

    @property
    def top(self) -> Mark:
        return max(self.marks, key=lambda m: m.rank)


@dataclass
class TicketDue:
    """A due ticket: its view, what to claim and show, or when to try again."""

    ticket: TicketView
    state: ClockState
    groups: list[Group] = field(default_factory=list)
    wait_until: datetime | None = None  # held by quiet hours
    held: bool = False  # some mark fell in quiet time (it waited)


def recipients(t: TicketView, level: str, admin: MemberView | None) -> tuple[Recipient, ...]:
    """Who hears a notice of this ``level`` about ``t`` (see the module docstring)."""
    overdue = level in (OVERDUE, REPEAT)
    found: list[Recipient] = []
    if t.assignee is not None:
        found.append(Recipient(Audience.ASSIGNEE, t.assignee))
    if overdue or t.assignee is None:
        found.append(Recipient(Audience.CHANNEL))
    alta = t.effective_prioridad is not None and t.effective_prioridad.value == "Alta"
    if admin is not None and (overdue or alta) and (
            t.assignee is None or t.assignee.id != admin.id):
        found.append(Recipient(Audience.ADMIN, admin))
    return tuple(found)


def plan_ticket(row: Ticket, sent: set[str], now: datetime, settings: Settings,
                quiet: QuietHours, admin: MemberView | None) -> TicketDue:
    """Pending marks of ``row`` grouped per deadline, unless quiet hours hold them."""
    state = ClockState.of(row)
    marks, _ = pending(state, now, settings, sent)
    due = TicketDue(ticket_view(row), state)
    if not marks:
        return due
    if not state.is_alta and quiet.is_quiet(now):
        due.wait_until = quiet.end(now)
        return due
    due.held = not state.is_alta and any(quiet.is_quiet(m.due_at) for m in marks)
    by_deadline: dict[str, list[Mark]] = {}
    for mark in marks:
        by_deadline.setdefault(mark.deadline, []).append(mark)
    for group_marks in by_deadline.values():
        top = max(group_marks, key=lambda m: m.rank)
        due.groups.append(Group(tuple(group_marks), recipients(due.ticket, top.level, admin)))
    return due


def notice_for(due: TicketDue, mark: Mark, now: datetime, settings: Settings) -> Notice:
    text = notice_text(due.ticket, mark, now, settings, whatsapp_window_closes(due.ticket))
    return Notice(ticket=due.ticket, deadline=mark.deadline, level=mark.level, text=text)


def ordered(recipients_: Iterable[Recipient]) -> list[Recipient]:
    return sorted(recipients_, key=lambda r: r.sort_key)

"""When reminders are due for one ticket: pure functions of its clocks and the settings.

A *mark* is one reminder point: a threshold of a deadline (75 %, 90 %, 100 %), the n-th
repeat while overdue, or the hour before a WhatsApp window closes. Its ``key`` is
stable across restarts and instances (it names the ticket, the deadline and the
threshold or repeat number, never the time it was computed), so the ``SentReminder``
row claimed with that key makes sending it twice impossible.

Clocks:
- first response: calendar hours from creation, stops at the first human reply
  (``first_response_at``); repeats count business hours after the deadline.
- resolution: business hours *consumed* while the clock ran (``resolution_hours_used``
  up to ``resolution_clock_since``; NULL = stopped, see ``bot/calendar/ticket_clock.py``). A mark
  is a consumption level, so a rejected fix resumes exactly where it stood and a level
  already announced before the pause is never announced again.
- WhatsApp: one mark an hour before the 24-hour window closes, while the customer's
  last message is unanswered.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.calendar import sla
from bot.process.domain import WHATSAPP_WINDOW, Canal, Estado, Prioridad
from bot.process.settings import Settings
from db.models import Ticket

FIRST_RESPONSE = "primera_respuesta"
RESOLUTION = "resolucion"
WHATSAPP = "ventana_whatsapp"

WARNING, OVERDUE, REPEAT, WINDOW = "aviso", "vencido", "repeticion", "ventana"
WINDOW_NOTICE_BEFORE = timedelta(hours=1)
_EPS = 1e-9  # float slack when turning consumed hours into a whole repeat count


@dataclass(frozen=True)
class ClockState:
    """What the policy needs of a ticket: a snapshot, so the rules stay pure and testable."""

    number: int
    estado: Estado
    prioridad: Prioridad | None
    channel: Canal
    created_at: datetime
    first_response_due: datetime
    first_response_at: datetime | None
    resolution_due: datetime
    resolution_hours_used: float
    resolution_clock_since: datetime | None
    last_customer_message_at: datetime | None
    last_team_message_at: datetime | None

    @classmethod
    def of(cls, t: Ticket) -> ClockState:
        return cls(
            number=t.id, estado=Estado(t.estado),
            prioridad=effective_prioridad(t),
            channel=Canal(t.channel), created_at=t.created_at,
            first_response_due=t.first_response_due, first_response_at=t.first_response_at,
            resolution_due=t.resolution_due, resolution_hours_used=t.resolution_hours_used,
            resolution_clock_since=t.resolution_clock_since,
            last_customer_message_at=t.last_customer_message_at,
            last_team_message_at=t.last_team_message_at,
        )

    @property
    def is_alta(self) -> bool:
        return self.prioridad is Prioridad.ALTA

    @property
    def window_closes(self) -> datetime | None:
        """When the WhatsApp window closes while a customer message waits for an answer."""
        if self.channel is not Canal.WHATSAPP or self.last_customer_message_at is None:
            return None
        if (self.last_team_message_at is not None
                and self.last_team_message_at >= self.last_customer_message_at):
            return None
        return self.last_customer_message_at + WHATSAPP_WINDOW


def effective_prioridad(t: Ticket) -> Prioridad | None:
    """The Prioridad reminders go by: until a person decides, an Alta suggestion
    (issue 16, triage) counts as Alta, so it is not held overnight."""
    if t.prioridad:
        return Prioridad(t.prioridad)
    return Prioridad.ALTA if t.suggested_prioridad == Prioridad.ALTA else None


@dataclass(frozen=True)
class Mark:
    """One reminder point. ``rank`` orders marks of the same deadline (later = graver)."""

    ticket: int
    deadline: str
    threshold: str  # "75", "90", "100", "r3", or the window's closing time
    level: str
    due_at: datetime
    rank: float

    @property
    def key(self) -> str:
        return f"{self.ticket}:{self.deadline}:{self.threshold}"


def _label(fraction: float) -> str:
    return f"{fraction * 100:g}"


def _level(fraction: float) -> str:
    return OVERDUE if fraction >= 1.0 else WARNING


def _thresholds(settings: Settings) -> list[float]:
    return sorted({f for f in settings.reminder_thresholds if f > 0})


# --- first response -------------------------------------------------------------------
def _first_response(s: ClockState, now: datetime, settings: Settings,
                    ) -> tuple[list[Mark], datetime | None]:
    """(marks crossed by ``now``, the next one after ``now``)."""
    if s.first_response_at is not None or not s.estado.is_open:
        return [], None
    window = s.first_response_due - s.created_at
    crossed: list[Mark] = []
    upcoming: datetime | None = None
    for f in _thresholds(settings):
        at = s.created_at + window * f
        mark = Mark(s.number, FIRST_RESPONSE, _label(f), _level(f), at, f)
        if at <= now:
            crossed.append(mark)
        elif upcoming is None:
            upcoming = at
    repeat = settings.reminder_repeat_business_hours
    due = s.first_response_due
    if now >= due:
        n = math.floor(sla.business_hours_between(due, now, settings) / repeat + _EPS)
        if n >= 1:
            at = sla.add_business_hours(due, n * repeat, settings)
            crossed.append(Mark(s.number, FIRST_RESPONSE, f"r{n}", REPEAT, at, 1.0 + n))
        nxt = sla.add_business_hours(due, (n + 1) * repeat, settings)
        upcoming = nxt if upcoming is None else min(upcoming, nxt)
    return crossed, upcoming


# --- resolution -----------------------------------------------------------------------
def _at_level(s: ClockState, level_hours: float, settings: Settings) -> datetime:
    """When the running clock reaches ``level_hours`` consumed (its resume instant if it
    got there before the current run began)."""
    since = s.resolution_clock_since
    assert since is not None
    left = level_hours - s.resolution_hours_used
    return since if left <= 0 else sla.add_business_hours(since, left, settings)


def _resolution(s: ClockState, now: datetime, settings: Settings,
                ) -> tuple[list[Mark], datetime | None]:
    if s.resolution_clock_since is None or not s.estado.is_open:
        return [], None
    total = settings.resolution_business_hours
    used = s.resolution_hours_used + max(
        0.0, sla.business_hours_between(s.resolution_clock_since, now, settings))
    crossed: list[Mark] = []
    upcoming: datetime | None = None
    for f in _thresholds(settings):
        level = f * total
        mark = Mark(s.number, RESOLUTION, _label(f), _level(f),
                    _at_level(s, level, settings), f)
        if level <= used + _EPS:
            crossed.append(mark)
        elif upcoming is None:
            upcoming = mark.due_at
    repeat = settings.reminder_repeat_business_hours
    if used + _EPS >= total:
        n = math.floor((used - total) / repeat + _EPS)
        if n >= 1:
            crossed.append(Mark(s.number, RESOLUTION, f"r{n}", REPEAT,
                                _at_level(s, total + n * repeat, settings), 1.0 + n))
        nxt = _at_level(s, total + (n + 1) * repeat, settings)
        upcoming = nxt if upcoming is None else min(upcoming, nxt)
    return crossed, upcoming


# --- WhatsApp window ------------------------------------------------------------------
def _whatsapp(s: ClockState, now: datetime) -> tuple[list[Mark], datetime | None]:
    closes = s.window_closes
    if closes is None or not s.estado.is_open or now >= closes:
        return [], None  # after it closed, "closes in an hour" would be a lie
    at = closes - WINDOW_NOTICE_BEFORE
    mark = Mark(s.number, WHATSAPP, closes.strftime("%Y%m%dT%H%M%S"), WINDOW, at, 0.0)
    return ([mark], None) if at <= now else ([], at)


# --- public ---------------------------------------------------------------------------
def crossed_and_next(s: ClockState, now: datetime, settings: Settings,
                     ) -> tuple[list[Mark], datetime | None]:
    """Every mark reached by ``now`` (thresholds in order, only the latest repeat) and
    the earliest instant after ``now`` at which another one will be reached."""
    crossed: list[Mark] = []
    upcoming: list[datetime] = []
    for marks, nxt in (_first_response(s, now, settings), _resolution(s, now, settings),
                       _whatsapp(s, now)):
        crossed.extend(marks)
        if nxt is not None:
            upcoming.append(nxt)
    crossed.sort(key=lambda m: (m.due_at, m.rank))
    return crossed, min(upcoming, default=None)


def pending(s: ClockState, now: datetime, settings: Settings,
            sent: set[str]) -> tuple[list[Mark], datetime | None]:
    """Marks reached and not yet claimed, and when the next one comes."""
    crossed, nxt = crossed_and_next(s, now, settings)
    return [m for m in crossed if m.key not in sent], nxt

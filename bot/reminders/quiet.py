"""Quiet hours: when reminders about ordinary tickets wait instead of waking people.

Quiet time is every non-business day (weekends, holidays, closed dates: the same
calendar as the SLA) plus the nightly window of the ``quiet_hours`` setting
("20:00-08:00", local time; an empty setting means no nightly window). Reminders about
Baja, Media or unclassified tickets that fall in quiet time are held until it ends, so
each person finds one digest in the morning; Alta tickets ignore quiet hours.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

from bot.calendar.sla import calendar_for
from bot.process.settings import Settings

_WINDOW = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MAX_DAYS = 400  # same guard as the SLA calendar: a year without open days is a mistake


def parse_window(spec: str) -> tuple[time, time] | None:
    """``"20:00-08:00"`` -> (20:00, 08:00); empty -> None; anything else -> ValueError."""
    if not spec.strip():
        return None
    match = _WINDOW.match(spec)
    if match is None:
        raise ValueError(f"horario de silencio inválido {spec!r}: use HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError as exc:
        raise ValueError(f"horario de silencio inválido {spec!r}: {exc}") from None
    return None if start == end else (start, end)


class QuietHours:
    """Answers "is this instant quiet?" and "when does this quiet period end?"."""

    def __init__(self, settings: Settings) -> None:
        self._zone = settings.zone
        self._calendar = calendar_for(settings)
        self._window = parse_window(settings.quiet_hours)

    def _in_window(self, t: time) -> bool:
        if self._window is None:
            return False
        start, end = self._window
        if start < end:
            return start <= t < end
        return t >= start or t < end  # crosses midnight

    def is_business_day(self, day: date) -> bool:
        return self._calendar.is_business_day(day)

    def is_quiet(self, when: datetime) -> bool:
        local = when.astimezone(self._zone)
        return not self.is_business_day(local.date()) or self._in_window(local.time())

    def _at(self, day: date, t: time) -> datetime:
        return datetime.combine(day, t, tzinfo=self._zone).astimezone(UTC)

    def end(self, when: datetime) -> datetime:
        """The first instant at or after ``when`` that is not quiet (UTC)."""
        candidate = when.astimezone(UTC)
        for _ in range(_MAX_DAYS * 2):
            local = candidate.astimezone(self._zone)
            day = local.date()
            if not self.is_business_day(day):
                candidate = self._at(day + timedelta(days=1), time())
            elif self._in_window(local.time()):
                assert self._window is not None
                end = self._window[1]
                wakes = day if local.time() < end else day + timedelta(days=1)
                candidate = self._at(wakes, end)
            else:
                return candidate
        raise ValueError(f"sin horario hábil en {_MAX_DAYS} días desde {when}")

    def release(self, due: datetime, now: datetime, alta: bool) -> datetime:
        """When a reminder due at ``due`` may actually go out (never before ``now``'s
        quiet period is over, unless the ticket is Alta)."""
        if alta:
            return due
        moment = max(due, now)
        return self.end(moment) if self.is_quiet(moment) else due

"""Which days a report covers: ``semana``, ``mes``, ``AAAA-MM`` or ``desde hasta``.

Periods are whole local days in the company's zone, ``[start, end)`` as aware UTC
instants, so a ticket opened at 23:30 local on the last day belongs to the period
whatever the UTC date says. A month never reaches past today: a report on the 10th of the
current month covers the 1st to the 10th.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from bot.process.errors import DomainError

MAX_DAYS = 731  # two years: beyond that a chart per week stops being readable
USAGE = ("Use: semana, mes, AAAA-MM (p. ej. 2026-11) o dos fechas AAAA-MM-DD "
         "(desde hasta).")
_MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
           "septiembre", "octubre", "noviembre", "diciembre")


@dataclass(frozen=True)
class Period:
    """Local dates ``first`` to ``last`` (both included) in ``zone``."""

    first: date
    last: date
    zone: ZoneInfo
    label: str

    @cached_property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=self.zone).astimezone(UTC)

    @cached_property
    def end(self) -> datetime:
        nxt = self.last + timedelta(days=1)
        return datetime.combine(nxt, time(), tzinfo=self.zone).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def weeks(self) -> list[date]:
        """The Mondays of every week that overlaps the period, in order."""
        monday = self.first - timedelta(days=self.first.weekday())
        found = []
        while monday <= self.last:
            found.append(monday)
            monday += timedelta(days=7)
        return found

    @property
    def slug(self) -> str:
        """For file names: ``2026-11-01_2026-11-30``."""
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


def _span_label(first: date, last: date) -> str:
    return f"{first:%d/%m/%Y} al {last:%d/%m/%Y}"


def last_week(today: date, zone: ZoneInfo) -> Period:
    """Monday to Sunday of the week before ``today``'s (the weekly report)."""
    monday = today - timedelta(days=today.weekday() + 7)
    sunday = monday + timedelta(days=6)
    return Period(monday, sunday, zone, f"semana del {_span_label(monday, sunday)}")


def parse_period(words: list[str] | str, now: datetime, zone: ZoneInfo) -> Period:
    """The period a person asked for; ``DomainError`` (Spanish) when it makes no sense.

    Empty means ``mes``. ``semana``: the last 7 days including today; ``mes``: the last
    30 days; ``AAAA-MM``: that calendar month (up to today); two dates: both included,
    as given.
    """
    parts = words.split() if isinstance(words, str) else [w for w in words if w.strip()]
    today = now.astimezone(zone).date()
    key = parts[0].lower() if parts else "mes"
    if len(parts) <= 1 and key in ("semana", "week"):
        return Period(today - timedelta(days=6), today, zone, "últimos 7 días")
    if len(parts) <= 1 and key in ("mes", "month"):
        return Period(today - timedelta(days=29), today, zone, "últimos 30 días")
    if len(parts) == 1 and (m := re.fullmatch(r"(\d{4})-(\d{1,2})", key)):
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise DomainError(f"Mes inválido: {parts[0]}. {USAGE}")
        first = date(year, month, 1)
        nxt = date(year + (month == 12), month % 12 + 1, 1)
        last = min(nxt - timedelta(days=1), today)
        if first > today:
            raise DomainError(f"{parts[0]} aún no empieza. {USAGE}")
        return Period(first, last, zone, f"{_MONTHS[month - 1]} de {year}")
    if len(parts) == 2:  # as asked, even past today (a month planned ahead is just empty)
        first, last = _date(parts[0]), _date(parts[1])
        if last < first:
            raise DomainError("La fecha «hasta» es anterior a «desde».")
        if (last - first).days + 1 > MAX_DAYS:
            raise DomainError(f"El período es demasiado largo (máximo {MAX_DAYS} días).")
        return Period(first, last, zone, _span_label(first, last))
    raise DomainError(f"No entiendo el período «{' '.join(parts)[:40]}». {USAGE}")


def _date(text: str) -> date:
    value = text.strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=UTC).date()
        except ValueError:
            continue
    raise DomainError(f"Fecha inválida: {value[:20]}. {USAGE}")

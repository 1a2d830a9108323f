"""SLA clock: deadlines in calendar hours and in *horas hábiles* (business hours).

Computing a ticket's deadlines is on the hot path (every new ticket, every reminder run),
and a wrong hour around a holiday or a daylight-saving change is a wrong promise to a
customer, so this module is exact first and fast second.

Model. A ``WeeklySchedule`` holds the open local wall-clock intervals of each weekday. A
``BusinessCalendar`` turns it, one local date at a time (lazily, cached), into real UTC
instants, leaving out public holidays (``holidays`` package) and ``closed_dates``. All
arithmetic then happens on UTC instants, so durations are real elapsed time: a whole
00:00-24:00 day that contains a DST change lasts 23 or 25 hours.

Wall time -> instant. A boundary at local wall time ``w`` is *the first instant at which
the local clock reads ``w`` or later*. For an ambiguous ``w`` (clocks go back) that is its
first occurrence; for a ``w`` skipped by a jump forward it is the instant of the jump
(America/Santiago skips 00:00-00:59 on its spring-forward Sunday, so that day starts at
01:00 local and lasts 23 hours). The mapping is monotonic, so consecutive days tile time
with neither gaps nor overlaps.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

from bot.process.business_hours import WeeklySchedule, parse_business_hours

if TYPE_CHECKING:
    from bot.process.settings import Settings

Span = tuple[datetime, datetime]  # [start, end) in UTC

DAY = timedelta(days=1)
# Longest run of days without open time tolerated before a scan gives up (a year of
# closed_dates would be a configuration mistake, not a real closure).
MAX_CLOSED_DAYS = 400
_DAY_CACHE_LIMIT = 20_000

def _utc(t: datetime) -> datetime:
    """Reject naive datetimes: a wall time without a zone is an ambiguous instant."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"expected a timezone-aware datetime, got naive {t!r}")
    return t.astimezone(UTC)


class BusinessCalendar:
    """Open time of one company: zone, weekly schedule, holidays and closed dates.

    Open intervals are half-open ``[start, end)``. Per-day intervals and per-year holiday
    sets are computed on first use and cached, so build one per configuration (see
    ``calendar_for``) and reuse it. Every datetime returned is in UTC.
    """

    def __init__(
        self,
        zone: ZoneInfo | str,
        schedule: WeeklySchedule | str = "",
        *,
        country: str = "CL",
        subdivision: str | None = None,
        closed_dates: Iterable[date] = (),
    ) -> None:
        self.zone = zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone)
        self.schedule = (
            schedule if isinstance(schedule, WeeklySchedule) else parse_business_hours(schedule)
        )
        self.closed_dates = frozenset(closed_dates)
        self._country, self._subdivision = country, subdivision
        self._holidays: dict[int, frozenset[date]] = {}
        self._days: dict[date, tuple[Span, ...]] = {}
        self._holidays_of(2000)  # an unknown country fails here, not on the hot path

    # --- building blocks ------------------------------------------------------------
    def _holidays_of(self, year: int) -> frozenset[date]:
        found = self._holidays.get(year)
        if found is None:
            try:
                table = holidays.country_holidays(
                    self._country, subdiv=self._subdivision, years=year
                )
            except NotImplementedError as exc:
                raise ValueError(
                    f"país o región de feriados desconocido: {self._country!r}, "
                    f"{self._subdivision!r}"
                ) from exc
            found = self._holidays[year] = frozenset(table)
        return found

    def _instant(self, day: date, since_midnight: timedelta) -> datetime:
        """First instant at which the local clock reads ``day`` + ``since_midnight`` or later."""
        wall = datetime.combine(day, time()) + since_midnight
        local = wall.replace(tzinfo=self.zone)  # fold=0: the first of two readings
        after = local.astimezone(UTC)
        if after.astimezone(self.zone).replace(tzinfo=None) == wall:
            return after
        # Skipped by a jump forward: fold=0 lands after the jump, fold=1 before it.
        # Bisect for the jump itself (rare: at most a few days a year, then cached).
        before = local.replace(fold=1).astimezone(UTC)
        new_offset = after.astimezone(self.zone).utcoffset()
        while after - before > timedelta(microseconds=1):
            middle = before + (after - before) // 2
            if middle.astimezone(self.zone).utcoffset() == new_offset:
                after = middle
            else:
                before = middle
        return after

    def _day(self, day: date) -> tuple[Span, ...]:
        """Open spans of one local date, as UTC instants (empty on closed days)."""
        spans = self._days.get(day)
        if spans is not None:
            return spans
        found: list[Span] = []
        shifts = self.schedule.days[day.weekday()]
        if shifts and day not in self.closed_dates and day not in self._holidays_of(day.year):
            for start_minute, end_minute in shifts:
                start = self._instant(day, timedelta(minutes=start_minute))
                end = self._instant(day, timedelta(minutes=end_minute))
                if end > start:  # a shift inside a DST gap has no real time
                    found.append((start, end))
        if len(self._days) >= _DAY_CACHE_LIMIT:
            self._days.clear()
        spans = self._days[day] = tuple(found)
        return spans

    def _spans(self, start: datetime, end: datetime | None = None) -> Iterator[Span]:
        """Open spans clipped to ``[start, end)`` in order; unbounded scans give up
        (``ValueError``) after ``MAX_CLOSED_DAYS`` days in a row without open time."""
        day = start.astimezone(self.zone).date() - DAY  # a fall-back hour may belong to it
        last = None if end is None else end.astimezone(self.zone).date() + DAY
        closed_run = 0
        if end is not None and end <= start:
            return
        while last is None or day <= last:
            closed_run += 1
            for span_start, span_end in self._day(day):
                if span_end <= start:
                    continue
                if end is not None and span_start >= end:
                    return
                closed_run = 0
                yield max(span_start, start), span_end if end is None else min(span_end, end)
            if last is None and closed_run > MAX_CLOSED_DAYS:
                raise ValueError(f"sin horario de atención en {MAX_CLOSED_DAYS} días desde {day}")
            day += DAY

    # --- public API ---------------------------------------------------------------------
    def is_business_day(self, d: date) -> bool:
        """A day with some open time: scheduled weekday, not a holiday, not closed."""
        if isinstance(d, datetime):
            raise TypeError("is_business_day takes a local date, not a datetime")
        return bool(self._day(d))

    def is_open(self, t: datetime) -> bool:
        u = _utc(t)
        day = u.astimezone(self.zone).date()
        return any(s <= u < e for d in (day - DAY, day, day + DAY) for s, e in self._day(d))

    def next_open(self, t: datetime) -> datetime:
        """``t`` itself (in UTC) if open, else the start of the next open interval."""
        return next(self._spans(_utc(t)))[0]

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Span]:
        """Maximal open intervals within ``[start, end)``, clipped, in order (UTC)."""
        spans = self._spans(_utc(start), _utc(end))  # validates now, not on first next()

        def merged() -> Iterator[Span]:
            pending: list[datetime] = []
            for span_start, span_end in spans:
                if pending and span_start <= pending[1]:  # e.g. Mon 24:00 == Tue 00:00
                    pending[1] = span_end
                    continue
                if pending:
                    yield pending[0], pending[1]
                pending = [span_start, span_end]
            if pending:
                yield pending[0], pending[1]

        return merged()

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The instant ``hours`` of open time after ``start``.

        Counting starts at ``next_open(start)``. For ``hours > 0`` the result is never in
        closed time: the instant just before it is open (it may be the end of an open
        interval). ``hours == 0`` gives ``next_open(start)``; negative hours are an error.
        """
        u = _utc(start)
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"hours must be a finite number >= 0, got {hours!r}")
        left = timedelta(hours=hours)
        for span_start, span_end in self._spans(u):
            if left <= span_end - span_start:
                return span_start + left
            left -= span_end - span_start
        raise AssertionError("unreachable: _spans is endless or raises")

    def business_hours_between(self, a: datetime, b: datetime) -> float:
        """Open hours in ``[a, b)``; negative if ``b < a`` (so it is antisymmetric)."""
        ua, ub = _utc(a), _utc(b)
        if ub < ua:
            return -self.business_hours_between(ub, ua)
        total = sum((end - start for start, end in self._spans(ua, ub)), timedelta())
        return total / timedelta(hours=1)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The moment ``days`` business days later at the same local wall time.

        Counting starts at ``next_open(start)``; if that wall time is closed (or skipped by
        DST) on the landing day, the result moves to the next open moment.
        """
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days!r}")
        first = self.next_open(start)
        local = first.astimezone(self.zone)
        day = local.date()
        for _ in range(days):
            for _ in range(MAX_CLOSED_DAYS):
                day += DAY
                if self._day(day):
                    break
            else:
                raise ValueError(f"sin días hábiles en {MAX_CLOSED_DAYS} días desde {day}")
        wall = local.replace(tzinfo=None) - datetime.combine(local.date(), time())
        return self.next_open(self._instant(day, wall))


@lru_cache(maxsize=16)
def _calendar(
    zone: str, hours: str, country: str, subdivision: str | None, closed: tuple[date, ...]
) -> BusinessCalendar:
    return BusinessCalendar(
        zone, hours, country=country, subdivision=subdivision, closed_dates=closed
    )


def calendar_for(settings: Settings) -> BusinessCalendar:
    """The shared calendar for these settings (cached on the fields that shape it)."""
    return _calendar(
        settings.timezone,
        settings.business_hours,
        settings.holidays_country,
        settings.holidays_subdivision,
        tuple(sorted(set(settings.closed_dates))),
    )


@dataclass(frozen=True)
class Deadlines:
    """A ticket's SLA deadlines, in UTC."""

    first_response: datetime
    resolution: datetime


def deadlines(created_at: datetime, settings: Settings) -> Deadlines:
    """First response: calendar hours (real elapsed time); resolution: business hours."""
    created = _utc(created_at)
    return Deadlines(
        first_response=created + timedelta(hours=settings.first_response_hours),
        resolution=calendar_for(settings).add_business_hours(
            created, settings.resolution_business_hours
        ),
    )


def business_hours_between(a: datetime, b: datetime, settings: Settings) -> float:
    return calendar_for(settings).business_hours_between(a, b)


def add_business_hours(start: datetime, hours: float, settings: Settings) -> datetime:
    return calendar_for(settings).add_business_hours(start, hours)


def add_business_days(start: datetime, days: int, settings: Settings) -> datetime:
    return calendar_for(settings).add_business_days(start, days)

"""The figures of a report, computed from plain ticket rows (no I/O, no charts).

What counts, so every front end and the tests agree:

* **Answered within 24 h** (calendar hours, ``first_response_hours``): per week of
  creation, tickets whose first reply came by ``first_response_due``, over tickets
  already decided (answered, or unanswered past the deadline). Discarded tickets are
  left out: spam is not a broken promise.
* **Resolved within 48 business hours** (``resolution_business_hours``): the SLA
  clock's own count, ``resolution_hours_used``, which leaves out pauses (Esperando
  cliente), nights, weekends and holidays. On time: Resuelto with the clock at or under
  the budget. Late: over the budget, or the clock still running past its due instant.
  Anything else is still undecided and is not counted yet.
* Volumes, per person, satisfaction: tickets created in the period; closures: tickets
  Resuelto in the period; backlog and "overdue now": open tickets at ``now``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import median

from bot.domain import Canal, ConformityKind, Estado, Prioridad, TipoIncidencia

from .period import Period

UNCLASSIFIED = "Sin clasificar"
UNASSIGNED = "Sin asignar"
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 día", 1), ("1-2 días", 2), ("2-5 días", 5), ("5-10 días", 10),
    ("> 10 días", float("inf")),
)
_EPS = 1e-6


@dataclass(slots=True)
class TicketRow:
    """The columns of one ticket a report reads (one query fills thousands: slots, not
    frozen, because a frozen dataclass's ``__init__`` costs a setattr call per field)."""

    id: int
    created_at: datetime
    channel: Canal
    tipo: TipoIncidencia | None
    prioridad: Prioridad | None
    estado: Estado
    assignee: str | None
    first_response_due: datetime
    first_response_at: datetime | None
    resolution_due: datetime
    resolution_hours_used: float
    resolution_running: bool
    resolved_at: datetime | None
    conformity_kind: ConformityKind | None
    csat_requested_at: datetime | None = None
    csat_rating: int | None = None
    csat_answered_at: datetime | None = None


@dataclass(frozen=True)
class WeekFigures:
    monday: date
    answered_ok: int
    answered: int
    resolved_ok: int
    resolved: int

    @property
    def answered_share(self) -> float | None:
        return self.answered_ok / self.answered if self.answered else None

    @property
    def resolved_share(self) -> float | None:
        return self.resolved_ok / self.resolved if self.resolved else None


@dataclass(frozen=True)
class PersonFigures:
    name: str
    tickets: int
    median_first_reply_hours: float | None
    median_resolution_business_hours: float | None
    overdue_now: int


@dataclass(frozen=True)
class Satisfaction:
    asked: int
    counts: tuple[int, int, int, int, int]  # ratings 1..5

    @property
    def answered(self) -> int:
        return sum(self.counts)

    @property
    def average(self) -> float | None:
        total = sum((i + 1) * n for i, n in enumerate(self.counts))
        return total / self.answered if self.answered else None


@dataclass(frozen=True)
class ReportFigures:
    period: Period
    now: datetime
    created: int
    weeks: tuple[WeekFigures, ...]
    by_tipo: tuple[tuple[str, int], ...]
    by_prioridad: tuple[tuple[str, int], ...]
    by_channel: tuple[tuple[str, int], ...]
    backlog: tuple[tuple[str, int], ...]
    people: tuple[PersonFigures, ...]
    closed_confirmed: int
    closed_no_answer: int
    satisfaction: Satisfaction

    def totals(self) -> WeekFigures:
        """All weeks together (the headline figure)."""
        return WeekFigures(self.period.first, *(sum(getattr(w, name) for w in self.weeks)
                                                for name in ("answered_ok", "answered",
                                                             "resolved_ok", "resolved")))


def first_reply_verdict(row: TicketRow, now: datetime) -> bool | None:
    """True on time, False late, None not decided yet (or discarded)."""
    if row.estado is Estado.DISCARDED:
        return None
    if row.first_response_at is not None:
        return row.first_response_at <= row.first_response_due
    return False if now > row.first_response_due else None


def resolution_verdict(row: TicketRow, now: datetime, budget: float) -> bool | None:
    """True on time, False late, None not decided yet (or discarded); pauses excluded."""
    if row.estado is Estado.DISCARDED:
        return None
    if row.resolution_hours_used > budget + _EPS:
        return False
    if row.resolution_running and now > row.resolution_due:
        return False
    if row.estado is Estado.RESOLVED:
        return True
    return None


def overdue_now(row: TicketRow, now: datetime) -> bool:
    """The same test as cards and the morning summary."""
    if not row.estado.is_open:
        return False
    return (row.first_response_at is None and now > row.first_response_due) or (
        row.resolution_running and now > row.resolution_due)


def _monday(when: datetime, period: Period) -> date:
    day = when.astimezone(period.zone).date()
    return day - timedelta(days=day.weekday())


def _in(when: datetime | None, period: Period) -> bool:
    return when is not None and period.start <= when < period.end  # cached bounds


def _counted(values: list[str | None], order: list[str], missing: str) -> tuple[tuple[str, int], ...]:
    counts = Counter(v if v is not None else missing for v in values)
    keys = [k for k in order if counts.get(k)] + sorted(k for k in counts if k not in order)
    return tuple((k, counts[k]) for k in keys)


def _median(values: list[float]) -> float | None:
    return median(values) if values else None


def compute(rows: list[TicketRow], period: Period, now: datetime,
            resolution_budget: float) -> ReportFigures:
    """Every figure of the report from the rows a loader fetched (any superset is fine)."""
    created = [r for r in rows if _in(r.created_at, period)]
    weeks: dict[date, list[int]] = {m: [0, 0, 0, 0] for m in period.weeks()}
    for r in created:
        cell = weeks[_monday(r.created_at, period)]
        first = first_reply_verdict(r, now)
        if first is not None:
            cell[0] += first
            cell[1] += 1
        solved = resolution_verdict(r, now, resolution_budget)
        if solved is not None:
            cell[2] += solved
            cell[3] += 1
    open_rows = [r for r in rows if r.estado.is_open and r.created_at <= now]
    backlog = Counter(_age_bucket((now - r.created_at) / timedelta(days=1)) for r in open_rows)
    closed = [r for r in rows if r.estado is Estado.RESOLVED and _in(r.resolved_at, period)]
    rated = [r.csat_rating for r in rows
             if r.csat_rating is not None and _in(r.csat_answered_at, period)]
    return ReportFigures(
        period=period, now=now, created=len(created),
        weeks=tuple(WeekFigures(m, *cell) for m, cell in weeks.items()),
        by_tipo=_counted([r.tipo.value if r.tipo else None for r in created],
                         [t.value for t in TipoIncidencia], UNCLASSIFIED),
        by_prioridad=_counted([r.prioridad.value if r.prioridad else None for r in created],
                              [p.value for p in reversed(Prioridad)], UNCLASSIFIED),
        by_channel=_counted([r.channel.label for r in created],
                            [c.label for c in Canal], UNCLASSIFIED),
        backlog=tuple((label, backlog.get(label, 0)) for label, _ in AGE_BUCKETS),
        people=_people(created, open_rows, now),
        closed_confirmed=sum(1 for r in closed if r.conformity_kind is ConformityKind.EXPLICIT),
        closed_no_answer=sum(1 for r in closed if r.conformity_kind is ConformityKind.NO_ANSWER),
        satisfaction=Satisfaction(
            asked=sum(1 for r in rows if _in(r.csat_requested_at, period)),
            counts=(rated.count(1), rated.count(2), rated.count(3), rated.count(4),
                    rated.count(5)),
        ),
    )


def _age_bucket(days: float) -> str:
    return next(label for label, limit in AGE_BUCKETS if days < limit)


def _people(created: list[TicketRow], open_rows: list[TicketRow],
            now: datetime) -> tuple[PersonFigures, ...]:
    tickets: Counter[str] = Counter()
    replies: dict[str, list[float]] = {}
    solved: dict[str, list[float]] = {}
    late: Counter[str] = Counter()
    hour = timedelta(hours=1)
    for r in created:
        name = r.assignee or UNASSIGNED
        tickets[name] += 1
        if r.first_response_at is not None:
            replies.setdefault(name, []).append((r.first_response_at - r.created_at) / hour)
        if r.estado is Estado.RESOLVED:
            solved.setdefault(name, []).append(r.resolution_hours_used)
    for r in open_rows:
        if overdue_now(r, now):
            late[r.assignee or UNASSIGNED] += 1
    names = sorted(set(tickets) | set(late), key=lambda n: (n == UNASSIGNED, n.casefold()))
    return tuple(PersonFigures(n, tickets[n], _median(replies.get(n, [])),
                               _median(solved.get(n, [])), late[n]) for n in names)

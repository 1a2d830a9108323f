"""Report figures against hand-computed ones on a small known set (pauses, a holiday,
a tacit closure, a discarded ticket), and the periods a person can ask for."""

from __future__ import annotations

from datetime import date

import pytest

from bot.process.errors import DomainError
from bot.reports import ReportService, last_week, parse_period
from bot.services import Services
from db.models import Ticket
from tests.conftest import SANTIAGO, Team, santiago
from tests.core.reports.harness import NOW, known_set


async def test_figures_match_the_hand_computed_ones(services: Services, team: Team) -> None:
    ids = await known_set(services, team)
    # The SLA clock's own count: B paused over the weekend, Tuesday 8 a holiday.
    b = await Ticket.get(id=ids["B"])
    assert b.resolution_hours_used == pytest.approx(48.0)  # 25 + 0 (paused) + 14 + 9
    a = await Ticket.get(id=ids["A"])
    assert a.resolution_hours_used == pytest.approx(24.0)

    reports = ReportService(services.settings, services.clock)
    f = await reports.figures(reports.period("2026-12"))
    assert (f.period.first, f.period.last) == (date(2026, 12, 1), date(2026, 12, 17))
    assert f.created == 5
    weeks = {w.monday: (w.answered_ok, w.answered, w.resolved_ok, w.resolved) for w in f.weeks}
    assert weeks == {
        date(2026, 11, 30): (1, 2, 2, 2),  # A on time twice; B late reply, resolved at 48 h
        date(2026, 12, 7): (0, 1, 0, 1),  # C: no reply, clock past due
        date(2026, 12, 14): (1, 1, 0, 0),  # D discarded (left out); E answered, undecided
    }
    total = f.totals()
    assert (total.answered_ok, total.answered, total.resolved_ok, total.resolved) == (2, 4, 2, 3)
    assert dict(f.by_tipo) == {"Consulta": 1, "Reclamo": 2, "Sugerencia": 1,
                               "Sin clasificar": 1}
    assert dict(f.by_prioridad) == {"Alta": 1, "Media": 1, "Baja": 2, "Sin clasificar": 1}
    assert dict(f.by_channel) == {"Correo electrónico": 5}
    assert dict(f.backlog) == {"< 1 día": 0, "1-2 días": 1, "2-5 días": 0, "5-10 días": 0,
                               "> 10 días": 1}
    people = {p.name: p for p in f.people}
    assert set(people) == {"Carla", "Diego", "Sofía"}
    assert (people["Sofía"].tickets, people["Sofía"].median_first_reply_hours,
            people["Sofía"].median_resolution_business_hours) == (1, 2.0, pytest.approx(24.0))
    assert people["Diego"].median_first_reply_hours == 25.0
    assert people["Diego"].median_resolution_business_hours == pytest.approx(48.0)
    assert (people["Carla"].tickets, people["Carla"].median_first_reply_hours,
            people["Carla"].median_resolution_business_hours,
            people["Carla"].overdue_now) == (3, 1.0, None, 1)
    assert (f.closed_confirmed, f.closed_no_answer) == (1, 1)
    assert f.satisfaction.counts == (0, 1, 0, 0, 1) and f.satisfaction.asked == 2
    assert f.satisfaction.average == 3.5


async def test_summary_text_and_tables(services: Services, team: Team) -> None:
    await known_set(services, team)
    report = await ReportService(services.settings, services.clock).build("2026-12",
                                                                          charts=False)
    text = report.text
    assert "Reporte · diciembre de 2026" in text
    assert "Respondidos en 24 h: 50 % (2 de 4)" in text
    assert "Resueltos en 48 h hábiles: 67 % (2 de 3)" in text
    assert "Cerrados: 1 con conformidad del cliente, 1 sin respuesta del cliente" in text
    assert "Satisfacción: 3,5 de 5 (2 respuestas de 2 encuestas; 1-2: 1)" in text
    assert report.tables["cumplimiento"][1][:3] == ["2026-11-30", 1, 2]
    csv = report.csv("personas").decode("utf-8-sig").splitlines()
    assert csv[0].startswith("Responsable;Tickets") and any(line.startswith("Sofía;1;2.0")
                                                           for line in csv)


async def test_a_week_without_tickets_and_yesterday_line(services: Services, team: Team) -> None:
    await known_set(services, team)
    reports = ReportService(services.settings, services.clock)
    f = await reports.figures(reports.period(["2026-06-01", "2026-06-30"]))
    assert f.created == 0 and all(w.answered == 0 for w in f.weeks)
    assert sum(n for _, n in f.backlog) == 2  # open now, whatever the period
    # Wednesday 16: B closed at 48 h (on time); E's first reply is due Thursday.
    line = await reports.compliance_line(santiago(2026, 12, 16), santiago(2026, 12, 17))
    assert line == "Ayer: 1 de 1 resueltos en 48 h hábiles."
    # Friday 4: B's first reply was due at 09:00 and came at 10:00.
    line = await reports.compliance_line(santiago(2026, 12, 4), santiago(2026, 12, 5))
    assert line == "Ayer: 0 de 1 respondidos en 24 h."
    line = await reports.compliance_line(santiago(2026, 6, 4), santiago(2026, 6, 5))
    assert line == "Ayer: sin plazos que cumplir."


def test_periods() -> None:
    now = NOW
    week = parse_period("semana", now, SANTIAGO)
    assert (week.first, week.last) == (date(2026, 12, 11), date(2026, 12, 17))
    assert parse_period("", now, SANTIAGO).days == 30
    nov = parse_period("2026-11", now, SANTIAGO)
    assert (nov.first, nov.last, nov.label) == (date(2026, 11, 1), date(2026, 11, 30),
                                                "noviembre de 2026")
    assert nov.start == santiago(2026, 11, 1) and nov.end == santiago(2026, 12, 1)
    span = parse_period(["01/12/2026", "2027-01-31"], now, SANTIAGO)
    assert span.last == date(2027, 1, 31)  # as asked
    assert parse_period("2026-12", now, SANTIAGO).last == date(2026, 12, 17)  # up to today
    assert last_week(date(2026, 12, 14), SANTIAGO).first == date(2026, 12, 7)
    for bad in ("ayer", "2026-13", "2027-03", "2026-12-10 2026-12-01", "x y z"):
        with pytest.raises(DomainError):
            parse_period(bad, now, SANTIAGO)

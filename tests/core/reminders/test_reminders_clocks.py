"""Thresholds in order, the first-response and resolution clocks, quiet hours."""

from __future__ import annotations

import pytest

from bot.process.domain import Prioridad
from bot.process.views import Actor
from bot.reminders import build_reminders
from bot.reminders.quiet import QuietHours, parse_window
from db.models import SentReminder, Ticket
from tests.conftest import santiago
from tests.core.reminders.harness import email_ticket, recorder, step_until


async def _claims(number: int) -> list[tuple[str, str]]:
    rows = await SentReminder.filter(ticket_id=number).order_by("sent_at", "id")
    return [(r.deadline, r.threshold) for r in rows]


async def test_thresholds_fire_in_order_each_at_its_time(services, team, clock) -> None:
    # Alta, created Mon 7 Dec 09:00; Tue 8 Dec is a holiday (no business hours).
    clock.set(santiago(2026, 12, 7, 9, 0))
    reminders = build_reminders(services)
    recorder(services, clock)
    number = await email_ticket(services, team, prioridad=Prioridad.ALTA)
    await step_until(reminders, clock, santiago(2026, 12, 10, 14, 0))

    rows = await SentReminder.filter(ticket_id=number).order_by("sent_at", "id")
    assert all(r.sent_at == r.due_at for r in rows)  # Alta: nothing waited
    first = [r.threshold for r in rows if r.deadline == "primera_respuesta"]
    assert first == ["75", "90", "100"] + [f"r{n}" for n in range(1, 10)]
    resolution = [r for r in rows if r.deadline == "resolucion"]
    assert [r.threshold for r in resolution] == ["75", "90", "100", "r1"]
    assert [r.due_at for r in resolution] == [
        santiago(2026, 12, 9, 21, 0), santiago(2026, 12, 10, 4, 12),
        santiago(2026, 12, 10, 9, 0), santiago(2026, 12, 10, 13, 0)]
    by_key = {(r.deadline, r.threshold): r.due_at for r in rows}
    assert by_key[("primera_respuesta", "75")] == santiago(2026, 12, 8, 3, 0)
    # repeats count business hours: none on the holiday, the first Wed 04:00
    assert by_key[("primera_respuesta", "r1")] == santiago(2026, 12, 9, 4, 0)
    assert sorted(by_key.values()) == [r.due_at for r in rows]


async def test_first_response_clock_stops_at_the_first_reply(services, team, clock) -> None:
    clock.set(santiago(2026, 12, 9, 10, 0))
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    number = await email_ticket(services, team, prioridad=Prioridad.MEDIA)
    clock.set(santiago(2026, 12, 10, 4, 0))  # 75 % (Thu 04:00) is held by the night
    await reminders.fire_due()
    assert notes.delivered == []
    await services.tickets.reply(team.actor(team.diego), number, text="Lo revisamos.")
    # only the resolution clock is left: 75 % of 48 business hours is Thu 22:00, in the
    # night window, so it waits for Fri 08:00
    assert (await Ticket.get(id=number)).next_reminder_at == santiago(2026, 12, 11, 8, 0)
    await step_until(reminders, clock, santiago(2026, 12, 11, 8, 0))
    assert {d for d, _ in await _claims(number)} == {"resolucion"}


async def test_resolution_clock_pauses_and_resumes_where_it_stood(services, team, clock) -> None:
    clock.set(santiago(2026, 12, 7, 9, 0))
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    number = await email_ticket(services, team, prioridad=Prioridad.MEDIA)
    diego = team.actor(team.diego)
    clock.set(santiago(2026, 12, 7, 9, 30))
    await services.tickets.reply(diego, number, text="Estamos en ello.")
    clock.set(santiago(2026, 12, 7, 12, 0))
    await services.tickets.propose(diego, number)  # 3 business hours used; clock stops
    assert (await Ticket.get(id=number)).next_reminder_at is None

    clock.set(santiago(2026, 12, 9, 9, 0))
    await services.tickets.reject(Actor.system("Cliente"), number)
    # 75 % = 36 h; 33 h left from Wed 09:00 -> Thu 18:00
    assert (await Ticket.get(id=number)).next_reminder_at == santiago(2026, 12, 10, 18, 0)
    await step_until(reminders, clock, santiago(2026, 12, 10, 19, 0))
    assert await _claims(number) == [("resolucion", "75")]
    assert notes.lines()[-1][2] == ("#1 Consulta · Media — resolución vence en 12 h hábiles "
                                     "(vie 11/12 06:00)")

    await services.tickets.propose(diego, number)  # 37 h used
    clock.set(santiago(2026, 12, 11, 10, 0))
    await services.tickets.reject(Actor.system("Cliente"), number)
    # 90 % = 43.2 h: 6.2 h after Fri 10:00; 75 % is not announced again
    assert (await Ticket.get(id=number)).next_reminder_at == santiago(2026, 12, 11, 16, 12)
    await step_until(reminders, clock, santiago(2026, 12, 11, 17, 0))
    assert await _claims(number) == [("resolucion", "75"), ("resolucion", "90")]


async def test_resolved_ticket_has_nothing_due(services, team, clock) -> None:
    clock.set(santiago(2026, 12, 7, 9, 0))
    build_reminders(services)
    number = await email_ticket(services, team, prioridad=Prioridad.BAJA)
    await services.tickets.discard(team.admin, number, "duplicado")
    assert (await Ticket.get(id=number)).next_reminder_at is None


async def test_quiet_hours_hold_media_and_let_alta_through(services, team, clock) -> None:
    clock.set(santiago(2026, 12, 9, 12, 0))
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    media_a = await email_ticket(services, team, prioridad=Prioridad.MEDIA, email="a@x.cl")
    media_b = await email_ticket(services, team, prioridad=None, email="b@x.cl")
    alta = await email_ticket(services, team, prioridad=Prioridad.ALTA, email="c@x.cl")
    # all three reach 75 % of the first response at Thu 06:00, inside the night window
    await step_until(reminders, clock, santiago(2026, 12, 10, 8, 0))

    six, eight = santiago(2026, 12, 10, 6, 0), santiago(2026, 12, 10, 8, 0)
    at_six = [d for when, d in notes.delivered if when == six]
    assert {(d.audience.value, d.member.name) for d in at_six} == {
        ("assignee", "Diego"), ("admin", "Carla")}
    assert all(n.ticket.number == alta for d in at_six for n in d.notices)
    diego_at_eight = [d for when, d in notes.delivered
                      if when == eight and d.member and d.member.name == "Diego"]
    assert len(diego_at_eight) == 1  # one digest, both held tickets
    assert sorted(n.ticket.number for n in diego_at_eight[0].notices) == [media_a, media_b]
    assert diego_at_eight[0].notices[1].text.startswith("#2 Consulta — primera respuesta")
    assert not any(when < eight and n.ticket.number != alta
                   for when, d in notes.delivered for n in d.notices)


def test_quiet_period_ends(settings) -> None:
    quiet = QuietHours(settings)
    assert quiet.end(santiago(2026, 12, 4, 21, 0)) == santiago(2026, 12, 7, 8, 0)  # weekend
    assert quiet.end(santiago(2026, 12, 7, 21, 0)) == santiago(2026, 12, 9, 8, 0)  # holiday
    assert quiet.end(santiago(2026, 12, 9, 3, 0)) == santiago(2026, 12, 9, 8, 0)
    assert quiet.end(santiago(2026, 12, 9, 12, 0)) == santiago(2026, 12, 9, 12, 0)
    assert not quiet.is_quiet(santiago(2026, 12, 9, 19, 59))
    assert quiet.is_quiet(santiago(2026, 12, 9, 20, 0))
    no_nights = QuietHours(settings.model_copy(update={"quiet_hours": ""}))
    assert no_nights.end(santiago(2026, 12, 5, 10, 0)) == santiago(2026, 12, 7, 0, 0)


@pytest.mark.parametrize("spec", ["20-08", "25:00-08:00", "mañana"])
def test_bad_quiet_hours_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match="horario de silencio"):
        parse_window(spec)

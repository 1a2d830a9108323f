"""Exactly once: restarts, two instances, failed posts, catch-up after downtime, routing."""

from __future__ import annotations

import asyncio
import logging

from bot.process.domain import Prioridad
from bot.process.notify import Audience
from bot.reminders import build_reminders
from bot.services import build_services
from db.models import SentReminder, Ticket
from tests.conftest import santiago
from tests.core.reminders.harness import email_ticket, recorder, whatsapp_ticket

SAT_1150 = (2026, 12, 5, 11, 50)
SAT_1526 = (2026, 12, 5, 15, 26)


async def test_no_duplicates_across_a_restart(services, team, clock, settings) -> None:
    first = build_reminders(services)
    notes = recorder(services, clock)
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    clock.set(santiago(*SAT_1150))
    assert len(await first.fire_due()) == 2

    # the process restarts: new services, new scheduler, same database, same instant
    again = build_services(settings, clock)
    again.notifiers.append(notes)
    second = build_reminders(again)
    assert await second.fire_due() == []
    clock.set(santiago(*SAT_1526))
    digests = await second.fire_due()
    assert "primera respuesta vence en 2 h 24 min" in digests[0].notices[0].text
    assert len(notes.delivered) == 4
    assert await SentReminder.all().count() == 2


async def test_two_instances_firing_together_send_once(services, team, clock, settings) -> None:
    one = build_reminders(services)
    notes = recorder(services, clock)
    other_services = build_services(settings, clock)
    other_services.notifiers.append(notes)
    other = build_reminders(other_services)
    for n in range(5):
        await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA,
                              external_id=f"wamid.{n}", phone=f"+56 9 1234 56{n:02d}")
    clock.set(santiago(2026, 12, 5, 18, 0))
    await asyncio.gather(one.fire_due(), other.fire_due())

    notices = [(d.audience, d.member.id if d.member else None, n.ticket.number, n.deadline)
               for _, d in notes.delivered for n in d.notices]
    assert len(notices) == len(set(notices))  # nobody heard the same thing twice
    assert {number for *_, number, _ in notices} == {1, 2, 3, 4, 5}
    assert await SentReminder.filter(threshold="100").count() == 5


async def test_a_failed_post_is_not_retried_twice(services, team, clock, caplog) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock, fail_times=1)
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    clock.set(santiago(*SAT_1150))
    with caplog.at_level(logging.ERROR, logger="bot.reminders.scheduler"):
        await reminders.fire_due()
    assert "reminder delivery failed" in caplog.text
    assert len(notes.delivered) == 1  # Diego's failed, Carla's went out
    await reminders.fire_due()
    assert len(notes.delivered) == 1 and notes.attempts == 2


async def test_catch_up_after_downtime_is_one_digest_each(services, team, clock) -> None:
    clock.set(santiago(2026, 12, 7, 9, 0))
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    numbers = [await email_ticket(services, team, prioridad=p, email=f"c{i}@x.cl")
               for i, p in enumerate((Prioridad.BAJA, Prioridad.MEDIA, Prioridad.ALTA))]
    # Atiende is down from Monday morning until Thursday 10:00
    clock.set(santiago(2026, 12, 10, 10, 0))
    digests = await reminders.fire_due()

    assert sorted((d.audience.value, d.member.name if d.member else "") for d in digests) == [
        ("admin", "Carla"), ("assignee", "Diego"), ("channel", "")]
    diego = next(d for d in digests if d.audience is Audience.ASSIGNEE)
    # every ticket, both deadlines, as it stands now: one line each
    assert sorted((n.ticket.number, n.deadline) for n in diego.notices) == sorted(
        (n, d) for n in numbers for d in ("primera_respuesta", "resolucion"))
    assert all("vencido hace" in n.text for n in diego.notices)
    # nothing skipped: each reached threshold is recorded
    for number in numbers:
        got = set(await SentReminder.filter(ticket_id=number, deadline="primera_respuesta")
                  .values_list("threshold", flat=True))
        assert {"75", "90", "100"} <= got
    assert [d for _, d in notes.delivered] == digests  # delivered, one message each
    assert await reminders.fire_due() == []  # and it does not come again
    nxt = await Ticket.filter(id__in=numbers).values_list("next_reminder_at", flat=True)
    assert all(t > clock.now() for t in nxt)


async def test_nobody_reachable_is_logged(services, team, clock, caplog) -> None:
    reminders = build_reminders(services)
    recorder(services, clock, reach=frozenset({Audience.CHANNEL}))
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    clock.set(santiago(*SAT_1150))
    with caplog.at_level(logging.WARNING, logger="bot.reminders.scheduler"):
        await reminders.fire_due()
    assert "no notifier can reach assignee Diego" in caplog.text
    assert "no notifier can reach admin Carla" in caplog.text


async def test_first_notifier_that_can_reach_wins(services, team, clock) -> None:
    reminders = build_reminders(services)
    slack = recorder(services, clock, name="slack", reach=frozenset({Audience.ASSIGNEE,
                                                                     Audience.CHANNEL}))
    telegram = recorder(services, clock, name="telegram")
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    clock.set(santiago(2026, 12, 5, 17, 50))
    await reminders.fire_due()
    assert {d.audience for _, d in slack.delivered} == {Audience.ASSIGNEE, Audience.CHANNEL}
    assert {d.audience for _, d in telegram.delivered} == {Audience.ADMIN}


async def test_admin_who_is_the_assignee_hears_it_once(services, team, clock) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA, assignee=team.carla)
    clock.set(santiago(*SAT_1150))
    await reminders.fire_due()
    assert [(d.audience, d.member.name) for _, d in notes.delivered] == [
        (Audience.ASSIGNEE, "Carla")]


async def test_a_deadline_half_claimed_elsewhere_is_left_to_that_instance(
        services, team, clock) -> None:  # type: ignore[no-untyped-def]
    """Two instances computed the same due marks (75 % and 90 % of one deadline); the
    other one claimed 75 % a moment ago. Claiming mark by mark we would win 90 % and both
    would post a notice for that deadline; the group is claimed all or nothing."""
    from bot.reminders.policy import Mark

    number = await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    now = clock.now()
    marks = tuple(Mark(number, "primera_respuesta", t, "aviso", now, r)
                  for t, r in (("75", 0.75), ("90", 0.9)))
    await SentReminder.create(key=marks[0].key, ticket_id=number,
                              deadline="primera_respuesta", threshold="75", due_at=now,
                              sent_at=now, recipients=["otra instancia"])
    reminders = build_reminders(services)
    assert await reminders._claim_group(marks, now, ["Diego"]) == []
    assert await SentReminder.filter(ticket_id=number).count() == 1  # 90 % not taken
    assert await reminders._claim_group(marks[1:], now, ["Diego"]) == [marks[1]]

"""The morning summary, the dry run, and the scheduler loop."""

from __future__ import annotations

import asyncio

from bot.process.domain import Prioridad
from bot.reminders import build_reminders, describe_due
from bot.services import build_services
from db.models import SentReminder
from tests.conftest import santiago
from tests.core.reminders.harness import email_ticket, recorder, whatsapp_ticket


async def test_morning_summary_once_per_business_day(services, team, clock, settings) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)  # #1, Diego
    await email_ticket(services, team, prioridad=Prioridad.BAJA, assignee=team.sofia)  # #2
    clock.set(santiago(2026, 12, 5, 8, 0))  # Saturday: no summary
    assert await reminders.send_summary() == []
    assert reminders.summary.next_at(clock.now()) == santiago(2026, 12, 7, 8, 0)

    clock.set(santiago(2026, 12, 7, 8, 0))
    digests = await reminders.send_summary()
    assert [(d.audience.value, d.member.name if d.member else "") for d in digests] == [
        ("channel", ""), ("admin", "Carla")]
    assert digests[0].title == "Resumen de la mañana · lun 07/12"
    assert digests[0].summary == (
        "Abiertos: 2 (Nuevo 1 · En proceso 1)\n"
        "Vencen hoy: 0\n"
        "Vencidos: 2 (#1, #2)\n"
        "Por responsable:\n"
        "· Diego: 1 abierto, 1 vencido\n"
        "· Sofía: 1 abierto, 1 vencido\n"
        "Ayer: sin plazos que cumplir.")  # Sunday: no deadline fell on it
    assert len(notes.delivered) == 2
    assert await reminders.send_summary() == []  # once
    other = build_services(settings, clock)
    assert await build_reminders(other).send_summary() == []  # not from a second instance
    clock.set(santiago(2026, 12, 8, 8, 0))  # Tuesday 8 Dec: a holiday
    assert await reminders.send_summary() == []
    clock.set(santiago(2026, 12, 9, 14, 0))  # Wednesday afternoon: too late for "morning"
    assert await reminders.send_summary() == []
    clock.set(santiago(2026, 12, 10, 9, 30))  # Thursday, after downtime: still sent
    assert len(await reminders.send_summary()) == 2


async def test_summary_with_nothing_open(services, team, clock) -> None:
    reminders = build_reminders(services)
    clock.set(santiago(2026, 12, 7, 8, 0))
    (channel, admin) = await reminders.send_summary()
    assert channel.summary == admin.summary == ("Sin tickets abiertos.\n"
                                                "Ayer: sin plazos que cumplir.")


async def test_describe_due_says_what_and_to_whom_without_sending(services, team,
                                                                  clock) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    assert await describe_due(services) == ["Nada que enviar ahora."]
    clock.set(santiago(2026, 12, 5, 17, 50))
    lines = await describe_due(services)
    text = ("#1 Reclamo · Alta — plazo de primera respuesta vencido (sáb 05/12 17:50) · "
            "ventana de WhatsApp cerrada: solo plantillas aprobadas")
    assert lines == [f"Diego (responsable) [recorder]: {text}",
                     f"canal de soporte [recorder]: {text}",
                     f"Carla (administración) [recorder]: {text}"]
    assert await describe_due(services) == lines  # nothing was claimed
    assert await SentReminder.all().count() == 0 and notes.delivered == []
    await reminders.fire_due()
    assert len(notes.delivered) == 3


async def test_describe_due_shows_held_and_unreachable(services, team, clock) -> None:
    build_reminders(services)
    await whatsapp_ticket(services, team, prioridad=Prioridad.MEDIA)
    clock.set(santiago(2026, 12, 7, 8, 0))
    lines = await describe_due(services)
    assert lines[0].startswith("Diego (responsable) [nadie (sin notificador que llegue)]: "
                               "#1 Reclamo · Media — plazo de primera respuesta vencido")
    assert lines[-1] == ("canal de soporte [nadie (sin notificador que llegue)]: "
                         "resumen de la mañana del lun 07/12")
    clock.set(santiago(2026, 12, 7, 21, 0))
    assert await describe_due(services) == [
        "#1: espera al fin del horario de silencio (mié 09/12 08:00)"]


async def test_run_wakes_on_ticket_events_and_stops(services, team, clock) -> None:
    reminders = build_reminders(services)
    notes = recorder(services, clock)
    number = await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    stop = asyncio.Event()
    task = asyncio.create_task(reminders.run(stop))
    try:
        await asyncio.wait_for(reminders.passed.wait(), 5)
        assert reminders.passes == 1 and notes.delivered == []
        # the loop now sleeps until Sat 11:50; time jumps and a ticket event wakes it
        reminders.passed.clear()
        clock.set(santiago(2026, 12, 5, 17, 50))
        await services.tickets.note(team.actor(team.diego), number, "llamé, no contesta")
        await asyncio.wait_for(reminders.passed.wait(), 5)
        assert reminders.passes == 2
        assert {d.audience.value for _, d in notes.delivered} == {"assignee", "admin",
                                                                   "channel"}
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_next_wake_is_the_earliest_due_moment(services, team, clock) -> None:
    reminders = build_reminders(services)
    await whatsapp_ticket(services, team, prioridad=Prioridad.ALTA)
    clock.set(santiago(2026, 12, 5, 11, 0))
    assert await reminders.next_wake() == santiago(2026, 12, 5, 11, 50)
    await whatsapp_ticket(services, team, prioridad=Prioridad.MEDIA, external_id="w2",
                          phone="+56 9 8765 4321")
    clock.set(santiago(2026, 12, 6, 22, 0))  # Sunday night, the Alta ticket already fired
    await reminders.fire_due()
    assert await reminders.next_wake() == santiago(2026, 12, 6, 23, 0)  # the hourly check

"""The SLA clock as a ticket lives it: deadlines, pauses, resumes, tacit conformity."""

from __future__ import annotations

from bot.process.domain import Canal, ConformityKind, Estado, InteractionKind
from bot.services import Services
from db.models import OutboxMessage
from tests.conftest import Team, santiago


async def open_for_ana(services: Services, team: Team) -> int:
    ana = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    view = await services.tickets.open(team.admin, customer_id=ana.id, channel=Canal.EMAIL,
                                       subject="Consulta por hosting",
                                       description="¿Qué plan me conviene?")
    return view.number


async def test_deadlines_of_scenario_one(services: Services, team: Team) -> None:
    # Fri 4 Dec 2026 17:50: first reply Sat 17:50; resolution Wed 9 Dec 17:50
    # (the weekend and Tuesday 8 Dec, a holiday, do not count).
    n = await open_for_ana(services, team)
    view = await services.queries.get(n)
    assert view.first_response_due == santiago(2026, 12, 5, 17, 50)
    assert view.resolution_due == santiago(2026, 12, 9, 17, 50)


async def test_waiting_for_the_customer_pauses_and_resumes(services: Services,
                                                           team: Team) -> None:
    from bot.incoming.intake import IncomingMessage

    clock = services.clock
    clock.set(santiago(2026, 12, 9, 10, 0))  # type: ignore[attr-defined]
    n = await open_for_ana(services, team)
    first_due = (await services.queries.get(n)).resolution_due
    assert first_due == santiago(2026, 12, 11, 10, 0)
    clock.set(santiago(2026, 12, 9, 12, 0))  # type: ignore[attr-defined]
    await services.tickets.wait_for_customer(team.admin, n)
    paused = await services.queries.get(n)
    assert not paused.resolution_running
    assert abs(paused.resolution_hours_used - 2.0) < 1e-6
    # Ana answers 24 h later: the clock resumes with 46 business hours left.
    clock.set(santiago(2026, 12, 10, 12, 0))  # type: ignore[attr-defined]
    await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Tengo 3 sitios", external_id="<r1@example.cl>",
        email="ana@example.cl", ticket_number=n))
    resumed = await services.queries.get(n)
    assert resumed.estado is Estado.IN_PROGRESS and resumed.resolution_running
    assert resumed.resolution_due == santiago(2026, 12, 14, 10, 0)  # moved by the 24 h paused
    moves = [i for i in await services.queries.history(n)
             if i.kind is InteractionKind.EVENT and i.field == "Plazo de resolución"]
    assert len(moves) == 1 and "reanuda" in str(moves[0].meta.get("reason"))


async def test_pause_can_be_turned_off(services: Services, team: Team) -> None:
    services.settings.pause_while_waiting_customer = False
    n = await open_for_ana(services, team)
    await services.tickets.wait_for_customer(team.admin, n)
    assert (await services.queries.get(n)).resolution_running


async def test_rejected_fix_resumes_where_it_stood(services: Services, team: Team) -> None:
    clock = services.clock
    clock.set(santiago(2026, 12, 9, 10, 0))  # type: ignore[attr-defined]
    n = await open_for_ana(services, team)
    clock.set(santiago(2026, 12, 10, 10, 0))  # type: ignore[attr-defined]  24 h used
    await services.tickets.propose(team.admin, n, detalle="Le activamos el plan")
    clock.set(santiago(2026, 12, 14, 10, 0))  # type: ignore[attr-defined]  Monday
    view = await services.tickets.reject(team.admin, n)
    assert view.resolution_running
    assert view.resolution_due == santiago(2026, 12, 15, 10, 0)  # 24 business hours left


async def test_unanswered_conformity_reminder_then_tacit(services: Services,
                                                         team: Team) -> None:
    """Scenario 4: proposed Thu 10 Dec 15:00; reminder Mon 14 Dec 15:00; tacit Thu 17 Dec."""
    clock = services.clock
    clock.set(santiago(2026, 12, 9, 10, 0))  # type: ignore[attr-defined]
    n = await open_for_ana(services, team)
    clock.set(santiago(2026, 12, 10, 15, 0))  # type: ignore[attr-defined]
    await services.tickets.propose(team.actor(team.sofia), n, detalle="Plan Pyme")
    clock.set(santiago(2026, 12, 14, 14, 59))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == []
    clock.set(santiago(2026, 12, 14, 15, 0))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == [(n, "recordatorio")]
    assert await services.conformity.sweep() == []  # once only
    reminders = [r for r in await OutboxMessage.all() if r.payload["template"] ==
                 "recordatorio_cliente"]
    assert len(reminders) == 1
    clock.set(santiago(2026, 12, 17, 14, 59))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == []
    clock.set(santiago(2026, 12, 17, 15, 0))  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == [(n, "sin respuesta")]
    view = await services.queries.get(n)
    assert view.estado is Estado.RESOLVED
    assert view.conformity_kind is ConformityKind.NO_ANSWER
    assert view.resolved_at == santiago(2026, 12, 17, 15, 0)
    assert view.customer_confirmed_at is None


async def test_zero_turns_the_conformity_steps_off(services: Services, team: Team) -> None:
    services.settings.conformity_reminder_business_days = 0
    services.settings.conformity_tacit_business_days = 0
    n = await open_for_ana(services, team)
    await services.tickets.propose(team.admin, n, detalle="x")
    services.clock.advance(days=30)  # type: ignore[attr-defined]
    assert await services.conformity.sweep() == []
    assert (await services.queries.get(n)).estado is Estado.PENDING_CONFORMITY

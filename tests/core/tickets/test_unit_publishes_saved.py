"""A unit of work publishes the ticket it saved, without reading it again: the event's
view must be exactly what a fresh read of the database shows after the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.process.clock import ManualClock
from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from bot.process.events import TicketEvent
from bot.process.views import TicketView
from bot.services import Services
from tests.conftest import Team


async def test_every_change_publishes_what_the_database_holds(
        services: Services, team: Team, clock: ManualClock) -> None:
    seen: list[TicketEvent] = []

    async def record(event: TicketEvent) -> None:
        seen.append(event)

    services.bus.subscribe(record)
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    opened = await services.tickets.open(team.admin, customer_id=customer.id,
                                         channel=Canal.EMAIL, description="No llega la boleta")
    n, t, admin = opened.number, services.tickets, team.admin

    async def check(change: Callable[[], Awaitable[TicketView]]) -> TicketView:
        before = len(seen)
        clock.advance(minutes=7, seconds=0.123456)  # timestamps with microseconds
        returned = await change()
        assert len(seen) == before + 1  # one event per change
        fresh = await services.queries.get(n)
        assert seen[-1].ticket == fresh  # every field, relations included
        assert returned == fresh
        return returned

    view = await check(lambda: t.classify(admin, n, tipo=TipoIncidencia.RECLAMO,
                                          prioridad=Prioridad.ALTA, expected_version=1))
    view = await check(lambda: t.assign(admin, n, team.diego.id,
                                        expected_version=view.version))
    assert view.assignee is not None and view.assignee.id == team.diego.id
    await check(lambda: t.note(admin, n, "Revisar con facturación"))
    view = await check(lambda: t.propose(admin, n, detalle="Reenviamos la boleta"))
    assert view.estado is Estado.PENDING_CONFORMITY
    view = await check(lambda: t.reject(admin, n, expected_version=view.version))
    view = await check(lambda: t.discard(admin, n, "Duplicado"))
    assert view.estado is Estado.DISCARDED
    view = await check(lambda: t.reopen(admin, n, "reabierto"))
    assert view.estado is not Estado.DISCARDED

"""Two team members acting on the same ticket at the same instant end consistently.

Each operation locks the ticket row in its own transaction, so the history is a clean
sequence: every change recorded once, the version counts every operation, and no
update is lost. Run on SQLite and on PostgreSQL (real row locks there).
"""

from __future__ import annotations

import asyncio

import pytest

from bot.process.domain import Canal, Estado, Prioridad, Rol, TipoIncidencia
from bot.process.errors import DomainError
from bot.process.views import Actor
from bot.services import Services, build_services
from db.connection import close_database, open_database, upgrade
from tests.conftest import sqlite_only


async def _scenario(services: Services, carla: Actor, diego: Actor, sofia_id: int) -> None:
    customer = await services.customers.find_or_create(email="ana@example.cl")
    view = await services.tickets.open(carla, customer_id=customer.id, channel=Canal.EMAIL,
                                       description="Consulta")
    n = view.number
    ops = [
        services.tickets.classify(diego, n, tipo=TipoIncidencia.RECLAMO),
        services.tickets.classify(carla, n, prioridad=Prioridad.ALTA),
        services.tickets.assign(carla, n, sofia_id),
        services.tickets.note(diego, n, "llamó el cliente"),
        services.tickets.note(carla, n, "revisar facturación"),
        services.tickets.reply(carla, n, text="Estamos en ello"),
    ]
    results = await asyncio.gather(*ops, return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not [f for f in failures if not isinstance(f, DomainError)], failures
    final = await services.queries.get(n)
    assert final.version == 1 + len(ops) - len(failures)
    assert final.tipo is TipoIncidencia.RECLAMO and final.prioridad is Prioridad.ALTA
    assert final.assignee is not None and final.assignee.id == sofia_id
    assert final.estado is Estado.IN_PROGRESS
    history = await services.queries.history(n)
    fields = [i.field for i in history if i.field]
    assert fields.count("Tipo_Incidencia") == 1 and fields.count("Prioridad") == 1
    assert fields.count("Responsable") == 1 and fields.count("Estado") == 1
    assert [i.id for i in history] == sorted(i.id for i in history)

    # Same instant, conflicting intentions: two people propose; only one can.
    both = await asyncio.gather(services.tickets.propose(carla, n, detalle="a"),
                                services.tickets.propose(diego, n, detalle="b"),
                                return_exceptions=True)
    assert sum(1 for r in both if isinstance(r, BaseException)) == 1
    sent = [i for i in await services.queries.history(n) if i.template == "solicitud_conformidad"]
    assert len(sent) == 1


async def test_concurrent_actions_sqlite(services: Services, team) -> None:  # type: ignore[no-untyped-def]
    await _scenario(services, team.admin, team.actor(team.diego), team.sofia.id)


@pytest.mark.postgres
async def test_concurrent_actions_postgres(postgres_url: str, settings, clock) -> None:  # type: ignore[no-untyped-def]
    await upgrade(postgres_url)
    await open_database(postgres_url)
    try:
        services = build_services(settings, clock)
        carla = await services.team.add("Carla", Rol.ADMIN)
        diego = await services.team.add("Diego", Rol.AGENT)
        sofia = await services.team.add("Sofía", Rol.AGENT)
        await _scenario(services, Actor.of(carla), Actor.of(diego), sofia.id)
    finally:
        await close_database()


@sqlite_only("BEGIN IMMEDIATE and SQLite's file lock; PostgreSQL has row locks")
async def test_second_process_waits_instead_of_breaking_our_write(services: Services,
                                                                  team) -> None:  # type: ignore[no-untyped-def]
    """Another process writes between our transaction's read and its write. With a
    plain BEGIN our write fails with "database is locked" (its snapshot went stale);
    with BEGIN IMMEDIATE the other writer waits for our commit instead."""
    import sqlite3

    from tortoise.transactions import in_transaction

    from db.models import Ticket

    customer = await services.customers.find_or_create(email="ana@example.cl")
    view = await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                       description="Consulta")
    path = services.settings.effective_database_url.removeprefix("sqlite://")

    def other_process_write() -> None:
        con = sqlite3.connect(path, timeout=10)
        try:
            con.execute("UPDATE tickets SET subject = 'otro proceso' WHERE id = ?",
                        (view.number,))
            con.commit()
        finally:
            con.close()

    loop = asyncio.get_running_loop()
    async with in_transaction():
        ticket = await Ticket.get(id=view.number)  # our read
        other = loop.run_in_executor(None, other_process_write)
        await asyncio.sleep(0.3)  # a real second writer, given real time to try
        assert not other.done()  # it waits for our write lock
        ticket.description = "escrito por nosotros"
        await ticket.save(update_fields=["description"])
    await asyncio.wait_for(other, 10)
    final = await Ticket.get(id=view.number)
    assert final.description == "escrito por nosotros" and final.subject == "otro proceso"

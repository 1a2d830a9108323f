"""Nothing SQLite-only: migrations and the whole ticket life on a real PostgreSQL."""

from __future__ import annotations

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Estado, Prioridad, Rol, TipoIncidencia
from bot.process.views import Actor
from bot.services import build_services
from db.connection import close_database, open_database, upgrade


async def test_ticket_life_on_postgres(postgres_url: str, settings, clock) -> None:  # type: ignore[no-untyped-def]
    await upgrade(postgres_url)
    await upgrade(postgres_url)  # idempotent
    await open_database(postgres_url)
    try:
        services = build_services(settings, clock)
        carla = await services.team.add("Carla", Rol.ADMIN)
        admin = Actor.of(carla)
        first = await services.intake.receive(IncomingMessage(
            channel=Canal.WHATSAPP, body="hola", external_id="wamid.pg", phone="56912345678",
            join_open=True))
        again = await services.intake.receive(IncomingMessage(
            channel=Canal.WHATSAPP, body="hola", external_id="wamid.pg", phone="56912345678",
            join_open=True))
        assert first.created and again.duplicate
        n = first.ticket.number  # type: ignore[union-attr]
        await services.tickets.classify(admin, n, tipo=TipoIncidencia.RECLAMO,
                                        prioridad=Prioridad.ALTA)
        await services.tickets.reply(admin, n, text="Lo revisamos")
        await services.tickets.propose(admin, n, detalle="Devolución hecha")
        view = await services.tickets.confirm(admin, n)
        assert view.estado is Estado.RESOLVED and view.resolved_at == clock.now()
        found = await services.queries.search("hola")
        assert [t.number for t in found] == [n]
        assert len(await services.queries.history(n)) >= 6
    finally:
        await close_database()

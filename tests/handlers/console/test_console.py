"""The console, driven through a whole ticket life as the administrator types it."""

from __future__ import annotations

import asyncio

from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from bot.services import Services
from handlers.console import Console, ConsoleSender
from tests.conftest import Team, santiago


async def drive(console: Console, lines: list[str]) -> None:
    for line in lines:
        console.feed(line)
    console.feed(None)
    await asyncio.wait_for(console.run(), 10)


async def test_whole_ticket_life_from_the_console(services: Services, team: Team) -> None:
    out: list[str] = []
    services.outbox.register(Canal.EMAIL, ConsoleSender(out.append))
    console = Console(services, team.carla, out.append)
    await drive(console, [
        "/nuevo", "ana@example.cl", "Ana Pérez", "1",
        "Quiero saber si el plan <b>Pyme</b> incluye correo & dominio {{ secret }}",
        "4", "4", "1",                                    # type and priority later; create
        "/clasificar 1 consulta media",
        "/asignar 1 Sofía",
        "/responder 1 solicitud_informacion", "¿Cuántos buzones necesita?", "1",
        "/nota 1 llamó también por teléfono",
        "/resolver 1 El plan Pyme incluye 10 buzones",
        "/conformidad 1 si",
        "/ticket 1",
        "/tickets resuelto",
    ])
    await services.outbox.deliver_due()
    text = "\n".join(out)
    view = await services.queries.get(1)
    assert view.estado is Estado.RESOLVED
    assert view.tipo is TipoIncidencia.CONSULTA and view.prioridad is Prioridad.MEDIA
    assert view.assignee is not None and view.assignee.name == "Sofía"
    assert view.resolved_at == services.clock.now() == santiago(2026, 12, 4, 17, 50)
    assert "✓ Ticket creado." in text and "✓ #1 Resuelto. Fecha_Resolucion: vie 04/12 17:50." in text
    # Outbound messages are shown as they would be sent, customer text literal.
    assert "→ Correo a ana@example.cl" in text
    assert "[#1]" in text and "¿Cuántos buzones necesita?" in text
    assert "<b>Pyme</b> incluye correo & dominio {{ secret }}" in text
    history = await services.queries.history(1)
    assert [i.body for i in history if i.kind.value == "nota"] == ["llamó también por teléfono"]


async def test_console_shows_domain_errors_and_goes_on(services: Services, team: Team) -> None:
    out: list[str] = []
    console = Console(services, team.diego, out.append)
    await drive(console, ["/ticket 77", "/descartar 77 spam", "/clasificar", "/foo",
                          "/ayuda"])
    text = "\n".join(out)
    assert "✗ No existe el ticket #77." in text
    assert "✗ Solo el administrador puede descartar tickets." in text
    assert "✗ Indique el número del ticket" in text
    assert "No conozco ese comando" in text
    assert "/nuevo" in text  # the help came after the errors


async def test_numbered_choices_stand_in_for_buttons(services: Services, team: Team) -> None:
    customer = await services.customers.find_or_create(phone="+56 9 1234 5678", name="Pedro")
    await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.WHATSAPP,
                                description="hola")
    out: list[str] = []
    console = Console(services, team.carla, out.append)
    await drive(console, ["/clasificar 1", "2", "3", "/asignar 1", "2", "/cancelar"])
    view = await services.queries.get(1)
    assert view.tipo is TipoIncidencia.RECLAMO and view.prioridad is Prioridad.ALTA
    assert view.assignee is not None and view.assignee.name == "Diego"
    assert "  2. Reclamo" in "\n".join(out)


async def test_cancel_leaves_a_conversation_without_changes(services: Services,
                                                            team: Team) -> None:
    out: list[str] = []
    console = Console(services, team.carla, out.append)
    await drive(console, ["/nuevo", "ana@example.cl", "Ana", "/cancelar", "/tickets"])
    assert "✗ Cancelado." in out
    assert "No hay tickets que mostrar." in out


async def test_history_shows_changed_instants_in_the_company_zone(services: Services,
                                                                  team: Team) -> None:
    customer = await services.customers.find_or_create(email="ana@example.cl", name="Ana")
    await services.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                description="hola")
    await services.tickets.reply(team.admin, 1, text="Le respondemos")
    out: list[str] = []
    await drive(Console(services, team.carla, out.append), ["/ticket 1"])
    text = "\n".join(out)
    assert "Primera respuesta: — → vie 04/12 17:50" in text  # not a UTC ISO string
    assert "+00:00" not in text

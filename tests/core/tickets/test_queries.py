"""Listings, filters, pagination and search (what /tickets, /buscar and /cliente show)."""

from __future__ import annotations

from bot.process.domain import Canal, Estado
from bot.services import Services
from bot.tickets.queries import TicketFilter
from tests.conftest import Team


async def seed(services: Services, team: Team) -> list[int]:
    ana = await services.customers.find_or_create(email="ana@example.cl", name="Ana Pérez")
    pedro = await services.customers.find_or_create(phone="+56912345678", name="Pedro Soto")
    numbers = []
    for i, (customer, text) in enumerate([(ana, "Consulta por hosting"),
                                          (pedro, "Me cobraron dos veces"),
                                          (ana, "Sugerencia: modo oscuro"),
                                          (pedro, "No llega la boleta")]):
        view = await services.tickets.open(team.admin, customer_id=customer.id,
                                           channel=Canal.EMAIL if i % 2 == 0 else Canal.WHATSAPP,
                                           description=text)
        numbers.append(view.number)
    return numbers


async def test_list_newest_first_with_pages(services: Services, team: Team) -> None:
    numbers = await seed(services, team)
    page = await services.queries.list(TicketFilter(), page=1, per_page=3)
    assert [t.number for t in page.items] == list(reversed(numbers))[:3]
    assert (page.page, page.pages, page.total) == (1, 2, 4)
    last = await services.queries.list(TicketFilter(), page=9, per_page=3)
    assert last.page == 2 and [t.number for t in last.items] == [numbers[0]]


async def test_filters_mine_estado_overdue(services: Services, team: Team) -> None:
    numbers = await seed(services, team)
    await services.tickets.assign(team.admin, numbers[1], team.diego.id)
    mine = await services.queries.list(TicketFilter(assignee_id=team.diego.id))
    assert [t.number for t in mine.items] == [numbers[1]]
    in_progress = await services.queries.list(TicketFilter(estado=Estado.IN_PROGRESS))
    assert [t.number for t in in_progress.items] == [numbers[1]]
    assert (await services.queries.list(TicketFilter(overdue=True))).total == 0
    await services.tickets.reply(team.admin, numbers[0], text="Hola")
    services.clock.advance(hours=25)  # type: ignore[attr-defined]
    overdue = await services.queries.list(TicketFilter(overdue=True), per_page=10)
    assert sorted(t.number for t in overdue.items) == sorted(numbers[1:])


async def test_search_by_text_number_and_history(services: Services, team: Team) -> None:
    numbers = await seed(services, team)
    await services.tickets.note(team.admin, numbers[3], "cliente pide factura electrónica")
    assert [t.number for t in await services.queries.search("boleta")] == [numbers[3]]
    assert [t.number for t in await services.queries.search("factura")] == [numbers[3]]
    assert [t.number for t in await services.queries.search(f"#{numbers[2]}")] == [numbers[2]]
    assert {t.number for t in await services.queries.search("ana pérez")} == {numbers[0],
                                                                              numbers[2]}
    assert await services.queries.search("   ") == []


async def test_customer_lookup(services: Services, team: Team) -> None:
    numbers = await seed(services, team)
    pedro = await services.customers.find("+56 9 1234 5678")
    assert [t.number for t in await services.queries.for_customer(pedro.id)] == [numbers[3],
                                                                                 numbers[1]]
    assert (await services.customers.find("ANA@example.cl")).name == "Ana Pérez"
    assert [c.name for c in await services.customers.search("soto")] == ["Pedro Soto"]


async def test_last_customer_message_survives_a_long_history(services: Services,
                                                             team: Team) -> None:
    from bot.incoming.intake import IncomingMessage
    from bot.process.domain import Prioridad

    numbers = await seed(services, team)
    n = numbers[0]
    await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Mis últimas palabras", external_id="<last@x>",
        email="ana@example.cl", ticket_number=n))
    for i in range(45):  # more changes than a card's history window
        await services.tickets.classify(team.admin, n, prioridad=list(Prioridad)[i % 3])
    last = await services.queries.last_customer_message(n)
    assert last is not None and last.body == "Mis últimas palabras"


async def test_archival_originals_are_kept_but_not_for_chats(services: Services,
                                                            team: Team) -> None:
    from bot.incoming.intake import IncomingMessage

    store = services.attachments
    pdf = store.store(b"%PDF-1.4 ...", "factura.pdf", "application/pdf")
    raw = store.store(b"From: ana@example.cl\r\n\r\nhola", "mensaje-original.eml",
                      "message/rfc822", archival=True)
    result = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body="Adjunto la factura", external_id="<pdf@x>",
        email="ana@example.cl", attachments=(pdf, raw)))
    interaction = result.interaction
    assert interaction is not None
    history = await services.queries.history(result.ticket.number)  # type: ignore[union-attr]
    files = history[0].attachments
    assert [a.filename for a in files] == ["factura.pdf", "mensaje-original.eml"]
    assert [a.filename for a in history[0].chat_attachments] == ["factura.pdf"]
    assert files[1].stored_path and store.read(files[1].stored_path).startswith(b"From:")

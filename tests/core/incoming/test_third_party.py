"""Who may speak for a ticket: a stranger threading into it is recorded, never obeyed."""

from __future__ import annotations

from bot.chats.cards import history_line
from bot.process.domain import Estado, InteractionKind
from bot.services import Services
from db.models import Interaction, Ticket
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail

STRANGER = "Intruso <mallory@evil.example>"


async def _pending(services: Services, team: Team) -> EmailIngestor:
    """Ana's ticket #1, its resolution proposed: it waits for her conformity."""
    ingestor = EmailIngestor(services)
    first = await ingestor.ingest(mail(body="Mi sitio no carga."))
    assert first.outcome == "created"
    await services.tickets.propose(team.admin, 1, "Reiniciamos el servidor.")
    assert (await Ticket.get(id=1)).estado == Estado.PENDING_CONFORMITY
    return ingestor


async def test_a_strangers_tagged_yes_leaves_the_ticket_pending(services: Services,
                                                                team: Team) -> None:
    ingestor = await _pending(services, team)
    result = await ingestor.ingest(mail(sender=STRANGER, subject="RE: [#1] Consulta",
                                        body="Sí, ya funciona.", message_id="<x1@evil.example>"))
    assert result.outcome == "third_party" and result.ticket_number == 1
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.PENDING_CONFORMITY and ticket.customer_confirmed_at is None
    row = await Interaction.get(external_id="<x1@evil.example>")
    assert row.kind == InteractionKind.THIRD_PARTY
    [view] = [i for i in await services.queries.history(1) if i.id == row.id]
    assert "Tercero" in history_line(view, services.settings.zone)
    # Redelivered: still nothing (the same rule as every channel's duplicate).
    again = await ingestor.ingest(mail(sender=STRANGER, subject="RE: [#1] Consulta",
                                       body="Sí, ya funciona.", message_id="<x1@evil.example>"))
    assert again.outcome == "duplicate"
    assert (await Ticket.get(id=1)).estado == Estado.PENDING_CONFORMITY


async def test_forged_references_saying_yes_change_nothing(services: Services,
                                                           team: Team) -> None:
    ingestor = await _pending(services, team)
    result = await ingestor.ingest(mail(sender=STRANGER, subject="Re: Consulta",
                                        body="Sí", message_id="<x2@evil.example>",
                                        in_reply_to="<a1@example.cl>",
                                        references="<a1@example.cl>"))
    assert result.outcome == "third_party"
    assert (await Ticket.get(id=1)).estado == Estado.PENDING_CONFORMITY
    # Ana's own "Sí" still closes it.
    ana = await ingestor.ingest(mail(subject="RE: [#1] Consulta", body="Sí, gracias",
                                     message_id="<a2@example.cl>"))
    assert ana.conformity is not None
    assert (await Ticket.get(id=1)).estado == Estado.RESOLVED


async def test_a_stranger_never_reopens_a_resolved_ticket(services: Services,
                                                          team: Team) -> None:
    ingestor = await _pending(services, team)
    await services.tickets.confirm(team.admin, 1)
    result = await ingestor.ingest(mail(sender=STRANGER, subject="RE: [#1] Consulta",
                                        body="Esto sigue mal, reabran.",
                                        message_id="<x3@evil.example>"))
    assert result.outcome == "third_party"
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.RESOLVED and ticket.resolved_at is not None
    assert (await Interaction.get(external_id="<x3@evil.example>")).kind == \
        InteractionKind.THIRD_PARTY
    assert await Ticket.all().count() == 1


async def test_es_del_cliente_links_the_address_from_then_on(services: Services,
                                                             team: Team) -> None:
    ingestor = await _pending(services, team)
    await ingestor.ingest(mail(sender="Beto <beto@example.cl>", subject="RE: [#1] Consulta",
                               body="Soy el socio de Ana.", message_id="<b1@example.cl>"))
    ticket = await Ticket.get(id=1).select_related("customer")
    await services.customers.add_contact(ticket.customer.id, "Beto@Example.cl")
    result = await ingestor.ingest(mail(sender="Beto <beto@example.cl>",
                                        subject="RE: [#1] Consulta", body="Sí, funciona.",
                                        message_id="<b2@example.cl>"))
    assert result.outcome == "appended" and result.conformity is not None
    assert (await Ticket.get(id=1)).estado == Estado.RESOLVED
    # And a new mail from that address is the customer's, not a new customer.
    later = await ingestor.ingest(mail(sender="Beto <beto@example.cl>", subject="Otra cosa",
                                       body="Otra consulta.", message_id="<b3@example.cl>"))
    assert later.outcome == "created"
    new = await Ticket.get(id=later.ticket_number).select_related("customer")
    assert new.customer.id == ticket.customer.id

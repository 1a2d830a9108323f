"""``ChatCardStore.for_redraw``: where a ticket's cards are and the words they quote, in
one statement, by the same rule as ``TicketQueries.last_customer_message`` (the latest
inbound message a person wrote with text: no auto-reply, no empty body, no other ticket).
"""

from __future__ import annotations

from bot.chats.chat_cards import CardRef
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, InteractionKind
from bot.services import Services
from db.models import Interaction
from tests.conftest import Team
from tests.statements import count_statements


async def _ticket(services: Services, body: str, email: str) -> int:
    result = await services.intake.receive(IncomingMessage(
        channel=Canal.EMAIL, body=body, external_id=f"<{email}>", email=email,
        name="Ana Pérez", subject="Acceso"))
    assert result.ticket is not None
    return result.ticket.number


async def test_cards_and_latest_words_come_back_in_one_statement(
        services: Services, team: Team) -> None:
    number = await _ticket(services, "No puedo entrar <b>al panel</b>.", "ana@cliente.cl")
    other = await _ticket(services, "Otra cosa, de otro ticket.", "beto@cliente.cl")
    await services.cards.save(CardRef("telegram", number, "1001", "7"))
    await services.cards.save(CardRef("slack", number, "C0SUPPORT", "1.2", "1.2"))
    await services.cards.save(CardRef("telegram", number, "2002", "9"))
    await services.cards.save(CardRef("telegram", other, "1001", "8"))

    with count_statements() as seen:
        needs = await services.cards.for_redraw("telegram", number)

    assert seen.count == 1, str(seen)
    assert needs.refs == [CardRef("telegram", number, "1001", "7"),
                          CardRef("telegram", number, "2002", "9")]
    assert needs.refs == await services.cards.for_ticket("telegram", number)
    assert needs.words == "No puedo entrar <b>al panel</b>."  # as stored: the card escapes
    slack = await services.cards.for_redraw("slack", number)
    assert slack.refs == [CardRef("slack", number, "C0SUPPORT", "1.2", "1.2")]


async def test_words_follow_the_same_rule_as_the_ticket_queries(
        services: Services, team: Team) -> None:
    number = await _ticket(services, "Primer mensaje.", "ana@cliente.cl")
    await _ticket(services, "Lo último de otro ticket.", "beto@cliente.cl")
    latest = await Interaction.filter(ticket_id=number).order_by("-id").first()
    assert latest is not None
    for kind, body, automatic in ((InteractionKind.INBOUND, "Segundo mensaje.", False),
                                  (InteractionKind.INBOUND, "Respuesta automática", True),
                                  (InteractionKind.INBOUND, "", False),
                                  (InteractionKind.NOTE, "Nota interna", False),
                                  (InteractionKind.OUTBOUND, "Le respondemos", False)):
        await Interaction.create(ticket_id=number, kind=kind, channel=Canal.EMAIL,
                                 body=body, automatic=automatic, created_at=latest.created_at)

    needs = await services.cards.for_redraw("telegram", number)  # no card anywhere yet

    assert needs.refs == []
    assert needs.words == "Segundo mensaje."
    last = await services.queries.last_customer_message(number)
    assert last is not None and needs.words == last.body


async def test_a_ticket_nobody_wrote_on_has_no_words(services: Services, team: Team) -> None:
    number = await _ticket(services, "Hola.", "ana@cliente.cl")
    await Interaction.filter(ticket_id=number).delete()
    await services.cards.save(CardRef("telegram", number, "1001", "7"))

    needs = await services.cards.for_redraw("telegram", number)

    assert needs.refs == [CardRef("telegram", number, "1001", "7")]
    assert needs.words is None
    assert await services.queries.last_customer_message(number) is None

"""Telegram: a further customer message on a ticket with a card is one short reply to
the card plus the card edited in place, never a second full card."""

from __future__ import annotations

from bot.process.domain import Estado, InteractionKind, Rol
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram

TOMAS = 1003


def _sent_to(fake: FakeTelegram, chat: int) -> list[dict]:
    return [c.params for c in fake.calls_to("sendMessage") if c.params.get("chat_id") == chat]


async def test_second_message_replies_to_the_card_and_edits_it(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("No me llegó la boleta de noviembre.")
    card_id = (await desk.card(number))["message_id"]
    sent_before = len(_sent_to(fake_telegram, CARLA))
    edits_before = len(fake_telegram.calls_to("editMessageText"))

    await desk.customer_writes("Sigo esperando <b>la boleta</b> & la factura.", ticket=number)

    sent = _sent_to(fake_telegram, CARLA)[sent_before:]
    assert len(sent) == 1, sent  # one short message, not a fresh full card
    (short,) = sent
    assert short["reply_parameters"]["message_id"] == card_id
    assert "&lt;b&gt;la boleta&lt;/b&gt; &amp; la factura" in short["text"]
    assert f"#{number}" in short["text"] and "Fecha_Limite" not in short["text"]
    shown = desk.last_message()
    assert shown["reply_to_message"]["message_id"] == card_id
    assert "<b>la boleta</b> & la factura" in shown["text"]  # what the person sees
    # the card itself stays where it was, edited once with the new words
    edits = fake_telegram.calls_to("editMessageText")[edits_before:]
    assert [int(e.params["message_id"]) for e in edits] == [card_id]
    card = await desk.card(number)
    assert card["message_id"] == card_id and "Sigo esperando" in card["text"]

    # "Responder" on the short message opens the reply menu of that ticket
    await desk.tap(shown["message_id"], "Responder")
    assert f"ticket #{number}" in desk.last_message()["text"]
    assert "elija la plantilla" in desk.last_message()["text"]
    assert desk.failed_calls() == []


async def test_long_message_is_cut_in_the_short_reply(desk: Desk,
                                                      fake_telegram: FakeTelegram) -> None:
    number = await desk.customer_writes("Hola.")
    await desk.customer_writes("palabra " * 900, ticket=number)
    short = desk.last_message()
    assert len(short["text"]) < 1200
    assert f"/ticket {number}" in short["text"]


async def test_assignee_and_admin_each_get_a_reply_to_their_own_card(
        desk: Desk, fake_telegram: FakeTelegram) -> None:
    tomas = await desk.services.team.add("Tomás", Rol.AGENT, email="tomas@empresa.cl",
                                         telegram_user_id=TOMAS)
    number = await desk.customer_writes("El sitio no carga.")
    await desk.services.tickets.assign(desk.team.admin, number, tomas.id)
    await desk.front.drain()
    cards = {chat: (await desk.card(number, user=chat))["message_id"] for chat in (CARLA, TOMAS)}
    before = {chat: len(_sent_to(fake_telegram, chat)) for chat in cards}

    await desk.customer_writes("Ahora tampoco carga el correo.", ticket=number)

    for chat, card_id in cards.items():
        (short,) = _sent_to(fake_telegram, chat)[before[chat]:]
        assert short["reply_parameters"]["message_id"] == card_id
        assert "tampoco carga el correo" in short["text"]
        assert (await desk.card(number, user=chat))["message_id"] == card_id
    assert (await desk.services.queries.get(number)).estado is Estado.IN_PROGRESS


async def test_a_reply_to_the_short_message_is_a_note_on_its_ticket(desk: Desk) -> None:
    number = await desk.customer_writes("Hola.")
    await desk.customer_writes("¿Hay novedades?", ticket=number)
    short = desk.last_message()
    await desk.text("Le escribo mañana.", reply_to=short["message_id"])
    assert f"Nota interna agregada al ticket #{number}" in desk.last_message()["text"]
    notes = [i.body for i in await desk.services.queries.history(number)
             if i.kind is InteractionKind.NOTE]
    assert notes == ["Le escribo mañana."]

"""Satisfaction after closing: asked once on the customer's channel, answered by a list tap
(WhatsApp, through the fake Graph API) or a number by email (real SMTP capture); a low
rating alerts the administrator (Telegram, through the fake Bot API)."""

from __future__ import annotations

import pytest
from telegram import Bot

from bot.app.frontend import wired
from bot.incoming.csat import build_csat, parse_rating, whatsapp_rating
from bot.process.domain import Canal, Estado, InteractionKind
from bot.services import Services
from db.models import Interaction, Ticket
from handlers.email import build_front_end as build_email
from handlers.email.ingest import EmailIngestor
from handlers.telegram.notifier import TelegramNotifier
from tests.conftest import Team, santiago
from tests.handlers.email.harness import mail, with_smtp
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    WhatsAppHarness,
    button_payload,
    text_payload,
    whatsapp,
)
from tests.servers import FakeTelegram, SmtpServer

CARLA = 1001


@pytest.mark.parametrize(("text", "expected"), [
    ("5", (5, "")), ("4/5", (4, "")), ("3 de 5", (3, "")), ("5 estrellas", (5, "")),
    ("2 - tardaron mucho", (2, "tardaron mucho")), ("Hola,\n\n1. Pésimo", (1, "Pésimo")),
    ("cinco", (5, "")), ("5 muy amables", (5, "muy amables")), ("[Botón] 4", (4, "")),
    ("5\n\nEl mar, 8 dic 2026 escribió:\n> ¿Cómo calificaría...?", (5, "")),
])
def test_ratings_read_like_the_conformity_answer(text: str, expected: tuple[int, str]) -> None:
    assert parse_rating(text) == expected


@pytest.mark.parametrize("text", ["6", "10", "0", "3.5", "2 veces que escribo y nada",
                                  "todavía me cobran doble", "", "El 5 de diciembre pagué",
                                  "5 de diciembre"])
def test_not_a_rating(text: str) -> None:
    assert parse_rating(text) is None


def test_whatsapp_reply_id() -> None:
    assert whatsapp_rating("csat:12:4") == (12, 4)
    for bad in (None, "", "conf:yes:12", "csat:12:6", "csat:x:4", "csat:12:4:1"):
        assert whatsapp_rating(bad) is None


async def admin_alerts(services: Services, fake_telegram: FakeTelegram) -> Bot:
    """The administrator's Telegram, as the notifier for low ratings."""
    bot = Bot(fake_telegram.token, base_url=fake_telegram.base_url)
    await bot.initialize()
    notifier = TelegramNotifier(bot)
    notifier.running = True
    services.notifiers.append(notifier)
    return bot


def lists_sent(whatsapp: WhatsAppHarness) -> list[dict]:  # noqa: F811
    return [b for b in whatsapp.graph.sent.values()
            if b.get("type") == "interactive" and b["interactive"]["type"] == "list"]


async def test_whatsapp_csat(whatsapp: WhatsAppHarness, team: Team,  # noqa: F811
                             fake_telegram: FakeTelegram) -> None:
    s, clock = whatsapp.services, whatsapp.services.clock
    build_csat(s)
    bot = await admin_alerts(s, fake_telegram)
    await whatsapp.post(text_payload("wamid.C1", "No me llega la boleta", name="Marta"))
    await s.tickets.reply(team.admin, 1, text="Se la reenviamos.")
    await s.tickets.propose(team.admin, 1, detalle="Boleta reenviada")
    await whatsapp.post(button_payload("wamid.C2", "conf:yes:1", "Sí, está resuelto"))
    assert (await s.queries.get(1)).estado is Estado.RESOLVED
    await whatsapp.deliver()
    [asked] = lists_sent(whatsapp)
    rows = asked["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [f"csat:1:{n}" for n in (5, 4, 3, 2, 1)]
    assert "ticket #1" in asked["interactive"]["body"]["text"]
    assert (await s.queries.get(1)).csat_requested_at == clock.now()

    tap = text_payload("wamid.C3", "", type="interactive", text=None, interactive={
        "type": "list_reply", "list_reply": {"id": "csat:1:2", "title": "2 · Mala"}})
    fake_telegram.clear()
    assert (await whatsapp.post(tap)).status_code == 200
    t = await s.queries.get(1)
    assert (t.csat_rating, t.estado) == (2, Estado.RESOLVED)  # rated, not reopened
    [alert] = fake_telegram.calls_to("sendMessage")
    assert int(alert.params["chat_id"]) == CARLA
    assert "Calificación baja · #1: 2 de 5" in alert.params["text"]
    await whatsapp.post(tap)  # Meta redelivers the same webhook
    again = text_payload("wamid.C4", "", type="interactive", text=None, interactive={
        "type": "list_reply", "list_reply": {"id": "csat:1:5", "title": "5 · Muy buena"}})
    await whatsapp.post(again)  # a second rating: recorded as a message, the first kept
    t = await s.queries.get(1)
    assert (t.csat_rating, t.estado) == (2, Estado.RESOLVED)
    assert len(fake_telegram.calls_to("sendMessage")) == 1  # one alert, not three
    inbound = await Interaction.filter(ticket_id=1, kind=InteractionKind.INBOUND).count()
    assert inbound == 4  # complaint, conformity tap, the rating, the second rating

    # Not a number: the usual way (it reopens); later closures never ask again.
    await whatsapp.post(text_payload("wamid.C5", "igual me siguen cobrando doble"))
    assert (await s.queries.get(1)).estado is Estado.IN_PROGRESS
    await s.tickets.propose(team.admin, 1)
    await s.tickets.confirm(team.admin, 1)
    await whatsapp.deliver()
    assert len(lists_sent(whatsapp)) == 1
    await bot.shutdown()


async def test_whatsapp_outside_window_and_discarded(whatsapp: WhatsAppHarness,  # noqa: F811
                                                     team: Team) -> None:
    s, clock = whatsapp.services, whatsapp.services.clock
    csat = build_csat(s)
    await whatsapp.post(text_payload("wamid.D1", "spam spam", sender="56911111111"))
    await s.tickets.discard(team.admin, 1, reason="spam")
    await whatsapp.post(text_payload("wamid.D2", "Consulta por plan"))
    await s.tickets.reply(team.admin, 2, text="Le cuento.")
    clock.set(santiago(2026, 12, 9, 10, 0))  # type: ignore[attr-defined]  # window closed
    await s.tickets.propose(team.admin, 2)
    await s.tickets.confirm(team.admin, 2)
    # No approved satisfaction template configured: not asked (free text cannot go).
    assert (await s.queries.get(2)).csat_requested_at is None
    assert (await s.queries.get(1)).csat_requested_at is None  # discarded: never
    s.settings.whatsapp_templates["encuesta_satisfaccion"] = "atiende_encuesta"
    assert await csat.ask(2) is True and await csat.ask(2) is False
    await whatsapp.deliver()
    [sent] = [b for b in whatsapp.graph.sent.values() if b.get("type") == "template"
              and b["template"]["name"] == "atiende_encuesta"]
    assert sent["to"] == "56912345678"
    # A quick-reply tap on the template arrives as a "button" message with its text.
    quick = text_payload("wamid.D3", "", type="button", text=None,
                         button={"text": "4", "payload": "4"})
    await whatsapp.post(quick)
    t = await s.queries.get(2)
    assert (t.csat_rating, t.estado) == (4, Estado.RESOLVED)


async def test_email_csat(services: Services, team: Team, smtp_server: SmtpServer) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_email(live))
    build_csat(live)
    created = await EmailIngestor(live).ingest(mail(body="No puedo entrar al correo"))
    number = created.ticket_number
    await live.tickets.reply(team.admin, number, text="Reiniciamos su clave.")
    await live.tickets.propose(team.admin, number)
    answer = await EmailIngestor(live).ingest(mail(
        subject=f"Re: [#{number}] Consulta", message_id="<a2@example.cl>", body="Sí, gracias"))
    assert answer.ticket_number == number
    assert (await live.queries.get(number)).estado is Estado.RESOLVED
    await live.outbox.deliver_due()
    sent = await smtp_server.wait_for(4)  # ..., the closing message, then the survey
    survey = next(m.message for m in sent if "¿Cómo lo atendimos?" in m.message["Subject"])
    assert survey["Subject"] == f"[#{number}] ¿Cómo lo atendimos?"
    body = survey.get_body(("plain",)).get_content()
    assert "del 1 (muy mala) al 5 (muy buena)" in body
    # The customer replies with a number and a comment, in the thread.
    rated = await EmailIngestor(live).ingest(mail(
        subject=f"Re: [#{number}] ¿Cómo lo atendimos?", message_id="<a3@example.cl>",
        in_reply_to=survey["Message-ID"],
        body="4 - rápidos, pero tuve que escribir dos veces\n\n> ¿Cómo calificaría...?"))
    assert rated.ticket_number == number
    t = await live.queries.get(number)
    assert (t.csat_rating, t.csat_comment) == (4, "rápidos, pero tuve que escribir dos veces")
    assert t.estado is Estado.RESOLVED
    # Twice: the first rating stays; the message is on the ticket.
    await EmailIngestor(live).ingest(mail(
        subject=f"Re: [#{number}] ¿Cómo lo atendimos?", message_id="<a4@example.cl>",
        body="5"))
    t = await live.queries.get(number)
    assert (t.csat_rating, t.estado) == (4, Estado.RESOLVED)
    # Not a number: the customer is writing about the problem again; it reopens.
    await EmailIngestor(live).ingest(mail(
        subject=f"Re: [#{number}] ¿Cómo lo atendimos?", message_id="<a5@example.cl>",
        body="Otra vez no puedo entrar"))
    assert (await live.queries.get(number)).estado is Estado.IN_PROGRESS
    assert len(smtp_server.messages) == 4  # the survey went once
    # A stranger who found the thread cannot rate it (on a ticket still waiting for one).
    await live.tickets.propose(team.admin, number)
    await live.tickets.confirm(team.admin, number)
    await Ticket.filter(id=number).update(csat_rating=None, csat_comment=None,
                                          csat_answered_at=None)
    await EmailIngestor(live).ingest(mail(
        sender="otro@malo.cl", subject=f"Re: [#{number}] ¿Cómo lo atendimos?",
        message_id="<x1@malo.cl>", in_reply_to=survey["Message-ID"], body="1"))
    assert (await live.queries.get(number)).csat_rating is None


async def test_card_shows_the_rating(services: Services, team: Team) -> None:
    from bot.chats.cards import ticket_card

    customer = await services.customers.find_or_create(email="a@b.cl", name="Ana")
    view = await services.tickets.open(team.admin, customer_id=customer.id,
                                       channel=Canal.EMAIL,
                                       description="x")
    await Ticket.filter(id=view.number).update(csat_requested_at=services.clock.now())
    card = ticket_card(await services.queries.get(view.number), services.clock.now(),
                       services.settings)
    assert ("Satisfacción", "encuesta enviada, sin respuesta") in card.fields
    await Ticket.filter(id=view.number).update(csat_rating=5, csat_comment="<b>Genial</b>")
    card = ticket_card(await services.queries.get(view.number), services.clock.now(),
                       services.settings)
    assert ("Satisfacción", "5 de 5 · «<b>Genial</b>»") in card.fields  # escaped by each chat


async def test_setting_turns_it_off(services: Services, team: Team) -> None:
    from bot.services import build_services

    off = build_services(services.settings.model_copy(update={"csat_enabled": False}),
                         services.clock)
    csat = build_csat(off)
    customer = await off.customers.find_or_create(email="a@b.cl", name="Ana")
    view = await off.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                  description="x")
    await off.tickets.propose(team.admin, view.number)
    await off.tickets.confirm(team.admin, view.number)
    assert await csat.ask(view.number) is False
    assert (await off.queries.get(view.number)).csat_requested_at is None
    assert await Interaction.filter(ticket_id=view.number, template="encuesta_satisfaccion"
                                    ).count() == 0
    on = build_csat(build_services(services.settings, services.clock))
    assert await on.ask(view.number) is True  # the same ticket, with the setting on


async def test_missed_closures_are_asked_at_start_up(services: Services, team: Team) -> None:
    customer = await services.customers.find_or_create(email="a@b.cl", name="Ana")
    numbers = []
    for days_later in (3, 0):
        view = await services.tickets.open(team.admin, customer_id=customer.id,
                                           channel=Canal.EMAIL, description="x")
        await services.tickets.propose(team.admin, view.number)
        await services.tickets.confirm(team.admin, view.number)  # no CSAT wired: "a crash"
        numbers.append(view.number)
        services.clock.advance(days=days_later)  # type: ignore[attr-defined]
    csat = build_csat(services)
    assert await csat.ask_missed() == 1  # the recent one; three days is too late
    assert (await services.queries.get(numbers[1])).csat_requested_at is not None
    assert (await services.queries.get(numbers[0])).csat_requested_at is None
    assert await csat.ask_missed() == 0

"""What customers receive, the platforms accept: Outlook-length Message-IDs threaded as
ids, WhatsApp template parameters without tabs or newlines, the window counted from the
customer's real messages, and a conformity request whose question is never cut."""

from __future__ import annotations

import pytest

from bot.app.frontend import wired
from bot.process.domain import Canal, InteractionKind
from bot.process.errors import InvalidInput
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.services import Services
from db.models import Interaction
from handlers.email import build_front_end
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail, with_smtp
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    CUSTOMER,
    WhatsAppHarness,
    text_payload,
    whatsapp,
)
from tests.servers import SmtpServer

OUTLOOK_ID = ("<DM6PR11MB4153A1B2C3D4E5F60718293A4B5C6D7E8F9A0B1C2D3E4F5A6B7@"
              "DM6PR11MB4153.namprd11.prod.outlook.com>")


async def test_outlook_message_ids_thread_through_a_real_reply(
        services: Services, team: Team, smtp_server: SmtpServer) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    first = await EmailIngestor(live).ingest(mail(body="¿Tienen planes con SSL?",
                                                  message_id=OUTLOOK_ID))
    number = first.ticket_number
    assert number is not None
    await live.tickets.reply(Actor.of(team.sofia), number, text="Sí, todos incluyen SSL.")
    assert await live.outbox.deliver_due() == 1
    [sent] = await smtp_server.wait_for(1)
    assert smtp_server.rejected == []
    assert sent.message["In-Reply-To"] == OUTLOOK_ID
    assert OUTLOOK_ID in sent.message["References"].split()
    assert b"=?" not in sent.raw.split(b"\r\n\r\n", 1)[0].split(b"In-Reply-To:", 1)[1][:200]
    # the customer's client answers our reply, naming only our id: it threads back
    ours = sent.message["Message-ID"]
    answer = await EmailIngestor(live).ingest(mail(
        body="Gracias", message_id="<r2@example.cl>", in_reply_to=ours,
        references=f"{OUTLOOK_ID} {ours}", subject="RE: SSL"))
    assert answer.ticket_number == number


async def test_template_parameters_lose_tabs_and_newlines(whatsapp: WhatsAppHarness,  # noqa: F811
                                                          team: Team) -> None:
    name = "Ana\tMaría\n   Pérez      Soto"
    assert (await whatsapp.post(text_payload("wamid.N1", "hola", name=name))).status_code == 200
    whatsapp.services.clock.advance(days=2)  # type: ignore[attr-defined]
    whatsapp.graph.close_window(CUSTOMER)
    await whatsapp.services.tickets.reply(team.admin, 1, template=TemplateName.STATUS_UPDATE)
    assert await whatsapp.deliver() == 1
    call = whatsapp.graph.last("messages")
    assert call.status == 200, call.response
    texts = [p["text"] for p in call.params["template"]["components"][0]["parameters"]]
    assert texts and not any("\t" in t or "\n" in t or "     " in t for t in texts)
    assert "Ana María" in texts[0]


async def test_a_ticket_the_team_opens_does_not_open_the_window(whatsapp: WhatsAppHarness,  # noqa: F811
                                                                team: Team) -> None:
    s = whatsapp.services
    customer = await s.customers.find_or_create(phone="+56 9 1234 5678", name="Marta")
    view = await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.WHATSAPP,
                                description="Llamó por teléfono: sin servicio")
    whatsapp.graph.close_window(CUSTOMER)  # she never wrote to us on WhatsApp
    with pytest.raises(InvalidInput, match="ventana de 24 horas"):
        await s.tickets.reply(team.admin, view.number, text="Hola Marta, lo revisamos.")
    await s.tickets.reply(team.admin, view.number, template=TemplateName.STATUS_UPDATE)
    assert await whatsapp.deliver() == 1
    assert whatsapp.graph.last("messages").params["type"] == "template"
    # once she writes, the window is open and free text goes out
    await whatsapp.post(text_payload("wamid.M1", "sigo sin servicio"))
    whatsapp.graph.closed_windows.clear()
    await s.tickets.reply(team.admin, view.number, text="Ya casi.")
    assert await whatsapp.deliver() == 1


async def test_a_long_solution_keeps_the_question_and_the_buttons(whatsapp: WhatsAppHarness,  # noqa: F811
                                                                  team: Team) -> None:
    s = whatsapp.services
    assert (await whatsapp.post(text_payload("wamid.L1", "no funciona"))).status_code == 200
    detail = "Reconfiguramos el servidor de correo y los registros DNS. " * 60  # ~3,500
    await s.tickets.propose(team.admin, 1, detalle=detail)
    assert await whatsapp.deliver() == 1
    call = whatsapp.graph.last("messages")
    assert call.status == 200 and call.params["type"] == "interactive"
    body = call.params["interactive"]["body"]["text"]
    assert len(body) <= 1024 and "…" in body
    view = await s.queries.get(1)
    short = s.replies.render(view, TemplateName.CONFORMITY_REQUEST, "Carla", "CORTO").whatsapp
    tail = short.split("CORTO", 1)[1].strip()
    assert body.endswith(tail)  # the question, the deadline and the signature, whole
    out = await Interaction.filter(ticket_id=1, kind=InteractionKind.OUTBOUND).first()
    assert out is not None


async def test_an_id_over_255_characters_is_never_cut(services: Services, team: Team,
                                                     smtp_server: SmtpServer) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    huge = "<" + "x" * 300 + "@mail.example.cl>"
    raw = mail(body="Consulta larga", message_id=huge, references=f"<a@b.cl> {huge}")
    first = await EmailIngestor(live).ingest(raw)
    again = await EmailIngestor(live).ingest(raw)  # redelivered: recognised all the same
    assert first.ticket_number is not None and again.ticket_number == first.ticket_number
    await live.tickets.reply(Actor.of(team.sofia), first.ticket_number, text="Respondemos.")
    assert await live.outbox.deliver_due() == 1
    [sent] = await smtp_server.wait_for(1)
    assert smtp_server.rejected == []
    headers = f"{sent.message['In-Reply-To'] or ''} {sent.message['References'] or ''}"
    assert "xxxxx" not in headers  # neither cut nor sent: threads by its [#N] tag
    assert f"[#{first.ticket_number}]" in sent.message["Subject"]

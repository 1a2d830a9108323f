"""Email out through a real SMTP server (aiosmtpd), via the outbox worker."""

from __future__ import annotations

import base64

from bot.app.frontend import wired
from bot.process.clock import ManualClock
from bot.process.domain import DeliveryStatus, Estado, InteractionKind, Prioridad, TipoIncidencia
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.services import Services
from db.models import Interaction, OutboxMessage
from handlers.email import build_front_end
from handlers.email.ingest import EmailIngestor
from handlers.email.smtp import outbound_message_id
from tests.conftest import Team, requires_corpus
from tests.handlers.email.harness import SUPPORT, mail, with_smtp
from tests.servers import SmtpServer

OUTLOOK_REPLY = """Perfecto, les adjunto el dominio: anaperez.cl
También necesito una casilla adicional.

Saludos,
Ana

-----Original Message-----
De: Hosting Andino <soporte@hostingandino.cl>
Enviado: miércoles, 9 de diciembre de 2026 11:00
Para: Ana Pérez <ana@example.cl>
Asunto: [#{n}] Consulta por hosting

Estimada Ana: para ayudarle necesitamos el nombre de su dominio.
> Hola, tengo una consulta.
"""


async def email_ticket(services: Services, team: Team) -> int:
    result = await EmailIngestor(services).ingest(mail(body="¿Tienen planes con SSL?"))
    assert result.ticket_number is not None
    return result.ticket_number


async def test_reply_goes_out_threaded_with_tag_ids_and_html(services: Services, team: Team,
                                                             smtp_server: SmtpServer) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    number = await email_ticket(live, team)
    await live.tickets.reply(Actor.of(team.sofia), number, template=TemplateName.INFO_REQUEST)
    assert await live.outbox.deliver_due() == 1
    [sent] = await smtp_server.wait_for(1)
    msg = sent.message
    out = await Interaction.get(ticket_id=number, kind=InteractionKind.OUTBOUND)
    assert sent.rcpt_tos == ["ana@example.cl"] and sent.login == smtp_server.user
    assert f"[#{number}]" in msg["Subject"] and SUPPORT in msg["From"]
    assert msg["Message-ID"] == await live.message_ids.make(f"atiende-{out.id}",
                                                            "hostingandino.cl")
    assert await live.message_ids.verify(msg["Message-ID"])
    assert not await live.message_ids.verify(
        outbound_message_id(f"atiende-{out.id}", "hostingandino.cl"))  # predictable: refused
    assert msg["In-Reply-To"] == "<a1@example.cl>" and "<a1@example.cl>" in msg["References"]
    assert msg.get_body(("plain",)).get_content().strip()
    assert "<html" in msg.get_body(("html",)).get_content().lower()
    assert out.external_id == msg["Message-ID"] and out.delivery_status == DeliveryStatus.SENT
    # The customer answers our message: it threads by our Message-ID alone.
    answer = await EmailIngestor(live).ingest(mail(
        subject="Re: sin etiqueta", message_id="<a9@example.cl>",
        in_reply_to=msg["Message-ID"], body="Mi dominio es anaperez.cl"))
    assert answer.outcome == "appended" and answer.ticket_number == number


async def test_451_is_retried_by_the_worker_and_554_fails_for_good(
        services: Services, team: Team, smtp_server: SmtpServer, clock: ManualClock) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    number = await email_ticket(live, team)
    smtp_server.fail_next(1, 451)
    await live.tickets.reply(Actor.of(team.sofia), number, text="Le respondemos pronto.")
    assert await live.outbox.deliver_due() == 0
    row = await OutboxMessage.get(channel="email")
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1 and "451" in row.last_error
    clock.advance(minutes=1)
    assert await live.outbox.deliver_due() == 1
    assert len(await smtp_server.wait_for(1)) == 1
    smtp_server.fail_next(1, 554)
    await live.tickets.reply(Actor.of(team.sofia), number, text="Segundo mensaje.")
    assert await live.outbox.deliver_due() == 0
    failed = await OutboxMessage.filter(channel="email").order_by("-id").first()
    assert failed is not None and failed.status == DeliveryStatus.FAILED
    clock.advance(hours=2)
    assert await live.outbox.deliver_due() == 0 and len(smtp_server.messages) == 1


async def test_crash_between_commit_and_delivery_sends_once(services: Services, team: Team,
                                                            smtp_server: SmtpServer) -> None:
    number = await email_ticket(services, team)
    # No sender registered: the reply is committed with its outbox row, then "the process dies".
    await services.tickets.reply(Actor.of(team.sofia), number, text="Revisamos su caso.")
    assert await OutboxMessage.filter(status=DeliveryStatus.PENDING).count() == 1
    restarted = with_smtp(services, smtp_server)
    wired(restarted, build_front_end(restarted))
    assert await restarted.outbox.deliver_due() == 1
    assert await restarted.outbox.deliver_due() == 0
    assert len(await smtp_server.wait_for(1)) == 1


async def test_customer_data_cannot_inject_headers(services: Services, team: Team,
                                                   smtp_server: SmtpServer) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    evil = base64.b64encode(b"Ana\r\nBcc: robo@evil.example").decode()
    # Encoded-words are how CR/LF can hide in a header a customer controls.
    raw = mail(sender="NAME <ana@example.cl>", subject="SUBJECT")
    raw = raw.replace(b"NAME", f"=?utf-8?b?{evil}?=".encode()).replace(
        b"SUBJECT", f"=?utf-8?b?{evil}?=".encode())
    result = await EmailIngestor(live).ingest(raw)
    number = result.ticket_number
    assert number is not None
    await live.tickets.reply(Actor.of(team.sofia), number, text="Gracias por escribir.")
    await live.outbox.deliver_due()
    [sent] = await smtp_server.wait_for(1)
    assert sent.rcpt_tos == ["ana@example.cl"] and sent.message["Bcc"] is None
    assert b"\r\nBcc:" not in sent.raw


async def test_scenario_3_email_question_that_threads(services: Services, team: Team,
                                                      smtp_server: SmtpServer,
                                                      clock: ManualClock) -> None:
    """Ana's Outlook answer joins #2 with only her new lines; her out-of-office is quiet."""
    from tests.conftest import santiago
    from tests.core.incoming.test_intake_outbox import whatsapp

    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    await live.intake.receive(whatsapp("me cobraron dos veces", "wamid.s1"))  # ticket #1
    clock.set(santiago(2026, 12, 9, 10, 0))
    ingest = EmailIngestor(live).ingest
    opened = await ingest(mail(attachments=[("plan.pdf", "application/pdf", b"%PDF-1.4 plan")]))
    assert opened.outcome == "created" and opened.ticket_number == 2
    sofia = Actor.of(team.sofia)
    await live.tickets.assign(team.admin, 2, team.sofia.id)
    await live.tickets.classify(sofia, 2, tipo=TipoIncidencia.CONSULTA,
                                prioridad=Prioridad.MEDIA)
    clock.set(santiago(2026, 12, 9, 11, 0))
    await live.tickets.reply(sofia, 2, template=TemplateName.INFO_REQUEST,
                             detalle="Indíquenos el nombre de su dominio.")
    assert (await live.queries.get(2)).estado is Estado.WAITING_CUSTOMER
    await live.outbox.deliver_due()
    [ours] = await smtp_server.wait_for(1)
    our_id = ours.message["Message-ID"]

    clock.set(santiago(2026, 12, 9, 15, 0))
    answer = await ingest(mail(
        subject="RE: [#2] Consulta por hosting", message_id="<ana-2@example.cl>",
        in_reply_to=our_id, references=f"<a1@example.cl> {our_id}",
        body=OUTLOOK_REPLY.format(n=2), headers={"Thread-Index": "AQHZ"}))
    assert answer.outcome == "appended" and answer.ticket_number == 2
    ticket = await live.queries.get(2)
    assert ticket.estado is Estado.IN_PROGRESS and ticket.resolution_running
    history = await live.queries.history(2)
    last_in = [i for i in history if i.kind is InteractionKind.INBOUND][-1]
    assert last_in.body == ("Perfecto, les adjunto el dominio: anaperez.cl\n"
                            "También necesito una casilla adicional.\n\nSaludos,\nAna")

    clock.set(santiago(2026, 12, 9, 16, 0))
    outbox_before = await OutboxMessage.all().count()
    ooo = await ingest(mail(
        subject="Respuesta automática: fuera de la oficina", message_id="<ooo-2@example.cl>",
        in_reply_to=our_id, headers={"Auto-Submitted": "auto-replied",
                                     "X-Auto-Response-Suppress": "All"},
        body="Estaré fuera de la oficina hasta el lunes 14 de diciembre."))
    assert ooo.outcome == "automatic" and ooo.ticket_number == 2
    assert len(await live.queries.all()) == 2
    assert await OutboxMessage.all().count() == outbox_before
    quiet = (await live.queries.history(2))[-1]
    assert quiet.automatic and quiet.kind is InteractionKind.INBOUND
    assert (await live.queries.get(2)).estado is Estado.IN_PROGRESS
    assert len(smtp_server.messages) == 1


def _dsn(original: bytes) -> bytes:
    """A standard delivery status notification (RFC 3464) returning ``original``."""
    from email.message import EmailMessage

    report = EmailMessage()
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.cl>"
    report["To"] = SUPPORT
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = "<bounce1@mx.example.cl>"
    report["Auto-Submitted"] = "auto-replied"
    report.set_content("No se pudo entregar su mensaje a ana@example.cl: buzón inexistente.")
    from email import message_from_bytes, policy

    report.add_attachment(message_from_bytes(original, policy=policy.default))
    return report.as_bytes()


async def test_bounce_of_our_reply_marks_it_failed_and_tells_the_team(
        services: Services, team: Team, smtp_server: SmtpServer) -> None:
    seen = []

    async def listener(event):  # type: ignore[no-untyped-def]
        seen.append(event)

    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    number = await email_ticket(live, team)
    await live.tickets.reply(Actor.of(team.sofia), number, text="Le respondemos.")
    assert await live.outbox.deliver_due() == 1
    [sent] = await smtp_server.wait_for(1)
    live.bus.subscribe(listener)
    for _ in range(2):  # the same bounce twice: reported once
        result = await EmailIngestor(live).ingest(_dsn(sent.raw))
        assert result.outcome in ("automatic", "duplicate") and result.ticket_number == number
    out = await Interaction.get(ticket_id=number, kind=InteractionKind.OUTBOUND)
    assert out.delivery_status == DeliveryStatus.FAILED
    notes = await Interaction.filter(ticket_id=number, kind=InteractionKind.NOTE)
    assert len(notes) == 1 and "no pudo entregar" in notes[0].body
    assert [e.kind.value for e in seen].count("delivery") == 1
    assert await Interaction.filter(ticket_id=number, kind=InteractionKind.OUTBOUND).count() == 1


@requires_corpus
def test_bounces_and_out_of_office_are_told_apart_in_the_corpus() -> None:
    from handlers.email.automatic import is_bounce
    from handlers.email.parse import parse_mail
    from tests.conftest import CORPUS

    folder = CORPUS / "email"
    bounces = sorted(folder.glob("*bounce*.eml"))
    away = sorted(folder.glob("*autoreply*.eml"))
    assert len(bounces) >= 8 and len(away) >= 6
    assert [p.name for p in bounces if not is_bounce(parse_mail(p.read_bytes()))] == []
    assert [p.name for p in away if is_bounce(parse_mail(p.read_bytes()))] == []

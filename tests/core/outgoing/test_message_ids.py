"""Our Message-IDs carry an HMAC: a bounce naming an id we never issued is not obeyed;
automatic acknowledgements are rate-limited per sender."""

from __future__ import annotations

from email.message import EmailMessage

from bot.app.frontend import wired
from bot.process.domain import DeliveryStatus, InteractionKind
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from bot.services import Services
from db.models import Interaction
from handlers.email import build_front_end
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail, with_smtp
from tests.servers import SmtpServer


def _bounce(names: str, n: int) -> bytes:
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.cl>"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = f"<bounce-{n}@mx.example.cl>"
    bounce.set_content("The mail system: host said 550 unknown user.")
    original = EmailMessage()
    original["Message-ID"] = names
    original["Subject"] = "RE: [#1] Consulta"
    original.set_content("Hola")
    bounce.add_attachment(original)
    return bounce.as_bytes()


async def test_a_forged_bounce_is_not_obeyed_a_real_one_is(
        services: Services, team: Team, smtp_server: SmtpServer) -> None:
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    ingestor = EmailIngestor(live)
    first = await ingestor.ingest(mail())
    number = first.ticket_number or 0
    await live.tickets.reply(Actor.of(team.sofia), number, template=TemplateName.INFO_REQUEST)
    assert await live.outbox.deliver_due() == 1
    [sent] = await smtp_server.wait_for(1)
    real = str(sent.message["Message-ID"])
    assert await live.message_ids.verify(real)
    out = await Interaction.get(ticket_id=number, kind=InteractionKind.OUTBOUND)
    # Same shape, our domain, a guessed digest: recognised as forged, changes nothing.
    forged = real.split(".")[0] + ".0123456789abcdef@hostingandino.cl>"
    await ingestor.ingest(_bounce(forged, 1))
    await Interaction.filter(id=out.id).update(external_id=forged)  # even if it matched
    await ingestor.ingest(_bounce(forged, 2))
    assert (await Interaction.get(id=out.id)).delivery_status != DeliveryStatus.FAILED
    await Interaction.filter(id=out.id).update(external_id=real)
    await ingestor.ingest(_bounce(real, 3))
    assert (await Interaction.get(id=out.id)).delivery_status == DeliveryStatus.FAILED


async def test_automatic_acknowledgements_are_limited_per_sender(services: Services,
                                                                 team: Team) -> None:
    services.settings.auto_ack_email = True
    services.settings.auto_ack_max_per_day = 2
    ingestor = EmailIngestor(services)
    for n in range(4):
        result = await ingestor.ingest(mail(subject=f"Asunto {n}", message_id=f"<f{n}@x.cl>"))
        assert result.outcome == "created"
    acks = await Interaction.filter(kind=InteractionKind.OUTBOUND,
                                    template=TemplateName.ACKNOWLEDGEMENT.value).count()
    assert acks == 2
    other = await ingestor.ingest(mail(sender="Beto <beto@x.cl>", message_id="<g1@x.cl>"))
    assert other.outcome == "created"
    assert await Interaction.filter(kind=InteractionKind.OUTBOUND,
                                    template=TemplateName.ACKNOWLEDGEMENT.value).count() == 3


async def test_a_reply_naming_a_forged_id_of_ours_threads_nowhere(services: Services,
                                                                  team: Team) -> None:
    ingestor = EmailIngestor(services)
    first = await ingestor.ingest(mail())
    assert first.outcome == "created"
    forged = "<atiende-1.0123456789abcdef@hostingandino.cl>"
    await Interaction.filter(ticket_id=first.ticket_number).update(external_id=forged)
    services.settings.smtp_from = "Soporte <soporte@hostingandino.cl>"
    reply = await EmailIngestor(services).ingest(mail(
        sender="Otro <otro@example.cl>", subject="Re: hola", body="Sí",
        message_id="<o1@example.cl>", in_reply_to=forged, references=forged))
    assert reply.outcome == "created" and reply.ticket_number != first.ticket_number
    row = await Interaction.get(external_id="<o1@example.cl>")
    assert row.meta.get("forged_refs") == [forged]

"""By email, end to end: the customer answers "Sí" to the conformity request with a real
mail through the ingest pipeline, and the closing message leaves through real SMTP,
threaded, marked as automatic (RFC 3834), greeting by first name, without "RE: RE:"."""

from __future__ import annotations

from bot.app.frontend import wired
from bot.process.domain import ConformityKind, Estado
from bot.process.views import Actor
from handlers.email import build_front_end
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail, with_smtp
from tests.servers import SmtpServer


async def test_yes_by_email_closes_and_the_closing_mail_goes_out(
        services, team: Team, smtp_server: SmtpServer) -> None:  # type: ignore[no-untyped-def]
    live = with_smtp(services, smtp_server)
    wired(live, build_front_end(live))
    first = await EmailIngestor(live).ingest(mail(
        subject="RE: RV: Fwd: Cobro duplicado en mi boleta", body="Me cobraron dos veces."))
    number = first.ticket_number
    assert number is not None
    await live.tickets.propose(Actor.of(team.sofia), number, detalle="Anulamos el cobro.")
    assert await live.outbox.deliver_due() == 1
    [request] = await smtp_server.wait_for(1)
    assert request.message["Subject"] == (f"¿Podemos dar por resuelto su caso? – Cobro "
                                          f"duplicado en mi boleta [#{number}]")

    live.clock.advance(hours=2)  # type: ignore[attr-defined]
    answer = await EmailIngestor(live).ingest(mail(
        subject=f"RE: ¿Podemos dar por resuelto su caso? [#{number}]", body="Sí, gracias.",
        message_id="<a2@example.cl>", in_reply_to=request.message["Message-ID"], hour=12))
    assert answer.ticket_number == number
    ticket = await live.queries.get(number)
    assert ticket.estado is Estado.RESOLVED and ticket.conformity_kind is ConformityKind.EXPLICIT

    assert await live.outbox.deliver_due() == 1
    sent = await smtp_server.wait_for(2)
    closing = sent[-1].message
    assert closing["Subject"] == f"Hemos cerrado su caso – Cobro duplicado en mi boleta [#{number}]"
    assert closing["Auto-Submitted"] == "auto-generated"
    assert closing["In-Reply-To"] == "<a2@example.cl>"
    body = closing.get_body(("plain",)).get_content()
    assert body.startswith("Hola, Ana:")
    assert "Gracias por confirmarnos" in body and "Hosting Andino" in body

"""The inbound pipeline: threading, suppression, de-duplication, quotes, attachments."""

from __future__ import annotations

import dataclasses
import random

from bot.process.domain import Estado, InteractionKind
from bot.process.views import Actor
from bot.services import Services
from bot.storage.attachments import AttachmentStore
from db.models import Interaction, OutboxMessage
from handlers.email.ingest import RAW_FILENAME, EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import SUPPORT, mail


async def inbound(services: Services, number: int) -> list:
    return [i for i in await services.queries.history(number)
            if i.kind is InteractionKind.INBOUND]


async def test_reply_by_headers_joins_and_shows_only_new_lines(services: Services,
                                                               team: Team) -> None:
    ingest = EmailIngestor(services).ingest
    first = await ingest(mail(body="No carga mi sitio web."))
    reply = await ingest(mail(
        subject="Re: Consulta por hosting", message_id="<a2@example.cl>",
        in_reply_to="<a1@example.cl>", references="<a1@example.cl>",
        body="Ya probé de nuevo y sigue igual.\n\nEl mié, 9 dic 2026 a las 10:00, Ana "
             "<ana@example.cl> escribió:\n> No carga mi sitio web.\n"))
    assert first.outcome == "created" and reply.outcome == "appended"
    assert reply.ticket_number == first.ticket_number
    last = (await inbound(services, reply.ticket_number))[-1]  # type: ignore[arg-type]
    assert last.body == "Ya probé de nuevo y sigue igual."
    raw = [a for a in last.attachments if a.filename == RAW_FILENAME]
    assert raw and b"escribi" in services.attachments.read(raw[0].stored_path)  # type: ignore[arg-type]


async def test_subject_tag_threads_without_headers(services: Services, team: Team) -> None:
    ingest = EmailIngestor(services).ingest
    first = await ingest(mail())
    tagged = await ingest(mail(subject=f"RE: [#{first.ticket_number}] Consulta por hosting",
                               message_id="<other@example.cl>", body="Adjunto lo pedido."))
    unknown = await ingest(mail(subject="RE: [#999] algo", message_id="<x9@example.cl>"))
    assert tagged.outcome == "appended" and tagged.ticket_number == first.ticket_number
    assert unknown.outcome == "created" and unknown.ticket_number != first.ticket_number


async def test_reply_before_parent_and_shuffled_thread_end_on_one_ticket(
        services: Services, team: Team) -> None:
    ids = [f"<t{i}@example.cl>" for i in range(6)]
    thread = [mail(message_id=ids[0], body="Inicio del hilo.")]
    for i in range(1, 6):
        thread.append(mail(subject="Re: Consulta por hosting", message_id=ids[i],
                           in_reply_to=ids[i - 1], references=" ".join(ids[:i]),
                           body=f"Respuesta {i}."))
    order = list(range(6))
    random.Random(7).shuffle(order)
    order.remove(0)
    order.append(0)  # the parent of everything arrives last
    ingest = EmailIngestor(services).ingest
    results = [await ingest(thread[i]) for i in order]
    assert len({r.ticket_number for r in results}) == 1
    assert len(await services.queries.all()) == 1
    assert len(await inbound(services, results[0].ticket_number)) == 6  # type: ignore[arg-type]


async def test_out_of_office_is_a_quiet_line_and_a_bounce_is_dropped(services: Services,
                                                                      team: Team) -> None:
    ingest = EmailIngestor(services).ingest
    first = await ingest(mail())
    number = first.ticket_number
    before = await OutboxMessage.all().count()
    ooo = await ingest(mail(subject="Respuesta automática: fuera de la oficina",
                            message_id="<ooo@example.cl>", in_reply_to="<a1@example.cl>",
                            headers={"Auto-Submitted": "auto-replied"},
                            body="Estaré fuera hasta el lunes."))
    bounce = await ingest(mail(sender="MAILER-DAEMON@example.cl", message_id="<b@example.cl>",
                               subject="Undelivered Mail Returned to Sender",
                               headers={"Return-Path": "<>"}, body="Delivery failed."))
    precedence = await ingest(mail(message_id="<p@example.cl>", subject="Boletín",
                                   headers={"Precedence": "bulk"}))
    assert ooo.outcome == "automatic" and ooo.ticket_number == number
    assert bounce.outcome == "dropped" and precedence.outcome == "dropped"
    assert len(await services.queries.all()) == 1
    quiet = (await inbound(services, number))[-1]  # type: ignore[arg-type]
    assert quiet.automatic and quiet.body.startswith("Respuesta automática")
    assert (await services.queries.get(number)).estado is Estado.NEW  # type: ignore[arg-type]
    assert await OutboxMessage.all().count() == before  # no acknowledgement, no reply


async def test_duplicate_message_id_and_synthetic_id_store_one(services: Services,
                                                               team: Team) -> None:
    ingest = EmailIngestor(services).ingest
    raw = mail()
    no_id = mail(message_id=None, sender="luis@example.cl", body="Sin identificador.")
    results = [await ingest(raw), await ingest(raw), await ingest(no_id), await ingest(no_id)]
    assert [r.outcome for r in results] == ["created", "duplicate", "created", "duplicate"]
    assert results[2].message_id == results[3].message_id
    assert await Interaction.filter(kind=InteractionKind.INBOUND).count() == 2


async def test_own_outgoing_mail_is_never_ingested(services: Services, team: Team) -> None:
    own = dataclasses.replace(services, settings=services.settings.model_copy(
        update={"smtp_from": f"Hosting Andino <{SUPPORT}>"}))
    ingest = EmailIngestor(own).ingest
    from_us = await ingest(mail(sender=f"Hosting Andino <{SUPPORT}>"))
    marked = await ingest(mail(message_id="<z@example.cl>", headers={"X-Atiende": "ticket=1"}))
    our_id = await ingest(mail(message_id="<atiende-7.abc@hostingandino.cl>"))
    assert [from_us.outcome, marked.outcome, our_id.outcome] == ["own"] * 3
    assert await services.queries.all() == []


async def test_too_big_attachment_is_a_note_and_the_message_lands(services: Services,
                                                                   team: Team) -> None:
    small = dataclasses.replace(services, attachments=AttachmentStore(
        services.settings.data_dir / "attachments", 20_000))
    result = await EmailIngestor(small).ingest(mail(
        body="Le envío el contrato.",
        attachments=[("contrato.pdf", "application/pdf", b"%PDF" + b"x" * 50_000),
                     ("logo.png", "image/png", b"\x89PNG" + b"y" * 100)]))
    assert result.outcome == "created"
    [first] = await inbound(services, result.ticket_number)  # type: ignore[arg-type]
    by_name = {a.filename: a for a in first.attachments}
    assert by_name["contrato.pdf"].stored_path is None and "supera" in by_name["contrato.pdf"].note
    assert by_name["logo.png"].stored_path and by_name[RAW_FILENAME].stored_path is None
    assert first.body == "Le envío el contrato."


async def test_html_only_body_becomes_text(services: Services, team: Team) -> None:
    msg = mail(body="x", html="<html><head><style>p{}</style></head><body><p>Hola,</p>"
                              "<p>mi <b>dominio</b> &amp; correo no funcionan.</p></body></html>")
    # drop the plain part: an HTML-only message
    from email import message_from_bytes, policy
    parsed = message_from_bytes(msg, policy=policy.default)
    html_only = parsed.get_body(("html",))
    for name in ("From", "Subject", "Message-ID", "Date"):
        html_only[name] = parsed[name]
    result = await EmailIngestor(services).ingest(html_only.as_bytes())
    [first] = await inbound(services, result.ticket_number)  # type: ignore[arg-type]
    assert first.body == "Hola,\n\nmi dominio & correo no funcionan."


async def pending_conformity(services: Services, team: Team) -> int:
    result = await EmailIngestor(services).ingest(mail())
    number = result.ticket_number
    assert number is not None
    await services.tickets.assign(team.admin, number, team.sofia.id)
    await services.tickets.propose(Actor.of(team.sofia), number, detalle="Ajustamos el DNS.")
    return number


async def test_conformity_yes_by_email_resolves(services: Services, team: Team) -> None:
    number = await pending_conformity(services, team)
    result = await EmailIngestor(services).ingest(mail(
        subject=f"RE: [#{number}] Consulta por hosting", message_id="<yes@example.cl>",
        body="Sí, está resuelto. ¡Muchas gracias!\n\n-----Original Message-----\n"
             "From: Hosting Andino\n¿Podemos cerrar el ticket?"))
    assert result.conformity == "yes"
    ticket = await services.queries.get(number)
    assert ticket.estado is Estado.RESOLVED and ticket.customer_confirmed_at is not None


async def test_conformity_no_by_email_goes_back_to_in_progress(services: Services,
                                                                team: Team) -> None:
    number = await pending_conformity(services, team)
    result = await EmailIngestor(services).ingest(mail(
        subject=f"RE: [#{number}] Consulta por hosting", message_id="<no@example.cl>",
        body="No, sigue igual.\nEl sitio no carga."))
    assert result.conformity == "no"
    assert (await services.queries.get(number)).estado is Estado.IN_PROGRESS


async def test_conformity_other_answer_just_lands(services: Services, team: Team) -> None:
    number = await pending_conformity(services, team)
    result = await EmailIngestor(services).ingest(mail(
        subject=f"RE: [#{number}] Consulta por hosting", message_id="<maybe@example.cl>",
        body="Sí, pero ahora el correo llega tarde."))
    assert result.outcome == "appended" and result.conformity is None
    assert (await services.queries.get(number)).estado is Estado.PENDING_CONFORMITY


async def test_bounce_of_our_message_is_recorded_on_its_ticket(services: Services,
                                                               team: Team) -> None:
    from email.message import EmailMessage

    first = await EmailIngestor(services).ingest(mail())
    bounce = EmailMessage()
    bounce["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.cl>"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = "<bounce-1@mx.example.cl>"
    bounce.set_content("The mail system: host said 550 unknown user.")
    original = EmailMessage()
    original["Message-ID"] = "<a1@example.cl>"
    original["Subject"] = "Consulta por hosting"
    original.set_content("Hola")
    bounce.add_attachment(original)  # message/rfc822, as DSNs enclose the original
    result = await EmailIngestor(services).ingest(bounce.as_bytes())
    assert result.outcome == "automatic" and result.ticket_number == first.ticket_number
    assert len(await services.queries.all()) == 1

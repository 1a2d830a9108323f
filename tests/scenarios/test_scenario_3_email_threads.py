"""Scenario 3: an email question that threads (shared/scenarios.md §3).

Through the real Dovecot (IMAP IDLE push) and the real SMTP capture: Ana's question with
a PDF opens #2 (the PDF reaches the chats), Sofía classifies and asks for information
from Slack (Esperando cliente, the clock pauses), Ana's Outlook answer "RE: [#2] …" joins
#2 with only her new lines (En proceso, the clock resumes), and her out-of-office an hour
later is a quiet line: no ticket, no reply.
"""

from __future__ import annotations

import pytest

from bot.process.domain import Canal, Estado, InteractionKind, Prioridad, TipoIncidencia
from db.models import OutboxMessage, Ticket
from tests.handlers.email.harness import mail
from tests.handlers.email.test_email_smtp import OUTLOOK_REPLY
from tests.handlers.whatsapp.harness import text_payload
from tests.scenarios.desk import Desk, desk, submission, until

__all__ = ["desk"]

pytestmark = pytest.mark.imap

PDF = b"%PDF-1.4\n% plan de hosting\n"
NEW_LINES = ("Perfecto, les adjunto el dominio: anaperez.cl\n"
             "También necesito una casilla adicional.\n\nSaludos,\nAna")


async def arrives(desk: Desk, raw: bytes) -> None:
    """Ana's mail client delivers to the mailbox; Atiende reads it over IMAP (IDLE)."""
    assert desk.imap is not None
    imap = desk.imap
    before = await imap.seen_count()
    await imap.append(raw)

    async def read() -> bool:  # \\Seen is set only after the ingest committed and published
        return await imap.seen_count() > before

    await until(read)
    await desk.settle()


async def email_question_on_ticket_2(desk: Desk) -> str:
    """Wed 10:00 Ana's question opens #2; Sofía classifies and asks for information;
    returns the Message-ID of our mail (what Ana's client answers to)."""
    s = desk.services
    await desk.whatsapp_post(text_payload("wamid.S1", "me cobraron dos veces"))  # #1
    desk.at(2026, 12, 9, 10, 0)
    await arrives(desk, mail(attachments=[("plan.pdf", "application/pdf", PDF)]))
    t = await s.queries.get(2)
    assert t.channel is Canal.EMAIL and t.customer.email == "ana@example.cl"
    assert t.estado is Estado.NEW
    await desk.slack_click("USOFIA", 2, "atiende_tipo", selected_option={"value": "Consulta"})
    await desk.slack_click("USOFIA", 2, "atiende_prioridad", selected_option={"value": "Media"})
    t = await s.queries.get(2)
    assert (t.tipo, t.prioridad) == (TipoIncidencia.CONSULTA, Prioridad.MEDIA), \
        desk.slack_ephemerals("USOFIA")
    desk.at(2026, 12, 9, 11, 0)
    await desk.slack_click("USOFIA", 2, "atiende_responder")
    view = desk.slack_last_view()
    view = await desk.slack_pick("USOFIA", view, "tpl", "solicitud_informacion")
    text_id = next(b["block_id"] for b in view["blocks"]
                   if b.get("block_id", "").startswith("text:"))
    response = await desk.slack_interact(submission("USOFIA", view, {
        "tpl": "solicitud_informacion",
        text_id: next(b["element"].get("initial_value", "") for b in view["blocks"]
                      if b.get("block_id") == text_id)}))
    assert response.status_code == 200
    assert await desk.deliver() == 1
    [ours] = await desk.smtp.wait_for(1)
    return str(ours.message["Message-ID"])


async def test_email_question_threads(desk: Desk) -> None:
    s = desk.services
    our_id = await email_question_on_ticket_2(desk)

    # #2 by email; the PDF reached the chats
    uploads = desk.slack.calls_to("files.completeUploadExternal")
    assert uploads, "the PDF was not shared in the Slack thread"
    assert desk.tg.calls_to("sendDocument"), "the PDF was not shown in Telegram"
    # Sofía's request: Esperando cliente, the resolution clock paused
    [ours] = desk.smtp.messages
    assert ours.rcpt_tos == ["ana@example.cl"] and "[#2]" in ours.message["Subject"]
    t = await s.queries.get(2)
    assert t.estado is Estado.WAITING_CUSTOMER and not t.resolution_running
    assert "Esperando cliente" in (await desk.tg_card(2))["text"]
    assert "Esperando cliente" in str((await desk.slack_card(2))["blocks"])

    # Ana's Outlook answer, the whole thread quoted: joins #2, only her new lines
    desk.at(2026, 12, 9, 15, 0)
    await arrives(desk, mail(
        subject="RE: [#2] Consulta por hosting", message_id="<ana-2@example.cl>",
        in_reply_to=our_id, references=f"<a1@example.cl> {our_id}",
        body=OUTLOOK_REPLY.format(n=2), headers={"Thread-Index": "AQHZ"}, hour=15))
    assert await Ticket.all().count() == 2
    t = await s.queries.get(2)
    assert t.estado is Estado.IN_PROGRESS and t.resolution_running
    last_in = [i for i in await s.queries.history(2) if i.kind is InteractionKind.INBOUND][-1]
    assert last_in.body == NEW_LINES
    thread = "\n".join(m["text"] for m in await desk.slack_thread(2))
    assert "anaperez.cl" in thread and "Original Message" not in thread
    assert "En proceso" in (await desk.tg_card(2))["text"]

    # an hour later: the out-of-office; no ticket, no reply, a quiet line in #2
    desk.at(2026, 12, 9, 16, 0)
    outbox = await OutboxMessage.all().count()
    slack_posts = len(desk.slack.calls_to("chat.postMessage"))
    tg_sent = len(desk.tg.calls_to("sendMessage"))
    await arrives(desk, mail(
        subject="Respuesta automática: fuera de la oficina", message_id="<ooo-2@example.cl>",
        in_reply_to=our_id, headers={"Auto-Submitted": "auto-replied",
                                     "X-Auto-Response-Suppress": "All"},
        body="Estaré fuera de la oficina hasta el lunes 14 de diciembre.", hour=16))
    assert await Ticket.all().count() == 2
    assert await OutboxMessage.all().count() == outbox
    assert await desk.deliver() == 0 and len(desk.smtp.messages) == 1
    quiet = (await s.queries.history(2))[-1]
    assert quiet.automatic and quiet.kind is InteractionKind.INBOUND
    assert (await s.queries.get(2)).estado is Estado.IN_PROGRESS
    assert len(desk.tg.calls_to("sendMessage")) == tg_sent  # nobody is pinged
    assert len(desk.slack.calls_to("chat.postMessage")) <= slack_posts + 1  # one quiet line

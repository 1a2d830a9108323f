"""What Slack refuses never stops the desk: files one by one, digests that say how many
more, texts that fit their blocks (the fake Slack enforces Block Kit's limits)."""

from __future__ import annotations

from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal
from bot.process.notify import Audience, Digest, Notice
from bot.storage.attachments import NewAttachment
from tests.conftest import Team
from tests.handlers.slack.harness import SlackRig, rig
from tests.servers.images import png

__all__ = ["rig"]


async def _customer_writes(rig: SlackRig, attachments: tuple[NewAttachment, ...] = (),
                           body: str = "Adjunto capturas") -> int:
    result = await rig.services.intake.receive(IncomingMessage(
        Canal.EMAIL, body, "<files@example.cl>", email="ana@example.cl", name="Ana",
        attachments=attachments))
    await rig.front.drain()
    assert result.ticket is not None
    return result.ticket.number


async def test_an_empty_file_is_named_and_the_others_are_uploaded(rig: SlackRig,
                                                                   team: Team) -> None:
    store = rig.services.attachments
    files = (store.store(b"", "vacio.txt", "text/plain"),
             store.store(png(200, 4500), "captura larga.png", "image/png"),
             store.store(b"%PDF-1.4 boleta", "boleta.pdf", "application/pdf"))
    number = await _customer_writes(rig, files)
    uploaded = sorted(u.filename for u in rig.fake.uploads.values() if u.data is not None)
    assert uploaded == ["boleta.pdf", "captura larga.png"]
    thread = "\n".join(m["text"] for m in await rig.thread(number))
    assert "vacio.txt" in thread and "archivo vacío" in thread
    assert all(c.status == 200 and (c.response or {}).get("ok", True)
               for c in rig.fake.calls)


async def test_a_long_digest_keeps_its_summary_and_says_how_many_more(rig: SlackRig,
                                                                      team: Team) -> None:
    number = await _customer_writes(rig, body="Sin servicio")
    ticket = await rig.services.queries.get(number)
    notices = tuple(Notice(ticket, "resolucion", "vencido",
                           f"#{number} plazo de resolución vencido hace {i} horas; " + "x" * 60)
                    for i in range(60))
    [notifier] = [n for n in rig.services.notifiers if n.name == "slack"]
    await notifier.deliver(Digest(Audience.CHANNEL, None, "60 avisos de plazo", notices,
                                  summary="Resumen: 60 tickets vencidos."))
    text = rig.fake.last("chat.postMessage").params["text"]
    assert len(text) <= 3900
    assert text.startswith("⏰ *60 avisos de plazo*")
    assert text.endswith("Resumen: 60 tickets vencidos.")
    shown = text.count("• ")
    assert 0 < shown < 60 and f"y {60 - shown} más" in text


async def test_a_long_search_is_answered_within_block_kit(rig: SlackRig, team: Team) -> None:
    await _customer_writes(rig, body="hosting caído")
    response = await rig.command("UDIEGO", "buscar " + "hosting " * 500)
    assert response.status_code == 200
    call = rig.fake.last("chat.postEphemeral")
    assert call.status == 200 and call.response["ok"], call.response

"""The inbox: poison input ends as a ticket or a quarantined item, never a drop or a
crash, and the next normal message is still handled; quarantine -> Reintentar."""

from __future__ import annotations

from email.message import EmailMessage

from bot.incoming.inbox_items import QUARANTINED, PermanentInboxError
from bot.process.clock import ManualClock
from bot.process.domain import Canal
from bot.process.notify import Digest
from bot.services import Services
from db.models import Attachment, InboxItem, Ticket
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail


def _nested(depth: int) -> bytes:
    body = b"Content-Type: text/plain\r\n\r\nhola\r\n"
    for i in range(depth):
        body = (f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                + body + f"\r\n--b{i}--\r\n".encode())
    return (b"From: Ana <ana@example.cl>\r\nSubject: anidado\r\nMessage-ID: <deep@example.cl>"
            b"\r\nMIME-Version: 1.0\r\n" + body)


def _many_parts(n: int) -> bytes:
    parts = b"".join(b"--z\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n))
    return (b"From: Ana <ana@example.cl>\r\nSubject: partes\r\nMessage-ID: <many@example.cl>\r\n"
            b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="z"\r\n\r\n'
            + parts + b"--z--\r\n")


def _huge_header() -> bytes:
    return (b"From: Ana <ana@example.cl>\r\nSubject: cabecera\r\nMessage-ID: <big@example.cl>\r\n"
            b"X-Relleno: " + b"a" * (20 * 1024 * 1024) + b"\r\n\r\nhola")


def _cjk_name() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ana <ana@example.cl>"
    msg["Subject"] = "archivo"
    msg["Message-ID"] = "<cjk@example.cl>"
    msg.set_content("Adjunto el documento.")
    msg.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf",
                       filename="文" * 150 + ".pdf")
    return msg.as_bytes()


async def _next_normal_is_handled(ingestor: EmailIngestor, n: int) -> None:
    result = await ingestor.ingest(mail(sender=f"Otro <otro{n}@example.cl>",
                                        message_id=f"<normal{n}@example.cl>"))
    assert result.outcome == "created"


async def test_poison_mail_becomes_a_ticket_that_says_why(services: Services,
                                                          team: Team) -> None:
    ingestor = EmailIngestor(services)
    for n, (raw, why) in enumerate([(_nested(1200), "partes"), (_many_parts(20000), "partes"),
                                    (_huge_header(), "cabecera")]):
        result = await ingestor.ingest(raw)
        assert result.outcome == "created", (why, result)
        ticket = await services.queries.get(result.ticket_number or 0)
        assert ticket.customer.email == "ana@example.cl"
        assert why in ticket.description and "no se pudo leer completo" in ticket.description
        row = await InboxItem.get(key=f"email:{result.message_id}")
        item = await services.inbox.get(row.id)
        assert item is not None and item.raw == raw  # the raw message is kept
        await _next_normal_is_handled(ingestor, n)
    assert await Ticket.all().count() == 6


async def test_cjk_attachment_name_is_cut_by_bytes_and_stored(services: Services,
                                                              team: Team) -> None:
    result = await EmailIngestor(services).ingest(_cjk_name())
    assert result.outcome == "created"
    files = await Attachment.filter(content_type="application/pdf")
    assert len(files) == 1 and files[0].stored_path
    assert files[0].filename.endswith(".pdf") and len(files[0].filename.encode()) <= 150


async def test_no_sender_is_quarantined_and_the_team_is_told(services: Services,
                                                            team: Team) -> None:
    seen: list[Digest] = []

    class Recorder:
        name = "recorder"

        def can_reach(self, digest: Digest) -> bool:
            return True

        async def deliver(self, digest: Digest) -> None:
            seen.append(digest)

    services.notifiers.append(Recorder())
    ingestor = EmailIngestor(services)
    raw = mail(sender="undisclosed-recipients:;", message_id="<nos@example.cl>")
    result = await ingestor.ingest(raw)
    assert result.outcome == "quarantined"
    [listed] = await services.inbox.list(QUARANTINED)
    item = await services.inbox.get(listed.id)
    assert item is not None and item.raw == raw and "remitente" in item.last_error
    assert seen and seen[0].actions[0].action == "inbox_retry" and \
        seen[0].actions[0].ref == item.id
    await _next_normal_is_handled(ingestor, 1)


async def test_failures_back_off_then_quarantine_then_retry_processes(
        services: Services, team: Team, clock: ManualClock) -> None:
    broken = {"on": True}

    async def flaky(entry):  # type: ignore[no-untyped-def]
        if broken["on"]:
            raise RuntimeError("graph is down")
        return None

    async def poison(entry):  # type: ignore[no-untyped-def]
        raise PermanentInboxError("never")

    inbox = services.inbox
    inbox.register("flaky", flaky)
    inbox.register("poison", poison)
    a = await inbox.accept(Canal.WHATSAPP, "poison", "p:1")
    b = await inbox.accept(Canal.WHATSAPP, "flaky", "f:1")
    again = await inbox.accept(Canal.WHATSAPP, "flaky", "f:1")
    assert again.id == b.id and not again.new
    await inbox.drain()
    assert (await inbox.get(a.id)).status == QUARANTINED  # type: ignore[union-attr]
    for _ in range(services.settings.inbox_max_attempts - 1):
        item = await inbox.get(b.id)
        assert item is not None and item.status == "pendiente"
        assert await inbox.drain() == 0  # backing off: nothing due yet
        clock.advance(hours=2)
        await inbox.drain()
    item = await inbox.get(b.id)
    assert item is not None and item.status == QUARANTINED
    assert item.attempts == services.settings.inbox_max_attempts
    broken["on"] = False
    retried = await inbox.retry(b.id)
    assert retried is not None and retried.status == "procesado"


async def test_concurrent_accepts_share_a_commit_and_stay_unique(services: Services) -> None:
    import asyncio

    inbox = services.inbox
    await inbox.accept(Canal.WHATSAPP, "k", "w:0")  # known before the burst
    keys = [f"w:{i % 15}" for i in range(30)]  # every key twice, w:0 also stored already
    results = await asyncio.gather(*(inbox.accept(Canal.WHATSAPP, "k", k) for k in keys))
    assert await InboxItem.all().count() == 15
    by_key: dict[str, set[int]] = {}
    for key, result in zip(keys, results, strict=True):
        by_key.setdefault(key, set()).add(result.id)
    assert all(len(ids) == 1 for ids in by_key.values())
    assert sum(r.new for r in results) == 14  # each new key reported new exactly once

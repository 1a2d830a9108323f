"""One pipeline for every inbound email (IMAP, import): raw bytes -> one intake call.

The IMAP loop, the importer and the tests all go through ``EmailIngestor.ingest``, so a
message behaves the same however it arrived, and a second delivery of the same bytes
(or the same Message-ID) changes nothing: the intake de-duplicates by Message-ID.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.attachments import NewAttachment
from bot.conformity import apply_answer
from bot.conformity_answer import ConformityAnswer
from bot.domain import Canal
from bot.errors import DomainError
from bot.intake import IncomingMessage, IntakeResult
from bot.services import Services
from handlers.email.automatic import automatic_reason, is_bounce, is_own_mail
from handlers.email.parse import ParsedMail, parse_mail
from handlers.email.quotes import strip_quotes
from handlers.email.threading import find_thread

log = logging.getLogger(__name__)

RAW_FILENAME = "mensaje-original.eml"
EMPTY_BODY = "(correo sin texto)"
AUTOMATIC_BODY_CHARS = 500


@dataclass(frozen=True)
class IngestResult:
    """What happened to one message; ``outcome`` is one of the OUTCOMES below."""

    outcome: str
    message_id: str
    ticket_number: int | None = None
    conformity: ConformityAnswer | None = None  # applied yes/no, when it applied


OUTCOMES = ("created", "appended", "reopened", "duplicate", "automatic", "dropped", "own")


def own_domain(smtp_from: str) -> str | None:
    """The domain of our sender address: where our own Message-IDs live."""
    from email.utils import parseaddr

    address = parseaddr(smtp_from or "")[1]
    return address.rpartition("@")[2].lower() or None


class EmailIngestor:
    """Turns raw messages into intake calls, then applies a yes/no conformity answer."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._domain = own_domain(services.settings.smtp_from)

    async def ingest(self, raw: bytes) -> IngestResult:
        mail = parse_mail(raw)
        if is_own_mail(mail, self._services.settings.smtp_from, self._domain):
            log.info("own outgoing mail ignored message_id=%s", mail.message_id)
            return IngestResult("own", mail.message_id)
        reason = automatic_reason(mail)
        thread = await find_thread(self._services, mail)
        message = IncomingMessage(
            channel=Canal.EMAIL, body=self._body(mail, reason), external_id=mail.message_id,
            email=mail.from_email, name=mail.from_name, subject=mail.subject[:300],
            ticket_number=thread.ticket_number, refs=thread.refs, automatic=reason is not None,
            attachments=self._attachments(mail),
            meta={"subject": mail.subject[:300], "message_id": mail.message_id,
                  "from": mail.from_email or "", "threaded_by": thread.by,
                  **({"automatic_reason": reason} if reason else {}),
                  **({"synthetic_message_id": True} if mail.synthetic_id else {})})
        result = await self._receive(message)
        outcome = _outcome(result, reason)
        number = result.ticket.number if result.ticket else None
        log.info("email ingested outcome=%s ticket=%s threaded_by=%s message_id=%s", outcome,
                 f"#{number}" if number else "-", thread.by, mail.message_id)
        answer = None
        if reason is None and outcome in ("appended", "duplicate"):
            answer = await self._conformity(result, message)
        if reason is not None and is_bounce(mail):
            await self._bounced(mail, thread.refs)
        return IngestResult(outcome, mail.message_id, number, answer)

    async def _receive(self, message: IncomingMessage) -> IntakeResult:
        try:
            return await self._services.intake.receive(message)
        except DomainError as exc:  # e.g. an address the customer service refuses
            log.warning("sender refused (%s); retrying without it message_id=%s", exc,
                        message.external_id)
            from dataclasses import replace

            return await self._services.intake.receive(replace(message, email=None))

    def _body(self, mail: ParsedMail, reason: str | None) -> str:
        text = strip_quotes(mail.text) if mail.text.strip() else ""
        if reason is not None:  # a quiet line: what it is, not the whole report
            head = mail.subject or "Mensaje automático"
            snippet = text[:AUTOMATIC_BODY_CHARS].strip()
            return f"{head}\n\n{snippet}".strip()
        if text:
            return text
        names = ", ".join(a.filename for a in mail.attachments)
        return f"{EMPTY_BODY} Adjuntos: {names}" if names else EMPTY_BODY

    def _attachments(self, mail: ParsedMail) -> list[NewAttachment]:
        store = self._services.attachments
        stored = [store.store(a.data, a.filename, a.content_type) for a in mail.attachments]
        stored.append(store.store(mail.raw, RAW_FILENAME, "message/rfc822", archival=True))
        return stored

    async def _bounced(self, mail: ParsedMail, refs: tuple[str, ...]) -> None:
        """A bounce names the message it returns: if it is one of our replies, that
        reply failed and the team is told."""
        why = f"rebote «{mail.subject.strip()[:120] or 'sin asunto'}»"
        for ref in refs:
            if await self._services.delivery.failed(Canal.EMAIL, ref, why,
                                                    "El servidor de correo"):
                log.info("bounce of our reply recorded message_id=%s", ref)

    async def _conformity(self, result: IntakeResult,
                          message: IncomingMessage) -> ConformityAnswer | None:
        """A plain yes/no to the conformity request closes or reopens; the rest just lands."""
        return await apply_answer(self._services.tickets, result, message.body, Canal.EMAIL,
                                  message.name or message.email or "")


def _outcome(result: IntakeResult, reason: str | None) -> str:
    if result.duplicate:
        return "duplicate"
    if result.dropped or result.ticket is None:
        return "dropped"
    if reason is not None:
        return "automatic"
    if result.created:
        return "created"
    if result.reopened:
        return "reopened"
    return "appended"

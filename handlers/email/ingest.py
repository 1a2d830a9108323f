"""One pipeline for every inbound email (IMAP, import): raw bytes -> inbox -> one intake call.

The IMAP loop stores each message in the inbox (``accept``) before it records its
progress; the inbox worker then calls ``process``. The importer and the tests use
``ingest`` (store, then process at once). However it arrived, a message behaves the
same, and a second delivery of the same bytes (or the same Message-ID) changes nothing.
This module only translates: the intake decides (threading rule, third parties,
conformity answers, bounces).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot.incoming.conformity_answer import ConformityAnswer
from bot.incoming.inbox_items import DONE, QUARANTINED, Accepted, InboxEntry, Processor
from bot.incoming.inbox_store import Done, ProcessingFailed, insert_all_done, insert_done
from bot.incoming.intake import IncomingMessage, IntakeResult
from bot.process.domain import Canal
from bot.services import Services
from handlers.email.parse import MailHead, MailLimits
from handlers.email.threading import find_thread
from handlers.email.translate import (
    KEY_PREFIX,
    RAW_FILENAME,
    MailIn,
    Translated,
    Translator,
    inbox_key,
)

__all__ = ["INBOX_KIND", "KEY_PREFIX", "OUTCOMES", "RAW_FILENAME", "EmailIngestor",
           "IngestResult", "MailIn", "inbox_key", "key_of"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    """What happened to one message; ``outcome`` is one of the OUTCOMES below."""

    outcome: str
    message_id: str
    ticket_number: int | None = None
    conformity: ConformityAnswer | None = None  # applied yes/no, when it applied


OUTCOMES = ("created", "appended", "reopened", "duplicate", "automatic", "dropped", "own",
            "third_party", "quarantined", "pending")
INBOX_KIND = "email"


def key_of(entry: InboxEntry | None) -> str:
    return entry.key.removeprefix(KEY_PREFIX) if entry else ""


class EmailIngestor:
    """Stores raw messages in the inbox, then translates each into one intake call."""

    def __init__(self, services: Services) -> None:
        self._services = services
        s = services.settings
        self.translator = Translator(MailLimits(s.mail_max_message_bytes, s.mail_max_parts,
                                                s.mail_max_header_bytes),
                                     s.smtp_from, services.attachments)

    def processors(self) -> dict[str, Processor]:
        """What the inbox worker calls for the mail this channel stores."""
        return {INBOX_KIND: self.process}

    async def accept(self, raw: bytes) -> Accepted:
        """Store the raw message (keyed by its Message-ID): after this, it is ours."""
        key, summary = inbox_key(raw, self.translator.limits.max_header_bytes)
        accepted = await self._services.inbox.accept(Canal.EMAIL, INBOX_KIND, key, raw=raw,
                                                     summary=summary)
        if accepted.new:
            self._services.inbox.wake()
        return accepted

    def read(self, raw: bytes) -> MailIn:
        """The header block, parsed once for the inbox key and for the message itself."""
        return self.translator.read(raw)

    async def ingest(self, raw: bytes, mail: MailIn | None = None) -> IngestResult:
        """Store, then process now (import, tests): the outcome of this one message."""
        inbox = self._services.inbox
        mail = mail or self.read(raw)
        # Stored with the claim taken: processed right here, nothing read back.
        accepted, fresh = await inbox.accept_claimed(Canal.EMAIL, INBOX_KIND, mail.key,
                                                     raw=raw, summary=mail.summary)
        outcome: list[IngestResult] = []

        async def once(item: InboxEntry) -> int | None:
            stored = item.raw if item.raw is not None else raw
            outcome.append(await self.handle(stored, mail.head if stored == raw else None))
            return outcome[-1].ticket_number

        if accepted.new:
            await inbox.process_entry(fresh, once)
        else:  # stored before: done already, or still to be processed
            entry = await inbox.get(accepted.id)
            if entry is not None and entry.status == DONE:
                return IngestResult("duplicate", entry.key.removeprefix(KEY_PREFIX),
                                    entry.ticket_number)
            await inbox.process_item(accepted.id, processor=once)
        if outcome:
            return outcome[-1]
        entry = await self._services.inbox.get(accepted.id)
        status = entry.status if entry else ""
        return IngestResult("quarantined" if status == QUARANTINED else "pending",
                            key_of(entry), None)

    async def ingest_unstored(self, mail: MailIn) -> IngestResult:
        """A mail whose key the inbox does not hold, processed first and then stored
        already processed, in the caller's savepoint (an import's, which commits both
        together): no savepoint, claim or "processed" mark of its own. Raises
        ``ProcessingFailed`` when the processing fails and ``KnownKey`` when the key was
        stored meanwhile; the caller then rolls its savepoint back and calls ``ingest``,
        which records the failure, or finds the stored row, exactly as ever."""
        try:
            result = await self.receive(mail.translated or
                                        self.translator.translate(mail.raw, mail.head))
        except Exception as exc:
            raise ProcessingFailed(str(exc)) from exc
        await insert_done(Canal.EMAIL, INBOX_KIND, mail.key, raw=mail.raw,
                          summary=mail.summary, ticket_number=result.ticket_number,
                          now=self._services.clock.now())
        return result

    async def ingest_all_unstored(self, mails: Sequence[MailIn]) -> list[IngestResult]:
        """``ingest_unstored`` for a batch of mails the inbox does not hold, in the
        caller's transaction: each processed in order, then their rows inserted together
        (a reply finds its parent by the parent's ids, recorded by its processing, not by
        its inbox row). Raises whatever fails: the caller rolls the whole batch back."""
        results = [await self.receive(mail.translated or
                                      self.translator.translate(mail.raw, mail.head))
                   for mail in mails]
        await insert_all_done(Canal.EMAIL, INBOX_KIND, [
            Done(mail.key, mail.raw, mail.summary, result.ticket_number)
            for mail, result in zip(mails, results, strict=True)],
            now=self._services.clock.now())
        return results

    async def process(self, entry: InboxEntry) -> int | None:
        """The inbox worker's call for one stored message."""
        return (await self.handle(entry.raw or b"")).ticket_number

    async def handle(self, raw: bytes, head: MailHead | None = None) -> IngestResult:
        """Raw bytes -> one ``IncomingMessage`` -> the intake's one door (``head``:
        ``read_head`` of these bytes, taken over by the parse)."""
        return await self.receive(self.translator.translate(raw, head))

    async def receive(self, mail: Translated) -> IngestResult:
        """A translated mail -> one ``IncomingMessage`` -> the intake's one door."""
        if mail.own:
            log.info("own outgoing mail ignored message_id=%s", mail.message_id)
            return IngestResult("own", mail.message_id)
        reason = mail.reason
        signer = self._services.message_ids
        forged = tuple([r for r in mail.refs if signer.looks_ours(r, self.translator.domain)
                        and not await signer.verify(r)])
        if forged:
            log.warning("mail names ids we never issued (ignored) message_id=%s",
                        mail.message_id)
        thread = await find_thread(self._services, mail.message_id, mail.refs, mail.subject,
                                   ignore=forged)
        bounced = tuple([r for r in thread.refs if await signer.verify(r)]) \
            if mail.bounce else ()
        message = IncomingMessage(
            channel=Canal.EMAIL, body=mail.body, external_id=mail.message_id,
            email=mail.from_email, name=mail.from_name, subject=mail.subject[:300],
            ticket_number=thread.ticket_number, refs=thread.refs, automatic=reason is not None,
            attachments=list(mail.attachments), bounced=bounced,
            bounce_reason=f"rebote «{mail.subject.strip()[:120] or 'sin asunto'}»",
            meta={"subject": mail.subject[:300], "message_id": mail.message_id,
                  "from": mail.from_email or "", "threaded_by": thread.by,
                  **({"automatic_reason": reason} if reason else {}),
                  **({"forged_refs": list(forged[:5])} if forged else {}),
                  **({"synthetic_message_id": True} if mail.synthetic_id else {})})
        result = await self._services.intake.receive(message)
        outcome = _outcome(result, reason)
        number = result.ticket.number if result.ticket else None
        log.info("email ingested outcome=%s ticket=%s threaded_by=%s message_id=%s", outcome,
                 f"#{number}" if number else "-", thread.by, mail.message_id)
        return IngestResult(outcome, mail.message_id, number, result.conformity)


def _outcome(result: IntakeResult, reason: str | None) -> str:
    if result.duplicate:
        return "duplicate"
    if result.third_party:
        return "third_party"
    if result.dropped or result.ticket is None:
        return "dropped"
    if reason is not None:
        return "automatic"
    if result.created:
        return "created"
    if result.reopened:
        return "reopened"
    return "appended"

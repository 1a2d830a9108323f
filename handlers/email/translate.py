"""A mail's bytes -> what the intake needs of it, with no database and no services.

Everything here depends on the bytes and a few settings only: the inbox key, the parse,
whether the mail is ours or automatic, the ids it names, the body as the team reads it,
and its files (written to the attachment store, by content, so writing one twice is
harmless). That makes ``Translator`` a plain value: the importer can hand it to a helper
process that translates the next batches while this one stores the current one
(``handlers/email/ahead.py``); ``EmailIngestor`` uses the same translator in process.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from email.utils import parseaddr
from functools import cached_property

from bot.storage.attachments import AttachmentStore, NewAttachment
from handlers.email.automatic import automatic_reason, is_bounce, is_own_mail
from handlers.email.parse import (
    SYNTHETIC_DOMAIN,
    MailHead,
    MailLimits,
    ParsedMail,
    header_end,
    message_ids,
    parse_mail,
    read_head,
)
from handlers.email.quotes import strip_quotes
from handlers.email.threading import thread_refs

RAW_FILENAME = "mensaje-original.eml"
EMPTY_BODY = "(correo sin texto)"
AUTOMATIC_BODY_CHARS = 500
KEY_PREFIX = "email:"


@dataclass(frozen=True)
class Translated:
    """One mail as the intake needs it, worked out from its bytes alone."""

    message_id: str  # "<local@domain>"; synthetic when the mail had none
    synthetic_id: bool
    subject: str
    from_email: str | None
    from_name: str
    own: bool  # a mail we sent ourselves: never a customer's message
    reason: str | None  # why it is automatic (auto-reply, bounce...), or None
    bounce: bool  # a non-delivery report: the messages it names failed
    refs: tuple[str, ...]  # the ids it names, nearest first (``thread_refs``)
    body: str
    attachments: tuple[NewAttachment, ...]  # stored already, the original .eml last


@dataclass(frozen=True)
class MailIn:
    """A raw mail as the inbox sees it: its header block (``read_head``; None when the
    full parser must read it), inbox key and one-line summary; ``translated`` when a
    helper process has translated it already."""

    raw: bytes
    head: MailHead | None
    key: str
    summary: str
    translated: Translated | None = None


@dataclass(frozen=True)
class Translator:
    """Reads and translates mails; a value that pickles (settings, not services)."""

    limits: MailLimits
    smtp_from: str
    store: AttachmentStore

    @cached_property
    def domain(self) -> str | None:
        """Our sender's domain, worked out once (``translate`` asks for every mail)."""
        return own_domain(self.smtp_from)

    def read(self, raw: bytes) -> MailIn:
        """The header block, parsed once for the inbox key and for the message itself."""
        head = read_head(raw, self.limits.max_header_bytes)
        key, summary = inbox_key(raw, self.limits.max_header_bytes, head)
        return MailIn(raw, head, key, summary)

    def translate(self, raw: bytes, head: MailHead | None = None) -> Translated:
        """``head``: ``read_head`` of these bytes, taken over by the parse."""
        mail = parse_mail(raw, self.limits, head)
        reason = automatic_reason(mail)
        own = is_own_mail(mail, self.smtp_from, self.domain)
        return Translated(
            message_id=mail.message_id, synthetic_id=mail.synthetic_id, subject=mail.subject,
            from_email=mail.from_email, from_name=mail.from_name, own=own, reason=reason,
            bounce=reason is not None and is_bounce(mail), refs=thread_refs(mail),
            body=_body(mail, reason), attachments=() if own else self._attachments(mail))

    def _attachments(self, mail: ParsedMail) -> tuple[NewAttachment, ...]:
        stored = [self.store.store(a.data, a.filename, a.content_type)
                  for a in mail.attachments]
        stored.append(self.store.store(mail.raw, RAW_FILENAME, "message/rfc822",
                                       archival=True))
        return tuple(stored)


def _body(mail: ParsedMail, reason: str | None) -> str:
    text = strip_quotes(mail.text) if mail.text.strip() else ""
    if reason is not None:  # a quiet line: what it is, not the whole report
        head = mail.subject or "Mensaje automático"
        snippet = text[:AUTOMATIC_BODY_CHARS].strip()
        return f"{head}\n\n{snippet}".strip()
    if text:
        return text
    names = ", ".join(a.filename for a in mail.attachments)
    return f"{EMPTY_BODY} Adjuntos: {names}" if names else EMPTY_BODY


def inbox_key(raw: bytes, max_header_bytes: int,
              parsed: MailHead | None = None) -> tuple[str, str]:
    """The inbox key (the Message-ID, else a hash of the bytes, like ``parse_mail``) and
    a one-line summary, read from the headers alone (bounded, whatever the body).
    ``parsed``: ``read_head`` of these bytes within the same bound (the same headers)."""
    if parsed is not None:
        head = parsed.message
    else:
        end = header_end(raw, max_header_bytes) or max_header_bytes
        head = BytesParser(policy=policy.compat32).parsebytes(
            raw[:min(end, max_header_bytes)], headersonly=True)
    ids = message_ids(str(head.get("Message-ID", "") or ""))
    key = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>"
    summary = " ".join(f"{str(head.get('From', '') or '?')} · "
                       f"{str(head.get('Subject', '') or '')}".split())
    return KEY_PREFIX + key, summary[:300]


def own_domain(smtp_from: str) -> str | None:
    """The domain of our sender address: where our own Message-IDs live."""
    address = parseaddr(smtp_from or "")[1]
    return address.rpartition("@")[2].lower() or None

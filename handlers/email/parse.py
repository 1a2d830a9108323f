"""Raw bytes -> ``ParsedMail``: every broken message still yields something usable.

The standard library's ``email`` package splits the MIME tree (policy ``compat32``:
headers kept as written, read by ``mail_headers`` only when needed); ``charsets``,
``mail_headers`` and ``body`` add what real mail needs on top: charsets that are wrong,
unknown or missing (decoded with a fallback chain, never an exception), raw 8-bit
headers, HTML-only bodies, forwarded ``message/rfc822`` parts kept as ``.eml``
attachments. Here: the limits a message must fit before it is walked, and a stable
synthetic Message-ID (hash of the bytes) when the sender gave none, so a message
without one is still de-duplicated on re-delivery.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import Message
from email.parser import BytesParser

from handlers.email.body import ParsedAttachment, read_body
from handlers.email.charsets import decode_bytes, first_charset
from handlers.email.mail_headers import (
    MAX_ID,
    decode_header_value,
    header_index,
    header_text,
    mail_date,
    message_ids,
    one_line,
    sender,
)

__all__ = ["MAX_ID", "SYNTHETIC_DOMAIN", "MailLimits", "ParsedAttachment", "ParsedMail",
           "decode_bytes", "header_end", "header_text", "message_ids", "over_limits",
           "parse_mail"]

SYNTHETIC_DOMAIN = "sin-message-id.atiende.invalid"


@dataclass(frozen=True)
class ParsedMail:
    raw: bytes
    message: Message
    message_id: str  # "<local@domain>"; synthetic when the message had none
    synthetic_id: bool
    subject: str
    from_name: str
    from_email: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    date: datetime | None
    text: str  # the body as plain text (HTML converted), quotes not yet stripped
    attachments: tuple[ParsedAttachment, ...] = ()
    embedded_ids: tuple[str, ...] = field(default=())  # ids of enclosed/bounced messages
    # The top-level headers as written, by lower-case name (``header_index``).
    headers: Mapping[str, str] | None = field(default=None, compare=False, repr=False)

    def header(self, name: str) -> str:
        if self.headers is None:
            return header_text(self.message, name)
        return decode_header_value(name, self.headers.get(name.lower()))


@dataclass(frozen=True)
class MailLimits:
    """What one message may be before it is only read by its headers (settings)."""

    max_bytes: int = 30 * 1024 * 1024
    max_parts: int = 500
    max_header_bytes: int = 256 * 1024


MAX_NESTING = 60  # multiparts inside multiparts: deeper than any real mail
UNREADABLE = ("(Este correo no se pudo leer completo: {reason}. El mensaje original "
              "queda guardado en el ticket.)")


def over_limits(raw: bytes, limits: MailLimits) -> str | None:
    """Why this message is too much to parse (cheap checks on the bytes), or None."""
    if len(raw) > limits.max_bytes:
        return f"pesa {_n(len(raw))} bytes, más que el máximo de {_n(limits.max_bytes)}"
    if header_end(raw, limits.max_header_bytes) is None:
        return f"su cabecera supera el máximo de {_n(limits.max_header_bytes)} bytes"
    if raw.count(b"\n--") > limits.max_parts:
        return f"tiene más de {_n(limits.max_parts)} partes"
    if raw.lower().count(b"boundary=") > min(MAX_NESTING, limits.max_parts):
        return f"tiene más de {min(MAX_NESTING, limits.max_parts)} niveles de partes"
    return None


def _n(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def header_end(raw: bytes, limit: int) -> int | None:
    """Where the header block ends, if it does within ``limit`` bytes."""
    window = raw[:limit + 4]
    ends = [i for i in (window.find(b"\r\n\r\n"), window.find(b"\n\n")) if i >= 0]
    if ends:
        return min(ends)
    return len(raw) if len(raw) <= limit else None


def parse_mail(raw: bytes, limits: MailLimits | None = None) -> ParsedMail:
    """Parse anything; the worst case is the headers only, with the raw bytes kept."""
    reason = over_limits(raw, limits or MailLimits())
    if reason is None:
        try:
            return _parse(raw)
        except RecursionError:
            reason = "su estructura está anidada más de lo que se puede leer"
    return _headers_only(raw, reason, (limits or MailLimits()).max_header_bytes)


def _synthetic_id(raw: bytes) -> str:
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>"


def _headers_only(raw: bytes, reason: str, limit: int) -> ParsedMail:
    """A message we will not walk: who sent it and what about, and a line saying why."""
    end = header_end(raw, limit) or limit
    msg = BytesParser(policy=policy.compat32).parsebytes(raw[:min(end, limit)] + b"\n\n",
                                                         headersonly=True)
    heads = header_index(msg)

    def text(name: str) -> str:
        return decode_header_value(name, heads.get(name.lower()))

    ids = message_ids(text("Message-ID"))
    name, address = sender(msg, None, heads)
    return ParsedMail(
        raw=raw, message=msg, message_id=ids[0] if ids else _synthetic_id(raw),
        synthetic_id=not ids, subject=one_line(text("Subject"))[:300],
        from_name=name, from_email=address,
        in_reply_to=message_ids(text("In-Reply-To")),
        references=message_ids(text("References")),
        date=mail_date(text("Date")), text=UNREADABLE.format(reason=reason), headers=heads)


def _parse(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.compat32).parsebytes(raw)
    hint = first_charset(msg)
    heads = header_index(msg)  # one pass over the headers for every lookup below

    def text(name: str) -> str:
        return decode_header_value(name, heads.get(name.lower()), hint)

    ids = message_ids(text("Message-ID"))
    name, address = sender(msg, hint, heads)
    body = read_body(msg)
    return ParsedMail(
        raw=raw, message=msg, message_id=ids[0] if ids else _synthetic_id(raw),
        synthetic_id=not ids, subject=one_line(text("Subject")),
        from_name=name, from_email=address,
        in_reply_to=message_ids(text("In-Reply-To")),
        references=message_ids(text("References")),
        date=mail_date(text("Date")),
        text=body.text(), attachments=tuple(body.attachments),
        embedded_ids=tuple(body.embedded_ids), headers=heads)

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
import re
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

__all__ = ["MAX_ID", "SYNTHETIC_DOMAIN", "MailHead", "MailLimits", "ParsedAttachment",
           "ParsedMail", "decode_bytes", "header_end", "header_text", "message_ids",
           "over_limits", "parse_mail", "parse_message", "read_head"]

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


@dataclass(frozen=True)
class MailHead:
    """A message's header block parsed on its own, and where its body starts."""

    message: Message  # compat32, headers only
    body_start: int


_BLANK_LINE = re.compile(rb"\n\r?\n")  # a line ending, then an empty line
_LONE_CR = re.compile(rb"\r(?!\n)")


def read_head(raw: bytes, limit: int) -> MailHead | None:
    """The header block, parsed exactly as the full parser would parse it, when it is
    plainly delimited: an empty line within ``limit`` bytes, ``\\n`` or ``\\r\\n`` line
    ends, every line a header (no defect). None for anything else, which then goes
    through the full parser. The inbox key and the parse share it, and a message of one
    part needs no more: the standard parser would walk its body line by line only to
    join the lines again (most of a mail's parsing time)."""
    if raw[:1] in (b"\n", b"\r"):
        return None  # no headers at all
    blank = _BLANK_LINE.search(raw, 0, limit)
    if blank is None or _LONE_CR.search(raw, 0, blank.start() + 1) is not None:
        return None
    head = BytesParser(policy=policy.compat32).parsebytes(raw[:blank.start() + 1],
                                                          headersonly=True)
    if head.defects:
        return None
    return MailHead(head, blank.end())


def parse_mail(raw: bytes, limits: MailLimits | None = None,
               head: MailHead | None = None) -> ParsedMail:
    """Parse anything; the worst case is the headers only, with the raw bytes kept.
    ``head``: ``read_head`` of these bytes, when the caller has it already (it is
    taken over: its message becomes the parsed one)."""
    reason = over_limits(raw, limits or MailLimits())
    if reason is None:
        try:
            return _parse(raw, head)
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


def parse_message(raw: bytes, head: MailHead | None) -> Message:
    """The whole message: a single-part one is its header block plus the rest of the
    bytes as its payload, which is what the full parser makes of it too."""
    if head is None:
        head = read_head(raw, len(raw))
    if head is not None and head.message.get_content_maintype() not in ("multipart",
                                                                        "message"):
        head.message.set_payload(raw[head.body_start:].decode("ascii", "surrogateescape"))
        return head.message
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def _parse(raw: bytes, head: MailHead | None = None) -> ParsedMail:
    msg = parse_message(raw, head)
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

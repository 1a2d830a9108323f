"""Raw bytes -> ``ParsedMail``: every broken message still yields something usable.

The standard library's ``email`` package (policy ``default``) does the MIME work; this
module adds what real mail needs on top: charsets that are wrong, unknown or missing
(decoded with a fallback chain, never an exception), raw 8-bit headers, HTML-only
bodies, forwarded ``message/rfc822`` parts kept as ``.eml`` attachments, and a stable
synthetic Message-ID (hash of the bytes) when the sender gave none, so a message
without one is still de-duplicated on re-delivery.
"""

from __future__ import annotations

import codecs
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime

from handlers.email.html_text import html_to_text

_MSGID = re.compile(r"<[^<>\s]+>")
_EXTENSIONS = {"image/jpg": ".jpg", "image/pjpeg": ".jpg", "image/jpeg": ".jpg",
               "message/delivery-status": ".txt", "text/rfc822-headers": ".txt",
               "message/disposition-notification": ".txt", "message/feedback-report": ".txt"}
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949",
                    "x-sjis": "shift_jis", "iso-8859-8-i": "iso-8859-8",
                    "windows-874": "cp874", "ascii": "us-ascii", "utf8": "utf-8"}
SYNTHETIC_DOMAIN = "sin-message-id.atiende.invalid"


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


@dataclass(frozen=True)
class ParsedMail:
    raw: bytes
    message: EmailMessage
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

    def header(self, name: str) -> str:
        return header_text(self.message, name)


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


def _headers_only(raw: bytes, reason: str, limit: int) -> ParsedMail:
    """A message we will not walk: who sent it and what about, and a line saying why."""
    end = header_end(raw, limit) or limit
    msg = BytesParser(policy=policy.default).parsebytes(raw[:min(end, limit)] + b"\n\n",
                                                         headersonly=True)
    ids = message_ids(header_text(msg, "Message-ID"))
    name, address = _sender(msg, None)
    return ParsedMail(
        raw=raw, message=msg,
        message_id=ids[0] if ids else
        f"<{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>",
        synthetic_id=not ids, subject=_one_line(header_text(msg, "Subject"))[:300],
        from_name=name, from_email=address,
        in_reply_to=message_ids(header_text(msg, "In-Reply-To")),
        references=message_ids(header_text(msg, "References")),
        date=_date(header_text(msg, "Date")), text=UNREADABLE.format(reason=reason))


def _parse(raw: bytes) -> ParsedMail:
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    hint = _first_charset(msg)
    ids = message_ids(header_text(msg, "Message-ID", hint))
    synthetic = not ids
    message_id = ids[0] if ids else f"<{hashlib.sha256(raw).hexdigest()[:40]}@{SYNTHETIC_DOMAIN}>"
    name, address = _sender(msg, hint)
    body = _Body()
    _walk(msg, body, top=True)
    return ParsedMail(
        raw=raw, message=msg, message_id=message_id, synthetic_id=synthetic,
        subject=_one_line(header_text(msg, "Subject", hint)),
        from_name=name, from_email=address,
        in_reply_to=message_ids(header_text(msg, "In-Reply-To", hint)),
        references=message_ids(header_text(msg, "References", hint)),
        date=_date(header_text(msg, "Date", hint)),
        text=body.text(), attachments=tuple(body.attachments),
        embedded_ids=tuple(body.embedded_ids))


MAX_ID = 255  # the external_id and message-reference columns


def message_ids(value: str) -> tuple[str, ...]:
    """Every ``<id>`` in a header; a bare ``id@host`` (broken clients) is accepted too."""
    found = _MSGID.findall(value or "")
    if not found:
        bare = (value or "").strip()
        if "@" in bare and not re.search(r"\s", bare):
            found = [f"<{bare.strip('<>')}>"]
    # An id is kept whole or not at all: one cut to fit our 255-character column would
    # lose its ">" and name a message nobody sent (the [#N] tag still threads it).
    return tuple(dict.fromkeys(i for i in found if len(i) <= MAX_ID))


# --- headers ------------------------------------------------------------------------
def header_text(msg: Message, name: str, hint: str | None = None) -> str:
    """A header as text, whatever is wrong with it (bad encoded-words, raw 8-bit)."""
    raw = _raw_header(msg, name)
    if raw is None:
        return ""
    if _has_surrogates(raw):  # raw 8-bit bytes: the parser would turn them into U+FFFD
        return " ".join(_fix_surrogates(raw, hint).split())
    try:
        value = msg.get(name)
        text = "" if value is None else str(value)
    except Exception:
        text = "\ufffd"
    if "\ufffd" in text and "\ufffd" not in raw:  # e.g. gb2312 declared, GBK used
        return _decode_words(raw)
    return text


def _decode_words(raw: str) -> str:
    """RFC 2047 encoded-words decoded with our charset fallbacks."""
    try:
        chunks = decode_header(raw)
    except Exception:
        return raw
    out = []
    for chunk, charset in chunks:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return " ".join("".join(out).split())


def _raw_header(msg: Message, name: str) -> str | None:
    for key, value in msg.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return None


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _fix_surrogates(text: str, hint: str | None) -> str:
    """Raw 8-bit header bytes arrive as surrogates: decode them like a body would be."""
    if not _has_surrogates(text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), hint)


def _sender(msg: Message, hint: str | None) -> tuple[str, str | None]:
    """The first valid address of From (else Reply-To, Sender). Addresses are parsed
    *before* encoded-words are decoded, so a display name that decodes to
    "x\r\nBcc: y@z" stays a name and never becomes an address."""
    for header in ("From", "Reply-To", "Sender"):
        for name, address in _addresses(msg, header):
            address = _fix_surrogates(address, "utf-8").strip().strip("<>")
            local, _, domain = address.rpartition("@")
            if local and "." in domain and not re.search(r"[\s\x00-\x1f]", address):
                return _one_line(_fix_surrogates(name, hint))[:200], address.lower()
    return "", None


def _addresses(msg: Message, header: str) -> list[tuple[str, str]]:
    try:
        value = msg.get(header)
        found = [(a.display_name, a.addr_spec) for a in getattr(value, "addresses", ())]
    except Exception:
        found = []
    if found:
        return found
    raw = _raw_header(msg, header) or ""
    return [(_decode_words(name), address) for name, address in getaddresses([raw])]


def _one_line(text: str) -> str:
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- charsets ---------------------------------------------------------------------
def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = _CHARSET_ALIASES.get(charset.strip().strip('"').lower(), charset.strip().strip('"'))
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, else UTF-8, else a lossless single-byte fallback: never raises."""
    declared = _codec(charset)
    for candidate in (declared, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate)
            except (UnicodeDecodeError, LookupError):
                pass
    if declared and declared not in ("ascii", "utf-8"):
        return data.decode(declared, errors="replace")
    if declared == "utf-8" and data.decode("utf-8", "replace").count("\ufffd") < 4:
        return data.decode("utf-8", errors="replace")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _first_charset(msg: Message) -> str | None:
    for part in msg.walk():
        try:
            charset = part.get_content_charset()
        except Exception:
            charset = None
        if _codec(charset) not in (None, "ascii"):
            return charset
    return None


# --- body and attachments ---------------------------------------------------------
class _Body:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.embedded_ids: list[str] = []

    def text(self) -> str:
        text = "\n\n".join(p.strip("\n") for p in self.parts if p.strip())
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
    except Exception:
        return True
    return disposition == "attachment" or (bool(filename) and disposition != "inline") or \
        (bool(filename) and not _content_type(part).startswith("text/"))


def _text_of(part: Message) -> str:
    data = _payload(part)
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return decode_bytes(data, charset)


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    if isinstance(payload, str):
        return payload.encode("utf-8", "surrogateescape")
    if isinstance(payload, list):  # message/delivery-status and friends: header blocks
        return b"\n".join(str(p).encode("utf-8", "replace") for p in payload)
    return b""


def _walk(part: Message, body: _Body, top: bool = False) -> None:
    ctype = _content_type(part)
    if part.is_multipart() and not ctype.startswith("message/"):
        children = [p for p in (part.get_payload() or []) if isinstance(p, Message)]
        if ctype == "multipart/alternative":
            _alternative(children, body)
        else:
            for child in children:
                _walk(child, body)
        return
    if ctype in ("message/rfc822", "message/global"):
        _enclosed(part, body)
        return
    if ctype == "text/rfc822-headers":
        inner = BytesParser(policy=policy.default).parsebytes(_payload(part), headersonly=True)
        body.embedded_ids.extend(message_ids(header_text(inner, "Message-ID")))
    if ctype in ("text/plain", "text/html") and (top or not _is_attachment(part)):
        text = _text_of(part)
        body.parts.append(html_to_text(text) if ctype == "text/html" else text)
        return
    if ctype.startswith("multipart/"):  # multipart without a usable boundary
        body.parts.append(_text_of(part))
        return
    _attachment(part, body, ctype)


def _alternative(children: list[Message], body: _Body) -> None:
    """Prefer the plain-text part; fall back to HTML; keep related images as attachments."""
    plain = [c for c in children if _content_type(c) == "text/plain"]
    chosen = next((c for c in plain if _text_of(c).strip()), None)
    if chosen is not None:
        body.parts.append(_text_of(chosen))
        rest = [c for c in children if c.is_multipart()]
        for child in rest:  # e.g. multipart/related: take its images, not its HTML again
            sub = _Body()
            _walk(child, sub)
            body.attachments.extend(sub.attachments)
        return
    for child in reversed(children):  # richest last: the first non-empty one wins
        sub = _Body()
        _walk(child, sub)
        if sub.text().strip():
            body.parts.append(sub.text())
            body.attachments.extend(sub.attachments)
            return
    for child in children:
        _walk(child, body)


def _enclosed(part: Message, body: _Body) -> None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    subject = "mensaje-adjunto"
    data = b""
    if isinstance(inner, Message):
        subject = header_text(inner, "Subject") or subject
        body.embedded_ids.extend(message_ids(header_text(inner, "Message-ID")))
        try:
            data = inner.as_bytes(policy=policy.default.clone(linesep="\r\n"))
        except Exception:
            data = str(inner).encode("utf-8", "replace")
    else:
        data = _payload(part)
    body.attachments.append(ParsedAttachment(f"{subject[:80]}.eml", "message/rfc822", data))


def _attachment(part: Message, body: _Body, ctype: str) -> None:
    try:
        name = part.get_filename()
    except Exception:
        name = None
    name = _fix_surrogates(name or "", None)
    try:
        inline = (part.get_content_disposition() or "") == "inline" or bool(part.get("Content-ID"))
    except Exception:
        inline = False
    if not name:
        ext = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"
        name = f"{'imagen' if ctype.startswith('image/') else 'adjunto'}-{len(body.attachments) + 1}{ext}"
    body.attachments.append(ParsedAttachment(name, ctype, _payload(part), inline))

"""The body of a received message: its text (HTML converted) and its attachments.

Walks the MIME tree the way people read mail: in ``multipart/alternative`` the plain
text wins and HTML is the fallback; forwarded ``message/rfc822`` parts become ``.eml``
attachments; a part that cannot be read still yields something (its raw payload);
bounces and reports give up the ids of the messages they are about.
"""

from __future__ import annotations

import mimetypes
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser

from handlers.email.charsets import content_charset, decode_bytes
from handlers.email.html_text import html_to_text
from handlers.email.mail_headers import (
    decode_words,
    fix_surrogates,
    header_text,
    message_ids,
    unfolded,
)

_EXTENSIONS = {"image/jpg": ".jpg", "image/pjpeg": ".jpg", "image/jpeg": ".jpg",
               "message/delivery-status": ".txt", "text/rfc822-headers": ".txt",
               "message/disposition-notification": ".txt", "message/feedback-report": ".txt"}
_EML_POLICY = policy.default.clone(linesep="\r\n")
_TEXT_POLICY = policy.default.clone(utf8=True)  # header blocks as ``str()`` of a part


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False


class Body:
    """What the walk collects: text parts, attachments, ids of enclosed messages."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.embedded_ids: list[str] = []

    def text(self) -> str:
        text = "\n\n".join(p.strip("\n") for p in self.parts if p.strip())
        text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x00", "")
        return re.sub(r"\n{3,}", "\n\n", text).strip()


def read_body(msg: Message) -> Body:
    body = Body()
    _walk(msg, body, top=True)
    return body


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _filename(part: Message) -> str | None:
    """The part's file name, its encoded-words decoded as ``policy.default`` does
    (``compat32`` leaves them as written: "=?utf-8?q?...?=")."""
    name = part.get_filename()
    if not name or ("=?" not in name and _ascii_header(part, "Content-Disposition")
                    and _ascii_header(part, "Content-Type")):
        return name
    probe = EmailMessage(policy=policy.default)
    try:
        for key in ("Content-Disposition", "Content-Type"):
            value = unfolded(part, key)
            if value is not None:
                probe[key] = value
        return probe.get_filename() or name
    except Exception:
        return decode_words(name)


def _ascii_header(part: Message, name: str) -> bool:
    value = unfolded(part, name)
    return value is None or value.isascii()


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
        filename = _filename(part)
    except Exception:
        return True
    return disposition == "attachment" or (bool(filename) and disposition != "inline") or \
        (bool(filename) and not _content_type(part).startswith("text/"))


def _text_of(part: Message) -> str:
    return decode_bytes(_payload(part), content_charset(part))


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
        return b"\n".join(_block(p).encode("utf-8", "replace") for p in payload)
    return b""


def _block(part: Message | str) -> str:
    """A header block of a report, folded as ``policy.default`` writes it."""
    if not isinstance(part, Message):
        return str(part)
    try:
        return part.as_string(maxheaderlen=_TEXT_POLICY.max_line_length or 0,
                              policy=_TEXT_POLICY)
    except Exception:
        return str(part)


def _walk(part: Message, body: Body, top: bool = False) -> None:
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
        inner = BytesParser(policy=policy.compat32).parsebytes(_payload(part),
                                                               headersonly=True)
        body.embedded_ids.extend(message_ids(header_text(inner, "Message-ID")))
    if ctype in ("text/plain", "text/html") and (top or not _is_attachment(part)):
        text = _text_of(part)
        body.parts.append(html_to_text(text) if ctype == "text/html" else text)
        return
    if ctype.startswith("multipart/"):  # multipart without a usable boundary
        body.parts.append(_text_of(part))
        return
    _attachment(part, body, ctype)


def _alternative(children: list[Message], body: Body) -> None:
    """Prefer the plain-text part; fall back to HTML; keep related images as attachments."""
    plain = [c for c in children if _content_type(c) == "text/plain"]
    chosen = next((c for c in plain if _text_of(c).strip()), None)
    if chosen is not None:
        body.parts.append(_text_of(chosen))
        rest = [c for c in children if c.is_multipart()]
        for child in rest:  # e.g. multipart/related: take its images, not its HTML again
            sub = Body()
            _walk(child, sub)
            body.attachments.extend(sub.attachments)
        return
    for child in reversed(children):  # richest last: the first non-empty one wins
        sub = Body()
        _walk(child, sub)
        if sub.text().strip():
            body.parts.append(sub.text())
            body.attachments.extend(sub.attachments)
            return
    for child in children:
        _walk(child, body)


def _enclosed(part: Message, body: Body) -> None:
    payload = part.get_payload()
    inner = payload[0] if isinstance(payload, list) and payload else None
    subject = "mensaje-adjunto"
    data = b""
    if isinstance(inner, Message):
        subject = header_text(inner, "Subject") or subject
        body.embedded_ids.extend(message_ids(header_text(inner, "Message-ID")))
        try:
            data = inner.as_bytes(policy=_EML_POLICY)
        except Exception:
            data = str(inner).encode("utf-8", "replace")
    else:
        data = _payload(part)
    body.attachments.append(ParsedAttachment(f"{subject[:80]}.eml", "message/rfc822", data))


def _attachment(part: Message, body: Body, ctype: str) -> None:
    try:
        name = _filename(part)
    except Exception:
        name = None
    name = fix_surrogates(name or "", None)
    try:
        inline = (part.get_content_disposition() or "") == "inline" or bool(part.get("Content-ID"))
    except Exception:
        inline = False
    if not name:
        ext = _EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype) or ".bin"
        name = f"{'imagen' if ctype.startswith('image/') else 'adjunto'}-{len(body.attachments) + 1}{ext}"
    body.attachments.append(ParsedAttachment(name, ctype, _payload(part), inline))

"""Reading the headers of a received message: ids, sender, subject, date.

Messages are parsed with the light ``compat32`` policy, which keeps each header as the
raw string it was. Most headers are plain ASCII, and for those the raw (unfolded) value
is exactly what ``policy.default`` would give, so only a header that carries
encoded-words or 8-bit bytes goes through the standard library's full header parser;
that parser, applied to every header and every part, was a fifth of an import's CPU.
(``headers.py`` is the other direction: how we write the ids of our own mail.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email import policy
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime

from handlers.email.charsets import decode_bytes

_MSGID = re.compile(r"<[^<>\s]+>")
_LINESEP = re.compile(r"\n|\r")  # how ``policy.default`` unfolds a header it reads
_SURROGATE = re.compile("[\udc80-\udcff]")  # raw 8-bit header bytes, as ``email`` keeps them
# "Name <user@example.com>" and "user@example.com" in plain ASCII: read without the
# full address parser, which gives the same (display name, address) for these.
_ADDR = r"[A-Za-z0-9_%+=-]+(?:\.[A-Za-z0-9_%+=-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_SIMPLE_ADDRESS = re.compile(rf"\s*(?:(?P<name>[A-Za-z0-9]+(?: [A-Za-z0-9]+)*)\s*"
                             rf"<(?P<a1>{_ADDR})>|<(?P<a2>{_ADDR})>|(?P<a3>{_ADDR}))\s*")
# "=?utf-8?b?...?= <user@example.com>": the usual sender of non-English mail. Read
# without the full parser when the words decode cleanly in a common charset.
_WORD = r"=\?[A-Za-z0-9_-]+\?[bBqQ]\?[^?\s]*\?="
_ENCODED_NAME = re.compile(rf"\s*(?P<words>{_WORD}(?:\s+{_WORD})*)\s*<(?P<addr>{_ADDR})>\s*")
_PLAIN_CHARSETS = {"utf-8", "iso-8859-1", "iso-8859-15", "windows-1252", "us-ascii"}
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


def header_text(msg: Message, name: str, hint: str | None = None) -> str:
    """A header as text, whatever is wrong with it (bad encoded-words, raw 8-bit)."""
    return decode_header_value(name, raw_header(msg, name), hint)


def decode_header_value(name: str, raw: str | None, hint: str | None = None) -> str:
    """``header_text`` for a value already looked up (``header_index``)."""
    if raw is None:
        return ""
    if has_surrogates(raw):  # raw 8-bit bytes: the parser would turn them into U+FFFD
        return " ".join(fix_surrogates(raw, hint).split())
    unfolded = _LINESEP.sub("", raw)
    if unfolded.isascii() and "=?" not in unfolded:
        return unfolded  # nothing to decode: what the full parser would return
    clean = _clean_words(unfolded, text=True) if unfolded.isascii() else None
    if clean is not None:
        return clean
    try:
        text = str(policy.default.header_factory(name, unfolded))
    except Exception:
        text = "\ufffd"
    if "\ufffd" in text and "\ufffd" not in raw:  # e.g. gb2312 declared, GBK used
        return decode_words(raw)
    return text


def decode_words(raw: str) -> str:
    """RFC 2047 encoded-words decoded with our charset fallbacks."""
    try:
        chunks = decode_header(raw)
    except Exception:
        return raw
    out: list[str] = []
    for chunk, charset in chunks:
        out.append(decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return " ".join("".join(out).split())


def raw_header(msg: Message, name: str, index: Mapping[str, str] | None = None) -> str | None:
    """The first header of that name as it was written (folds included); ``index``
    (``header_index``) answers without walking the headers again."""
    if index is not None:
        return index.get(name.lower())
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return str(value)
    return None


def header_index(msg: Message) -> dict[str, str]:
    """Each header's first value as written, by lower-case name: one pass over the
    headers, where a mail is asked for some twenty of them (ids, sender, subject, the
    automatic-mail signals), each lookup otherwise a walk over all of them."""
    index: dict[str, str] = {}
    for key, value in msg.raw_items():
        index.setdefault(key.lower(), str(value))
    return index


def unfolded(msg: Message, name: str, index: Mapping[str, str] | None = None) -> str | None:
    """A header's raw value on one line, as the full parser would be given it."""
    raw = raw_header(msg, name, index)
    return None if raw is None else _LINESEP.sub("", raw)


def has_surrogates(text: str) -> bool:
    return not text.isascii() and _SURROGATE.search(text) is not None


def fix_surrogates(text: str, hint: str | None) -> str:
    """Raw 8-bit header bytes arrive as surrogates: decode them like a body would be."""
    if not has_surrogates(text):
        return text
    return decode_bytes(text.encode("utf-8", "surrogateescape"), hint)


def sender(msg: Message, hint: str | None,
           index: Mapping[str, str] | None = None) -> tuple[str, str | None]:
    """The first valid address of From (else Reply-To, Sender). Addresses are parsed
    *before* encoded-words are decoded, so a display name that decodes to
    "x\r\nBcc: y@z" stays a name and never becomes an address."""
    for header in ("From", "Reply-To", "Sender"):
        for name, address in _addresses(msg, header, index):
            address = fix_surrogates(address, "utf-8").strip().strip("<>")
            local, _, domain = address.rpartition("@")
            if local and "." in domain and not re.search(r"[\s\x00-\x1f]", address):
                return one_line(fix_surrogates(name, hint))[:200], address.lower()
    return "", None


def _addresses(msg: Message, header: str,
               index: Mapping[str, str] | None) -> list[tuple[str, str]]:
    value = unfolded(msg, header, index)
    if value is None:
        return []
    simple = _SIMPLE_ADDRESS.fullmatch(value) if value.isascii() else None
    if simple is not None:
        return [(simple["name"] or "", simple["a1"] or simple["a2"] or simple["a3"])]
    encoded = _ENCODED_NAME.fullmatch(value) if value.isascii() else None
    name = _clean_words(encoded["words"]) if encoded is not None else None
    if encoded is not None and name is not None:
        return [(name, encoded["addr"])]
    try:
        parsed = policy.default.header_factory(header, value)
        found = [(a.display_name, a.addr_spec) for a in getattr(parsed, "addresses", ())]
    except Exception:
        found = []
    if found:
        return found
    raw = raw_header(msg, header, index) or ""
    return [(decode_words(name), address) for name, address in getaddresses([raw])]


def _clean_words(words: str, text: bool = False) -> str | None:
    """Encoded-words that decode strictly in a common charset to printable text (what
    the full parser would give too), else None. ``text``: plain ASCII words may stand
    between them (a subject), not only encoded ones (a display name)."""
    try:
        chunks = decode_header(words)
    except Exception:
        return None
    out = []
    for chunk, charset in chunks:
        if text and charset is None and isinstance(chunk, bytes) and chunk.isascii():
            out.append(chunk.decode("ascii"))
            continue
        if not isinstance(chunk, bytes) or (charset or "").lower() not in _PLAIN_CHARSETS:
            return None
        try:
            out.append(chunk.decode(charset or "us-ascii"))
        except UnicodeDecodeError:
            return None
    decoded = "".join(out)
    return None if re.search(r"[\x00-\x1f\x7f\\\"]", decoded) else decoded


def one_line(text: str) -> str:
    return " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", text).split())


def mail_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""Text from bytes in whatever charset a mail claims: never an exception.

Real mail declares charsets that are wrong (gb2312 that is really GBK), unknown
(``x-sjis``), misspelt (``utf8``) or missing; headers and bodies are decoded through the
same fallback chain so the customer's words always arrive, at worst with a few U+FFFD.
"""

from __future__ import annotations

import codecs
from email.message import Message

_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "ks_c_5601-1987": "cp949",
                    "x-sjis": "shift_jis", "iso-8859-8-i": "iso-8859-8",
                    "windows-874": "cp874", "ascii": "us-ascii", "utf8": "utf-8"}


def codec(charset: str | None) -> str | None:
    """Python's codec name for a declared charset, or None when there is none we know."""
    if not charset:
        return None
    name = _CHARSET_ALIASES.get(charset.strip().strip('"').lower(), charset.strip().strip('"'))
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, else UTF-8, else a lossless single-byte fallback: never raises."""
    declared = codec(charset)
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


def content_charset(part: Message) -> str | None:
    """The part's declared charset; None when its Content-Type cannot be read."""
    try:
        return part.get_content_charset()
    except Exception:
        return None


def first_charset(msg: Message) -> str | None:
    """The first non-ASCII charset any part declares: the best guess for raw 8-bit
    headers, which name no charset of their own."""
    for part in msg.walk():
        charset = content_charset(part)
        if codec(charset) not in (None, "ascii"):
            return charset
    return None

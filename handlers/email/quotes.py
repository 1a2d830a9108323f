"""Strip the quoted history from a reply, so the ticket shows only the new lines.

Mail clients quote in their own ways: ``>`` prefixes, an attribution line ("El ...
escribió:", "On ... wrote:", possibly wrapped over two lines), Outlook's
"-----Original Message-----" or a "De: ... Enviado: ..." header block, Gmail's
"---------- Forwarded message ---------" for forwards, and the "-- " signature. The full
raw message is always kept as an attachment, so cutting too much loses nothing; when
cutting would leave nothing at all, the whole text is kept instead.
"""

from __future__ import annotations

import re

_ATTRIBUTION = re.compile(
    r"^\s*(el|on|le|am|em|il|op)\b.{0,300}\b(escribi[oó]|wrote|a [ée]crit|schrieb|"
    r"escreveu|ha scritto|schreef)\s*:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*(el|on|le|am|em|il|op)\s+\S", re.IGNORECASE)
_SEPARATOR = re.compile(
    r"^\s*(-{2,}\s*(original message|mensaje original|message d'origine|"
    r"urspr[üu]ngliche nachricht|forwarded message|mensaje reenviado|"
    r"reply above this line)\s*-{2,}|_{10,})\s*$", re.IGNORECASE)
_HEADER_BLOCK = re.compile(r"^\s*\*?(de|from|von|da)\s*:\*?\s+\S", re.IGNORECASE)
_HEADER_FOLLOW = re.compile(r"^\s*\*?(enviado|sent|fecha|date|gesendet|para|to|an|asunto|"
                            r"subject|betreff|cc)\s*:", re.IGNORECASE)
_MOBILE_SIGNATURE = re.compile(r"^\s*(enviado desde mi|sent from my|enviado de mi|"
                               r"obtener outlook para)\b", re.IGNORECASE)


def strip_quotes(text: str) -> str:
    """The new part of a reply: everything above the first quote marker, trimmed."""
    lines = text.replace("\r\n", "\n").split("\n")
    cut = _first_marker(lines)
    kept = lines[:cut]
    # Trailing quoted lines interleaved with blank lines also go (bottom-posting is rare).
    while kept and (not kept[-1].strip() or kept[-1].lstrip().startswith(">")):
        kept.pop()
    result = "\n".join(line for line in kept if not line.lstrip().startswith(">")).strip()
    return result if result else text.strip()


def _first_marker(lines: list[str]) -> int:
    for i, line in enumerate(lines):
        stripped = line.strip()
        if line.rstrip() == "--":  # the "-- " signature separator
            return i
        if _SEPARATOR.match(line) or _MOBILE_SIGNATURE.match(line):
            return i
        if _ATTRIBUTION.match(line):
            return i
        if _ATTRIBUTION_START.match(line) and i + 1 < len(lines) and \
                _ATTRIBUTION.match(f"{line} {lines[i + 1]}"):
            return i  # attribution wrapped over two lines
        if _HEADER_BLOCK.match(line) and _followed_by_headers(lines, i):
            return i
        if stripped.startswith(">") and _rest_is_quoted(lines, i):
            return i
    return len(lines)


def _followed_by_headers(lines: list[str], start: int) -> bool:
    """Outlook: "De: ..." then "Enviado: ..." / "Para: ..." / "Asunto: ..." within a few lines."""
    window = [line for line in lines[start + 1:start + 6] if line.strip()]
    return sum(bool(_HEADER_FOLLOW.match(line)) for line in window) >= 2


def _rest_is_quoted(lines: list[str], start: int) -> bool:
    """A ``>`` block that runs to the end is history; one followed by new text is an
    inline answer, whose own lines are kept (the ``>`` lines are dropped later)."""
    return all(line.lstrip().startswith(">") for line in lines[start:] if line.strip())

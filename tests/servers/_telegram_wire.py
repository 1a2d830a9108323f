"""How Telegram traffic looks on the wire, for the fake: PTB's form encoding and
Telegram's HTML parse_mode.

PTB sends form fields and ``json.dumps`` every non-string value (ints, bools,
``reply_markup``), so the fake JSON-decodes all fields except the ones that are plain
strings even when they look like JSON (a text "123").

The HTML check is strict enough to catch the classic bug: customer text (``a <b> c``,
``x<y``) pasted into an HTML message without ``html.escape``; Telegram then refuses the
whole message with "can't parse entities". Like Telegram, a stray ``>`` or an unknown
``&name`` is kept as text; a stray ``<`` is an error.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

# fmt: off
#: Form fields that stay strings; every other form value is JSON.
STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "callback_query_id", "url", "secret_token", "file_id",
    "inline_message_id", "business_connection_id", "title", "description", "name",
    "short_description", "language_code", "action", "ip_address", "photo", "document",
    "video", "audio", "voice", "animation", "sticker", "emoji", "message_effect_id",
})
# fmt: on

_ALLOWED = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "span",
    "tg-spoiler",
    "a",
    "code",
    "pre",
    "blockquote",
    "tg-emoji",
}
_TAG = re.compile(
    r"<(/?)([a-z][a-z0-9-]*)((?:\s+[a-z-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))*)\s*>",
    re.IGNORECASE,
)
_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|lt|gt|amp|quot);", re.IGNORECASE)


def parse_html(text: str) -> str:
    """The plain text Telegram would store; ValueError (Telegram-like wording) if the
    markup would be rejected: unknown tag, unbalanced tags, stray ``<``."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG.match(text, pos)
            if not match:
                raise ValueError(f"Unexpected '<' (not a tag) at byte offset {pos}")
            closing, name = match.group(1) == "/", match.group(2).lower()
            if name not in _ALLOWED:
                raise ValueError(f'Unsupported start tag "{name}" at byte offset {pos}')
            if closing:
                if not stack or stack[-1] != name:
                    raise ValueError(
                        f"Unmatched end tag at byte offset {pos}, expected "
                        f'"</{stack[-1] if stack else ""}>", found "</{name}>"'
                    )
                stack.pop()
            else:
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            out.append(html.unescape(match.group(0)) if match else "&")
            pos = match.end() if match else pos + 1
        else:
            out.append(char)
            pos += 1
    if stack:
        raise ValueError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def decode_form(params: dict[str, Any]) -> dict[str, Any]:
    """Undo PTB's form encoding: JSON-decode every field not in ``STRING_FIELDS``."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and key not in STRING_FIELDS:
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out

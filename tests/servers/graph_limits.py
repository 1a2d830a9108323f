"""What the WhatsApp Cloud API refuses in a message, for the fake Graph: each limit cites
the Cloud API reference (developers.facebook.com/docs/whatsapp/cloud-api/reference/
messages), and each refusal carries the error code Graph answers with.
"""

from __future__ import annotations

import re
from typing import Any

TEXT_BODY_MAX = 4096            # text.body: "Maximum 4096 characters"
CAPTION_MAX = 1024              # media caption: "Maximum 1024 characters"
INTERACTIVE_BODY_MAX = 1024     # interactive body.text: "Maximum 1024 characters"
HEADER_FOOTER_MAX = 60          # interactive header.text / footer.text: 60 characters
BUTTONS = (1, 3)                # reply buttons: "You can have up to 3 buttons"
BUTTON_TITLE_MAX = 20           # reply.title: "Maximum length: 20 characters"
BUTTON_ID_MAX = 256             # reply.id: "Maximum length: 256 characters"
LIST_BUTTON_MAX = 20            # list action.button: 20 characters
LIST_SECTIONS_MAX = 10          # list: at most 10 sections
LIST_ROWS_MAX = 10              # list: at most 10 rows across all sections
ROW_TITLE_MAX = 24              # row title: 24 characters
ROW_ID_MAX = 200                # row id: 200 characters
ROW_DESCRIPTION_MAX = 72        # row description: 72 characters
# Template text parameters "cannot have new-line/tab characters or more than 4
# consecutive spaces" (error #132018).
_BAD_PARAMETER = re.compile(r"[\n\t]| {5,}")


class Refused(ValueError):
    """Graph's error: ``code`` and message (``(#code) ...``)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"(#{code}) {message}")
        self.code = code


def _length(value: Any, limit: int, name: str) -> None:
    if value is not None and len(str(value)) > limit:
        raise Refused(100, f"Invalid parameter: {name} is too long (maximum {limit})")


def check(kind: str, payload: dict[str, Any]) -> None:
    """The message object of type ``kind``, after its required parts were found."""
    if kind == "text":
        _length(payload.get("body"), TEXT_BODY_MAX, "text['body']")
    elif kind in ("image", "document", "video"):
        _length(payload.get("caption"), CAPTION_MAX, f"{kind}['caption']")
    elif kind == "interactive":
        _interactive(payload)
    elif kind == "template":
        _template(payload)


def _interactive(payload: dict[str, Any]) -> None:
    body = (payload.get("body") or {}).get("text")
    if not body:
        raise Refused(100, "The parameter interactive['body']['text'] is required.")
    _length(body, INTERACTIVE_BODY_MAX, "interactive['body']['text']")
    _length((payload.get("header") or {}).get("text"), HEADER_FOOTER_MAX,
            "interactive['header']['text']")
    _length((payload.get("footer") or {}).get("text"), HEADER_FOOTER_MAX,
            "interactive['footer']['text']")
    action = payload.get("action") or {}
    if payload.get("type") == "button":
        _buttons(action.get("buttons") or [])
    elif payload.get("type") == "list":
        _list(action)


def _buttons(buttons: list[dict[str, Any]]) -> None:
    low, high = BUTTONS
    if not low <= len(buttons) <= high:
        raise Refused(131009, "Parameter value is not valid: buttons must be 1 to 3")
    titles, ids = set(), set()
    for button in buttons:
        reply = button.get("reply") or {}
        title, ident = str(reply.get("title") or ""), str(reply.get("id") or "")
        if not title or not ident:
            raise Refused(100, "The parameter reply['title'] and reply['id'] are required.")
        _length(title, BUTTON_TITLE_MAX, "reply['title']")
        _length(ident, BUTTON_ID_MAX, "reply['id']")
        if title in titles or ident in ids:
            raise Refused(131009, "Parameter value is not valid: buttons must be unique")
        titles.add(title)
        ids.add(ident)


def _list(action: dict[str, Any]) -> None:
    _length(action.get("button"), LIST_BUTTON_MAX, "action['button']")
    sections = action.get("sections") or []
    if not 1 <= len(sections) <= LIST_SECTIONS_MAX:
        raise Refused(131009, "Parameter value is not valid: sections must be 1 to 10")
    rows = [row for section in sections for row in section.get("rows") or []]
    if not 1 <= len(rows) <= LIST_ROWS_MAX:
        raise Refused(131009, "Parameter value is not valid: rows must be 1 to 10")
    for row in rows:
        _length(row.get("title"), ROW_TITLE_MAX, "row['title']")
        _length(row.get("id"), ROW_ID_MAX, "row['id']")
        _length(row.get("description"), ROW_DESCRIPTION_MAX, "row['description']")


def _template(payload: dict[str, Any]) -> None:
    for component in payload.get("components") or []:
        for parameter in component.get("parameters") or []:
            if parameter.get("type") == "text":
                if _BAD_PARAMETER.search(str(parameter.get("text") or "")):
                    raise Refused(132018, "There was an issue with the parameters in your "
                                          "template. Param text cannot have new-line/tab "
                                          "characters or more than 4 consecutive spaces")
            if parameter.get("type") == "payload":
                _length(parameter.get("payload"), BUTTON_ID_MAX, "parameter['payload']")

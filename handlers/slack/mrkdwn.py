"""Slack mrkdwn escaping: customer text shows literally and pings nobody.

Slack only treats ``&``, ``<`` and ``>`` as control characters (``<!channel>``,
``<@U123>``, ``<https://x|label>``); escaping those three is what Slack documents. We
also neutralise formatting marks (``*bold*``, ``_it_``, ``~st~``, backticks) with a
zero-width space *only* where a customer's text is shown inline in our own mrkdwn, so
``*bold*`` reads as typed instead of bold.
"""

from __future__ import annotations

_ZWSP = "\u200b"
_MARKS = ("*", "_", "~", "`")


def escape(text: str | None) -> str:
    """Escape ``&``, ``<``, ``>`` (in that order: ``&`` first, or we'd double-escape)."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def literal(text: str | None) -> str:
    """Escaped, and with formatting marks defused: for customer words inside mrkdwn."""
    value = escape(text)
    for mark in _MARKS:
        value = value.replace(mark, mark + _ZWSP)
    return value


def quote(text: str | None, limit: int = 2800) -> str:
    """A customer's message as a mrkdwn block quote (Slack caps a section at 3000)."""
    value = literal(text or "")
    if len(value) > limit:
        value = value[:limit] + "…"
    return "\n".join("> " + line for line in value.splitlines()) or ">"


def mention(slack_user_id: str | None, fallback: str) -> str:
    """``<@U123>`` when we know the Slack user, else the escaped name."""
    return f"<@{slack_user_id}>" if slack_user_id else escape(fallback)


def plain(text: str | None, limit: int = 150) -> str:
    """Text for a ``plain_text`` object (Slack shows it literally; only cap the length)."""
    value = (text or "").strip() or "—"
    return value if len(value) <= limit else value[: limit - 1] + "…"

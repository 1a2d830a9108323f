"""How reminders and summaries reach people: the interface chat front ends implement.

The reminder scheduler (core) decides *what* is due and *for whom*; a ``Notifier``
(Telegram, Slack) decides only *how* to show it. Front ends offer theirs
(``bot.app.frontend.Offers``); the composition root puts them in ``Services.notifiers``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bot.process.views import MemberView, TicketView


class Audience(StrEnum):
    ASSIGNEE = "assignee"  # the ticket's assignee: Telegram DM, or a Slack mention in the thread
    CHANNEL = "channel"  # the support channel (Slack)
    ADMIN = "admin"  # the administrator (Telegram)


@dataclass(frozen=True)
class Notice:
    """One reminder line about one ticket (text is plain Spanish, unescaped)."""

    ticket: TicketView
    deadline: str  # "primera_respuesta" | "resolucion" | "ventana_whatsapp"
    level: str  # "aviso" | "vencido" | "repeticion" | "ventana"
    text: str


@dataclass(frozen=True)
class DigestAction:
    """A one-tap button under a digest (e.g. "Reintentar" on a quarantined message)."""

    label: str
    action: str  # e.g. "inbox_retry"; each front end maps it to its own button
    ref: int


@dataclass(frozen=True)
class Digest:
    """What one recipient gets at once: one notice, or many as one message."""

    audience: Audience
    member: MemberView | None  # None for the support channel
    title: str
    notices: tuple[Notice, ...] = ()
    summary: str = ""  # the morning summary, plain text
    actions: tuple[DigestAction, ...] = ()
    # A report with charts (``bot.reports.Report``): front ends that can show images post
    # it whole; any other shows ``summary``, which then holds the report's text.
    report: Any = None


class Notifier(Protocol):
    name: str

    def can_reach(self, digest: Digest) -> bool:
        """Whether this front end can show the digest to its recipient."""
        ...

    async def deliver(self, digest: Digest) -> None:
        """Post it (respecting rate limits); raise if it could not be posted."""
        ...

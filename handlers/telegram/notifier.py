"""Reminders and summaries in Telegram (``bot.process.notify.Notifier``).

Reaches the administrator (``Audience.ADMIN``) and assignees (``Audience.ASSIGNEE``)
linked to Telegram. One message per digest: the title, the summary, one line per
notice, and for each listed ticket a row of its card buttons.
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.process.notify import Audience, Digest
from bot.process.views import MemberView
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import MAX_TEXT, esc, fit, open_button, tg_len
from handlers.telegram.inbox import action_button
from handlers.telegram.report import send_report

MAX_TICKET_ROWS = 30  # 3 buttons each: under Telegram's 100 buttons per keyboard


class TelegramNotifier:
    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        self.running = False
        self.admin: MemberView | None = None  # refreshed by the front end at start-up

    def _member(self, digest: Digest) -> MemberView | None:
        if digest.audience is Audience.ADMIN:
            return digest.member or self.admin
        if digest.audience is Audience.ASSIGNEE:
            return digest.member
        return None

    def can_reach(self, digest: Digest) -> bool:
        member = self._member(digest)
        return self.running and member is not None and bool(member.telegram_user_id)

    async def deliver(self, digest: Digest) -> None:
        member = self._member(digest)
        if member is None or not member.telegram_user_id:
            raise LookupError("el destinatario no tiene Telegram vinculado")
        if digest.report is not None:
            await send_report(self.bot, member.telegram_user_id, digest.report)
            return
        await self.bot.send_message(member.telegram_user_id, digest_html(digest),
                                    reply_markup=digest_keyboard(digest))


def digest_html(digest: Digest) -> str:
    head = f"⏰ <b>{esc(digest.title)}</b>"
    lines = [head]
    if digest.summary:
        lines.append(esc(digest.summary))
    lines += [f"• <b>#{n.ticket.number}</b> {esc(n.text)}" for n in digest.notices]
    text = "\n".join(lines)
    if tg_len(text) <= MAX_TEXT:
        return text
    body, _ = fit("\n".join([digest.summary] + [f"• #{n.ticket.number} {n.text}"
                                                for n in digest.notices]),
                  MAX_TEXT - tg_len(head) - 40)
    return f"{head}\n{body}\n(la lista completa: /tickets vencidos)"


def digest_keyboard(digest: Digest) -> InlineKeyboardMarkup | None:
    """Per ticket: open its card, assign, reply (the card has the rest)."""
    rows: list[list[InlineKeyboardButton]] = []
    seen: set[int] = set()
    for notice in digest.notices:
        t = notice.ticket
        if t.number in seen or len(rows) >= MAX_TICKET_ROWS:
            continue
        seen.add(t.number)
        row = [open_button(t)]
        if t.is_open:
            row += [InlineKeyboardButton("👤 Asignar", callback_data=cb.encode(
                        cb.ASSIGN_MENU, t.number, t.version)),
                    InlineKeyboardButton("✉️ Responder", callback_data=cb.encode(
                        cb.REPLY_MENU, t.number, t.version))]
        rows.append(row)
    actions = [b for b in map(action_button, digest.actions) if b is not None]
    if actions:
        rows.append(actions)
    return InlineKeyboardMarkup(rows) if rows else None

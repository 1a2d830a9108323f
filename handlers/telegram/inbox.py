"""Telegram's side of the inbox: "Reintentar" on a quarantined message, and the
third-party line with its one tap "Es del cliente".

Buttons carry ``ir:<item>:0`` and ``ec:<interaction>:0``; like every button they are
checked by the access guard (only active team members get here).
"""

from __future__ import annotations

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bot.incoming.inbox_items import RETRY_ACTION
from bot.process.events import TicketEvent
from bot.process.notify import DigestAction
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc, fit
from handlers.telegram.common import Desk, DeskContext
from handlers.telegram.tap import Route, Tap

RETRY = "ir"  # number: inbox item id
LINK = "ec"  # number: the third-party interaction's id


def action_button(action: DigestAction) -> InlineKeyboardButton | None:
    """The button for a digest action this front end knows (None: not ours)."""
    if action.action == RETRY_ACTION:
        return InlineKeyboardButton(action.label, callback_data=cb.encode(RETRY, action.ref))
    return None


async def announce_third_party(bot: Bot, chat_ids: list[int], event: TicketEvent) -> None:
    """Not a card update: a clearly marked line, with the one tap that links the sender."""
    i = event.interaction
    assert i is not None
    body, _ = fit(i.body.strip() or "(sin texto)", 3000)
    text = (f"⚠️ <b>Mensaje de un tercero</b> en el ticket #{event.ticket.number} "
            f"({esc(i.channel.label)}): <b>{esc(i.author_name)}</b> no es el cliente. "
            f"No cambia el ticket.\n\n{esc(body)}")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton(
        "👤 Es del cliente", callback_data=cb.encode(LINK, i.id))]])
    for chat_id in chat_ids:
        await bot.send_message(chat_id, text, reply_markup=keyboard)


class InboxButtons:
    """The two taps; registered as routes of the button router."""

    def __init__(self, desk: Desk) -> None:
        self.desk = desk

    def routes(self) -> dict[str, Route]:
        return {RETRY: self.retry, LINK: self.link}

    async def retry(self, tap: Tap, context: DeskContext) -> None:
        """Reintentar: the quarantined message goes back in line and is tried now (a tap
        always comes from a team member: the router built it from the guard's member)."""
        query = tap.query
        entry = await self.desk.s.inbox.retry(tap.press.number)
        if entry is None:
            await query.answer("Ese mensaje ya no existe.", show_alert=True)
            return
        done = entry.status == "procesado"
        where = f" (ticket #{entry.ticket_number})" if entry.ticket_number else ""
        await query.answer("Procesado" + where if done else
                           f"Sigue sin procesarse: {entry.last_error[:150]}", show_alert=not done)

    async def link(self, tap: Tap, context: DeskContext) -> None:
        """Es del cliente: that address or phone speaks for the customer from now on."""
        query = tap.query
        customer, sender = await self.desk.s.customers.link_third_party(tap.actor,
                                                                        tap.press.number)
        await query.answer(f"Listo: {sender} queda vinculado a "
                           f"{customer.name or customer.email or customer.phone}.",
                           show_alert=True)

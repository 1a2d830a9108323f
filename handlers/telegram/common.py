"""What every Telegram handler shares: the services, who is asking, and card helpers.

``Desk`` is built once per front end and handed to each handler module (no globals).
``DeskContext`` carries the team member the access guard found for this update.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest
from telegram.ext import Application, CallbackContext, ExtBot

from bot.chats.chat_cards import CardRef
from bot.process.errors import DomainError
from bot.process.views import Actor, MemberView, TicketView
from bot.services import Services
from handlers.telegram.cards import (
    Markup,
    card_buttons,
    card_html,
    card_keyboard,
    join_blocks,
    keyboard_markup,
    open_button,
    popup,
    row_html,
)
from handlers.telegram.transport import DeskBot

log = logging.getLogger(__name__)
PLATFORM = "telegram"


class DeskContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any],
                                  dict[Any, Any]]):
    """PTB's context plus the team member acting (set by the access guard)."""

    def __init__(self, application: Application[Any, Any, Any, Any, Any, Any],
                 chat_id: int | None = None, user_id: int | None = None) -> None:
        super().__init__(application, chat_id=chat_id, user_id=user_id)
        self.member: MemberView | None = None

    @property
    def store(self) -> dict[Any, Any]:
        """The acting member's ``user_data`` (the guard stops every update without a user,
        so PTB always has one here)."""
        data = self.user_data
        if data is None:
            raise DomainError("Solo los miembros del equipo pueden hacer esto.")
        return data

    @property
    def actor(self) -> Actor:
        if self.member is None:  # the guard stops every update without a member
            raise DomainError("Solo los miembros del equipo pueden hacer esto.")
        return Actor.of(self.member)


class Desk:
    """The services plus the card helpers the Telegram handlers share."""

    def __init__(self, services: Services) -> None:
        self.s = services

    def now(self) -> datetime:
        return self.s.clock.now()

    async def customer_text(self, t: TicketView) -> str:
        """The customer's latest words on the ticket (what the card quotes)."""
        last = await self.s.queries.last_customer_message(t.number)
        return quoted(t, last.body if last is not None else None)

    async def member_for_chat(self, chat_id: int | str) -> MemberView | None:
        """Cards live in private chats: the chat id is the member's Telegram id."""
        try:
            return await self.s.team.by_telegram(int(chat_id))
        except ValueError:
            return None

    def render(self, t: TicketView, member: MemberView | None,
               message: str) -> tuple[str, InlineKeyboardMarkup]:
        return (card_html(t, self.now(), self.s.settings, message), card_keyboard(t, member))

    async def send_card(self, bot: Bot, chat_id: int, t: TicketView,
                        member: MemberView | None, message: str | None = None) -> Message:
        """Post the ticket's card in a chat; it becomes the card edited from then on."""
        text, markup = self.render(t, member, message if message is not None
                                   else await self.customer_text(t))
        sent = await bot.send_message(chat_id, text, reply_markup=markup)
        await self.s.cards.save(CardRef(PLATFORM, t.number, str(chat_id), str(sent.message_id)))
        return sent

    async def redraw(self, bot: Bot, chat_id: int | str, message_id: int | str,
                     t: TicketView, member: MemberView | None,
                     message: str | None = None) -> bool:
        """Edit a message into the ticket's current card; False if it no longer exists."""
        text = card_html(t, self.now(), self.s.settings, message if message is not None
                         else await self.customer_text(t))
        return await edit(bot, chat_id, message_id, text,
                          keyboard_markup(card_buttons(t, member)))


def quoted(t: TicketView, words: str | None) -> str:
    """What the card quotes: the customer's latest words, else the ticket's description."""
    return words if words is not None and words.strip() else t.description


async def edit(bot: Bot, chat_id: int | str, message_id: int | str, text: str,
               markup: InlineKeyboardMarkup | Markup | None = None) -> bool:
    """Edit a text message; "not modified" counts as done, a vanished message as False.
    ``markup`` may be the keyboard as plain JSON data already (``cards.keyboard_markup``)."""
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        chat_id = int(chat_id)  # a stored card's chat: the Bot API's number, as JSON
    try:
        if isinstance(bot, DeskBot):  # the front end's bot: the answer is not parsed
            await bot.edit_text(chat_id, int(message_id), text, markup)
        else:
            await bot.edit_message_text(
                text, chat_id=chat_id, message_id=int(message_id),
                reply_markup=InlineKeyboardMarkup.de_json(markup, bot)
                if isinstance(markup, dict) else markup)
        return True
    except BadRequest as exc:
        reason = str(exc).lower()
        if "not modified" in reason:
            return True
        if "not found" in reason or "can't be edited" in reason:
            return False
        raise


async def tell(update: object, text: str, *, alert: bool = True) -> None:
    """Answer whoever asked: the button's pop-up for a press, else a message in the chat."""
    if not isinstance(update, Update):
        return
    if update.callback_query is not None:
        await update.callback_query.answer(popup(text), show_alert=alert)
        return
    if update.effective_chat is not None:
        await update.get_bot().send_message(update.effective_chat.id, _plain(text),
                                            parse_mode=None)


def said(update: Update) -> Message:
    """The message of a command or a text (the handlers' filters let only those in)."""
    message = update.effective_message
    if message is None:
        raise DomainError("Escriba /ayuda para ver los comandos.")
    return message


def _plain(text: str) -> str:
    return text if len(text) <= 4000 else text[:4000] + "…"


async def reply_rows(update: Update, title: str, found: list[TicketView], now: datetime,
                     empty: str = "No encontré tickets.") -> None:
    """A title and one line per ticket (split over messages if long), with a button to
    open each of the first 24 under the last message."""
    blocks = [title] + ([row_html(t, now) for t in found] or [empty])
    buttons = [open_button(t) for t in found[:24]]
    markup = InlineKeyboardMarkup([buttons[i:i + 4] for i in range(0, len(buttons), 4)])
    texts = join_blocks(blocks)
    for i, text in enumerate(texts):
        last = i == len(texts) - 1
        await said(update).reply_text(
            text, reply_markup=markup if last and buttons else None)

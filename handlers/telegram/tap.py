"""A button press as the callbacks see it: checked once, then plain typed fields.

PTB's ``Update`` makes every field optional (a callback query, its message, the chat,
the user...). The router checks them once per press and hands each callback a ``Tap``:
the query, the message the button is on, its chat, the member the access guard found
and the decoded payload. A callback then never re-checks an optional field, and a press
that lacks one (a button on a message too old to be sent to us, a payload we did not
make) is answered in one place.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import CallbackQuery, Message, Update

from bot.process.views import Actor, MemberView
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import popup
from handlers.telegram.common import DeskContext, edit

UNAVAILABLE = "Este botón ya no está disponible. Escriba /ayuda."
R = TypeVar("R")


@dataclass(frozen=True)
class Tap:
    """One press of one of our buttons, by a team member, on a message we can edit."""

    query: CallbackQuery
    message: Message  # the message the button is on
    chat_id: int
    member: MemberView
    press: cb.Press

    @property
    def actor(self) -> Actor:
        return Actor.of(self.member)

    async def answer(self, text: str | None = None, *, alert: bool = False) -> None:
        """The press's pop-up (or just the end of the button's spinner)."""
        await self.query.answer(popup(text) if text else None, show_alert=alert)

    async def done(self, text: str) -> None:
        """Answer the press and turn the menu it came from into a short confirmation."""
        await self.query.answer(popup(text))
        await edit(self.query.get_bot(), self.chat_id, self.message.message_id,
                   html.escape(text, quote=False))

    @classmethod
    async def of(cls, update: Update, context: DeskContext) -> Tap | None:
        """The tap, or None after answering a press that carries none of ours."""
        query = update.callback_query
        if query is None:
            return None
        press = cb.decode(query.data)
        message = query.message
        if press is None or not isinstance(message, Message) or context.member is None:
            await query.answer(UNAVAILABLE, show_alert=True)
            return None
        return cls(query, message, message.chat.id, context.member, press)


Route = Callable[[Tap, DeskContext], Awaitable[Any]]


def tapped(callback: Callable[[Tap, DeskContext], Awaitable[R]],
           ) -> Callable[[Update, DeskContext], Coroutine[Any, Any, R | None]]:
    """A PTB callback for a button handler of its own (a conversation's entry point or
    step): the tap is built here; a press without one (answered already) returns None,
    which leaves a conversation where it was."""

    async def handle(update: Update, context: DeskContext) -> R | None:
        tap = await Tap.of(update, context)
        if tap is None:
            return None
        return await callback(tap, context)

    handle.__doc__ = callback.__doc__
    return handle

"""Ticket events -> cards in Telegram.

A new ticket posts the card (with what the customer sent: photos as photos, other files
as documents, too-large ones named with their size) to the administrator and to the
assignee, when they are linked to Telegram. A further customer message on a ticket that
already has a card in that chat edits the card in place and posts one short message
that replies to it (the customer's words and a "Responder" button), so a conversation
is one card and its replies, not a fresh full card per message. Any other change edits
every posted card in place. Events are handled one at a time by a worker
task, so a slow or rate-limited Telegram never holds up the service that published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, ReplyParameters

from bot.process.domain import DeliveryStatus, InteractionKind
from bot.process.events import EventKind, TicketEvent
from bot.process.views import Actor, AttachmentView, InteractionView, MemberView, TicketView
from bot.tickets.lifecycle import Action, allowed_actions
from handlers.telegram import callbacks as cb
from handlers.telegram.cards import esc, fit
from handlers.telegram.common import PLATFORM, Desk, quoted
from handlers.telegram.files import FileTarget, send_files
from handlers.telegram.inbox import announce_third_party

log = logging.getLogger(__name__)

# The short "the customer wrote" message quotes this much; the card and /ticket N have all.
NOTICE_CHARS = 1000
_NOTICE_HEAD = re.compile(r"^💬 #(\d+) · ")


class CardEvents:
    """Subscribes to ``services.bus``; posts and edits ticket cards."""

    def __init__(self, desk: Desk, bot: Bot) -> None:
        self.desk = desk
        self.s = desk.s
        self.bot = bot
        self.queue: asyncio.Queue[TicketEvent] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle --------------------------------------------------------------------
    async def publish(self, event: TicketEvent) -> None:
        """The bus subscriber: queue and return at once (ignored while stopped)."""
        if self._task is not None:
            self.queue.put_nowait(event)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="telegram-cards")

    async def drain(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until every queued event was handled (stop and tests)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.queue.join(), timeout)

    async def stop(self) -> None:
        if self._task is None:
            return
        await self.drain()
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        while True:
            event = await self.queue.get()
            try:
                await self.handle(event)
            except Exception:  # one failed card must not stop the others
                log.exception("telegram card update failed ticket=#%s kind=%s",
                              event.ticket.number, event.kind)
            finally:
                self.queue.task_done()

    # --- handling -------------------------------------------------------------------
    async def handle(self, event: TicketEvent) -> None:
        view = event.ticket
        if event.interaction and event.interaction.kind is InteractionKind.THIRD_PARTY:
            chats = [m.telegram_user_id for m in await self.recipients(view)
                     if m.telegram_user_id is not None]
            await announce_third_party(self.bot, chats, event)
            return
        if event.kind in (EventKind.CREATED, EventKind.CUSTOMER_MESSAGE):
            files = event.interaction.chat_attachments if event.interaction else ()
            message = event.interaction.body.strip() if event.interaction else view.description
            if not message:
                message = "(el cliente envió solo adjuntos)" if files else view.description
            if event.kind is EventKind.CUSTOMER_MESSAGE:
                await self.customer_wrote(view, event.interaction, message, files)
                return
            for member in await self.recipients(view):
                chat_id = member.telegram_user_id
                assert chat_id is not None
                card = await self.desk.send_card(self.bot, chat_id, view, member, message)
                await self.send_files(chat_id, card.message_id, view, files)
            return
        if event.kind is EventKind.DELIVERY:  # the card shows no delivery status
            if event.interaction and event.interaction.delivery_status is DeliveryStatus.FAILED:
                await self.warn_failed(view, event.interaction.channel.label)
            return
        await self.refresh(view, new_assignee=any(c[0] == "Responsable" for c in event.changes),
                           actor=event.actor)

    async def customer_wrote(self, view: TicketView, interaction: InteractionView | None,
                             message: str, files: tuple[AttachmentView, ...]) -> None:
        """A further customer message: the card edited in place plus one short reply to
        it where a card exists; a full card only in a chat that has none (or lost it)."""
        refs = {ref.chat_id: ref for ref in await self.s.cards.for_ticket(PLATFORM, view.number)}
        for member in await self.recipients(view):
            chat_id = member.telegram_user_id
            assert chat_id is not None
            ref = refs.pop(str(chat_id), None)
            if ref is None or not await self.desk.redraw(self.bot, ref.chat_id, ref.message_id,
                                                         view, member, message):
                card = await self.desk.send_card(self.bot, chat_id, view, member, message)
                await self.send_files(chat_id, card.message_id, view, files)
                continue
            text, markup = notice(view, interaction, message, member)
            await self.bot.send_message(
                chat_id, text, reply_markup=markup,
                reply_parameters=ReplyParameters(int(ref.message_id),
                                                 allow_sending_without_reply=True))
            await self.send_files(chat_id, int(ref.message_id), view, files)
        for ref in refs.values():  # e.g. a former assignee's card: kept current, no ping
            former = await self.desk.member_for_chat(ref.chat_id)
            await self.desk.redraw(self.bot, ref.chat_id, ref.message_id, view, former, message)

    async def warn_failed(self, view: TicketView, channel: str) -> None:
        """A message to the customer could not be delivered for good: say so on each card."""
        for ref in await self.s.cards.for_ticket(PLATFORM, view.number):
            await self.bot.send_message(
                int(ref.chat_id), f"⚠️ No se pudo entregar al cliente el último mensaje del "
                f"ticket #{view.number} ({esc(channel)}). Revise sus datos de contacto o "
                "responda por otro canal.",
                reply_parameters=ReplyParameters(int(ref.message_id),
                                                 allow_sending_without_reply=True))

    async def recipients(self, view: TicketView) -> list[MemberView]:
        """The administrator and the assignee, when linked to Telegram."""
        found: list[MemberView] = []
        admin = await self.s.team.admin()
        for member in (admin, view.assignee):
            if member is not None and member.telegram_user_id and member.active and \
                    all(m.id != member.id for m in found):
                found.append(member)
        return found

    async def refresh(self, view: TicketView, new_assignee: bool = False,
                      actor: Actor | None = None) -> None:
        """Edit every posted card of the ticket; a new assignee gets a card of their own,
        and so do the recipients of a ticket no Telegram chat shows yet (its first card
        was never posted: Telegram was down, or another instance died before posting).

        The card in the chat of the member who acted is drawn for the member the access
        guard found for that action (no second look-up on the tap path)."""
        needs = await self.s.cards.for_redraw(PLATFORM, view.number)  # one statement
        refs, message = needs.refs, quoted(view, needs.words)
        new_assignee = new_assignee or not refs
        acting = actor.member if actor is not None else None
        for ref in refs:
            reader = acting if acting is not None and \
                str(acting.telegram_user_id) == ref.chat_id else \
                await self.desk.member_for_chat(ref.chat_id)
            if not await self.desk.redraw(self.bot, ref.chat_id, ref.message_id, view, reader,
                                          message):
                # the card was deleted in the chat: post it again (it replaces the old one)
                await self.desk.send_card(self.bot, int(ref.chat_id), view, reader, message)
        if new_assignee:
            have = {ref.chat_id for ref in refs}
            for member in await self.recipients(view):
                chat_id = member.telegram_user_id
                if chat_id is not None and str(chat_id) not in have:
                    await self.desk.send_card(self.bot, chat_id, view, member, message)

    # --- attachments ------------------------------------------------------------------
    async def send_files(self, chat_id: int, card_id: int, view: TicketView,
                         files: tuple[AttachmentView, ...]) -> None:
        """Each file as a reply to the card (see ``files``: one refusal stops nothing)."""
        await send_files(self.bot, self.s.attachments, FileTarget(chat_id, card_id), view,
                         files)


def notice(view: TicketView, interaction: InteractionView | None, message: str,
           member: MemberView) -> tuple[str, InlineKeyboardMarkup | None]:
    """The short reply to the card: who wrote, on which channel, their words (escaped and
    cut, with a pointer to the full text) and "Responder" when the member may reply."""
    who = interaction.author_name if interaction and interaction.author_name \
        else view.customer.display
    channel = interaction.channel.label if interaction else view.channel.label
    head = f"💬 <b>#{view.number}</b> · {esc(who)} ({esc(channel)}):\n"
    body, cut = fit(message, NOTICE_CHARS)
    if cut:
        body += esc(f"\n(texto completo: /ticket {view.number})")
    markup = None
    if Action.REPLY in allowed_actions(view, Actor.of(member)):
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(
            "✉️ Responder", callback_data=cb.encode(cb.REPLY_MENU, view.number, view.version))]])
    return head + body, markup


def notice_ticket(message: Message) -> int | None:
    """The ticket of one of our short "the customer wrote" messages (a reply to it is a
    note on that ticket, like a reply to the card), or None for any other message."""
    if message.from_user is None or not message.from_user.is_bot:
        return None
    match = _NOTICE_HEAD.match(message.text or "")
    return int(match.group(1)) if match else None

"""Ticket events -> cards in Telegram.

A new ticket or a new customer message posts the card (with what the customer sent:
photos as photos, other files as documents, too-large ones named with their size) to
the administrator and to the assignee, when they are linked to Telegram. Any other
change edits every posted card in place. Events are handled one at a time by a worker
task, so a slow or rate-limited Telegram never holds up the service that published.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, ReplyParameters

from bot.cards import human_size
from bot.domain import DeliveryStatus, InteractionKind
from bot.events import EventKind, TicketEvent
from bot.views import AttachmentView, MemberView, TicketView
from handlers.telegram.cards import MAX_CAPTION, esc, fit
from handlers.telegram.common import PLATFORM, Desk
from handlers.telegram.inbox import announce_third_party

log = logging.getLogger(__name__)

# Bot API limits for uploads (a self-hosted Bot API server allows more; we stay safe).
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp"})


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
            chats = [m.telegram_user_id for m in await self.recipients(view)]
            await announce_third_party(self.bot, chats, event)  # type: ignore[arg-type]
            return
        if event.kind in (EventKind.CREATED, EventKind.CUSTOMER_MESSAGE):
            files = event.interaction.chat_attachments if event.interaction else ()
            message = event.interaction.body.strip() if event.interaction else view.description
            if not message:
                message = "(el cliente envió solo adjuntos)" if files else view.description
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
        await self.refresh(view, new_assignee=any(c[0] == "Responsable" for c in event.changes))

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

    async def refresh(self, view: TicketView, new_assignee: bool = False) -> None:
        """Edit every posted card of the ticket; a new assignee gets a card of their own."""
        refs = await self.s.cards.for_ticket(PLATFORM, view.number)
        message = await self.desk.customer_text(view)
        for ref in refs:
            member = await self.desk.member_for_chat(ref.chat_id)
            if not await self.desk.redraw(self.bot, ref.chat_id, ref.message_id, view, member,
                                          message):
                # the card was deleted in the chat: post it again (it replaces the old one)
                await self.desk.send_card(self.bot, int(ref.chat_id), view, member, message)
        if new_assignee:
            have = {ref.chat_id for ref in refs}
            for member in await self.recipients(view):
                if str(member.telegram_user_id) not in have:
                    await self.desk.send_card(self.bot, member.telegram_user_id,  # type: ignore[arg-type]
                                              view, member, message)

    # --- attachments ------------------------------------------------------------------
    async def send_files(self, chat_id: int, card_id: int, view: TicketView,
                         files: tuple[AttachmentView, ...]) -> None:
        """Each file as a reply to the card: photos as photos, the rest as documents."""
        unsent: list[str] = []
        reply = ReplyParameters(card_id, allow_sending_without_reply=True)
        for a in files:
            kind = _kind(a)
            if kind is None:
                why = a.note or "demasiado grande para Telegram"
                unsent.append(f"📎 {a.filename} ({human_size(a.size)}): {why}")
                continue
            try:
                data = await asyncio.to_thread(self.s.attachments.read, a.stored_path)  # type: ignore[arg-type]
            except (OSError, ValueError):
                log.warning("attachment not readable ticket=#%s file=%s", view.number, a.id)
                unsent.append(f"📎 {a.filename} ({human_size(a.size)}): el archivo no está "
                              "disponible")
                continue
            caption, _ = fit(f"📎 {a.filename} · ticket #{view.number}", MAX_CAPTION)
            if kind == "photo":
                await self.bot.send_photo(chat_id, data, caption=caption, filename=a.filename,
                                          reply_parameters=reply)
            else:
                await self.bot.send_document(chat_id, data, caption=caption,
                                             filename=a.filename, reply_parameters=reply)
        if unsent:
            text, _ = fit("\n".join(unsent), 4000)
            await self.bot.send_message(chat_id, f"Adjuntos del ticket #{view.number}:\n{text}",
                                        reply_parameters=reply)


def _kind(a: AttachmentView) -> str | None:
    """"photo", "document", or None when Telegram cannot take it (or it was not kept)."""
    if not a.stored_path:
        return None
    if a.content_type.lower() in PHOTO_TYPES and a.size <= MAX_PHOTO_BYTES:
        return "photo"
    if a.size <= MAX_DOCUMENT_BYTES:
        return "document"
    return None


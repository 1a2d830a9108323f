"""Ticket events -> the support channel: the card, updated in place, and its thread.

Subscribed to ``services.bus``. The subscriber only queues: a worker posts in order,
so a Slack outage or a 429 never slows the service that published (a Telegram click,
a WhatsApp webhook). The card always shows the whole current state, so a lost post is
repaired by the next change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.chats.cards import human_size
from bot.chats.chat_cards import CardRef
from bot.outgoing.fitting import cut
from bot.process.domain import DeliveryStatus, Estado, InteractionKind
from bot.process.events import EventKind, TicketEvent
from bot.process.template_names import TEMPLATE_TITLES, TemplateName
from bot.process.views import AttachmentView, InteractionView, TicketView
from handlers.slack import home
from handlers.slack.blocks import conformity_buttons, fallback_text, ticket_blocks
from handlers.slack.context import PLATFORM, SlackContext
from handlers.slack.inbox import link_button
from handlers.slack.mrkdwn import escape, literal, mention, plain

log = logging.getLogger(__name__)


class CardPoster:
    """Posts and redraws cards and thread entries; owns the two queues.

    Cards and threads run on separate workers: a card edit (``chat.update``, Tier 3) is
    not paced and never waits behind thread posts, which ``chat.postMessage`` paces at
    ~1/s per channel. Each worker keeps its own order, and an entry reaches the thread
    queue only once its card exists, so a thread never precedes its card.
    """

    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx
        self._queue: asyncio.Queue[TicketEvent] = asyncio.Queue()
        self._threads: asyncio.Queue[tuple[CardRef, TicketEvent]] = asyncio.Queue()
        self._workers: list[asyncio.Task[None]] = []

    # --- lifecycle ------------------------------------------------------------------
    async def on_event(self, event: TicketEvent) -> None:
        """The bus subscriber: queue when the workers run, else handle at once."""
        if not self._workers:
            await self._handle_safely(event)
        else:
            self._queue.put_nowait(event)

    def start(self) -> None:
        self._workers = [asyncio.create_task(self._run(), name="slack-cards"),
                         asyncio.create_task(self._run_threads(), name="slack-threads")]

    async def stop(self) -> None:
        await self.drain()
        workers, self._workers = self._workers, []
        for worker in workers:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def drain(self) -> None:
        """Wait until every queued event is shown, card and thread (tests; a clean stop)."""
        await self.drain_cards()
        if self._workers:
            await self._threads.join()

    async def drain_cards(self) -> None:
        """Wait until every queued card post or edit is done (thread posts may still wait)."""
        if self._workers:
            await self._queue.join()

    async def _run(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._handle_safely(event)
            finally:
                self._queue.task_done()

    async def _run_threads(self) -> None:
        while True:
            ref, event = await self._threads.get()
            try:
                await self._thread_safely(ref, event)
            finally:
                self._threads.task_done()

    async def _handle_safely(self, event: TicketEvent) -> None:
        try:
            await self.handle(event)
        except Exception:  # a Slack failure must not stop the next events
            log.exception("slack card update failed ticket=#%s kind=%s",
                          event.ticket.number, event.kind)

    async def _thread_safely(self, ref: CardRef, event: TicketEvent) -> None:
        try:
            if event.kind is EventKind.CREATED:
                if event.interaction is not None:
                    await self.upload(ref, event.interaction)
            else:
                await self.post_history(ref, event)
        except Exception:  # a failed thread post must not stop the next ones
            log.exception("slack thread post failed ticket=#%s kind=%s",
                          event.ticket.number, event.kind)

    async def _to_thread(self, ref: CardRef, event: TicketEvent) -> None:
        """Queue the thread part (or do it now when the workers are not running)."""
        if self._workers:
            self._threads.put_nowait((ref, event))
        else:
            await self._thread_safely(ref, event)

    # --- cards ----------------------------------------------------------------------
    async def handle(self, event: TicketEvent) -> None:
        ticket, interaction = event.ticket, event.interaction
        message = interaction.body if interaction and \
            interaction.kind is InteractionKind.INBOUND else ""
        ref = await self.ctx.services.cards.get(PLATFORM, ticket.number, self.ctx.channel)
        if ref is None:
            ref = await self.post_card(ticket, message)
            if event.kind is EventKind.CREATED and interaction is not None:
                await self._to_thread(ref, event)  # the customer's files
                await home.refresh_all(self.ctx)
                return
        else:
            await self.redraw(ticket, ref, message)
            if event.kind is EventKind.CREATED:  # delivered twice: the card is enough
                return
        await self._to_thread(ref, event)
        await home.refresh_all(self.ctx)

    async def post_card(self, ticket: TicketView, message: str = "") -> CardRef:
        data = await self.ctx.post(self.ctx.channel, text=fallback_text(ticket),
                                   blocks=self._blocks(ticket, message))
        # ATIENDE_SLACK_CHANNEL is the channel *ID* (what events and clicks carry).
        ts = str(data["ts"])
        return await self.ctx.services.cards.save(
            CardRef(PLATFORM, ticket.number, self.ctx.channel, ts, thread_id=ts))

    async def redraw(self, ticket: TicketView, ref: CardRef | None = None,
                     message: str = "") -> None:
        """chat.update the card with the current state (after a change, or a stale click).

        Not paced: ``chat.update`` is a Tier 3 method (50+/min), not the 1/s per channel
        of ``chat.postMessage``; a 429 is retried by the client after Retry-After."""
        ref = ref or await self.ctx.services.cards.get(PLATFORM, ticket.number,
                                                       self.ctx.channel)
        if ref is None:
            await self.post_card(ticket, message)
            return
        await self.ctx.client.chat_update(channel=ref.chat_id, ts=ref.message_id,
                                          text=fallback_text(ticket),
                                          blocks=self._blocks(ticket, message))

    def _blocks(self, ticket: TicketView, message: str) -> list[dict[str, Any]]:
        return ticket_blocks(ticket, self.ctx.services.clock.now(), self.ctx.services.settings,
                             message)

    # --- the thread: the ticket's history ------------------------------------------------
    async def post_history(self, ref: CardRef, event: TicketEvent) -> None:
        entry = history_entry(event, self.ctx.quiet_notes)
        if entry is None:
            return
        header, body = entry
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": header[:2900]}}]
        if body:  # plain_text: customer words never become mentions or formatting
            blocks.append({"type": "section",
                           "text": {"type": "plain_text", "text": plain(body, 2900)}})
        if event.interaction is not None and \
                event.interaction.kind is InteractionKind.THIRD_PARTY:
            blocks.append(link_button(event.interaction))
        elif (event.kind is EventKind.CUSTOMER_MESSAGE
                and event.ticket.estado is Estado.PENDING_CONFORMITY):
            blocks.append(conformity_buttons(event.ticket))
        text = header + (("\n" + literal(body[:500])) if body else "")
        await self.ctx.post(ref.chat_id, thread_ts=ref.thread_id or ref.message_id,
                            text=text[:3000], blocks=blocks)
        if event.interaction is not None:
            await self.upload(ref, event.interaction)

    async def upload(self, ref: CardRef, interaction: InteractionView) -> None:
        """The customer's files, into the card's thread (files_upload_v2's three steps),
        each on its own: one Slack refuses is named in the thread and stops nothing."""
        unsent: list[str] = []
        for a in interaction.chat_attachments:
            why = await self._upload_one(ref, interaction.ticket_number, a)
            if why:
                unsent.append(f"📎 {literal(a.filename)} ({human_size(a.size)}): {why}")
        if unsent:
            await self.ctx.post(ref.chat_id, thread_ts=ref.thread_id or ref.message_id,
                                text=cut("\n".join(unsent), 2900))

    async def _upload_one(self, ref: CardRef, number: int, a: AttachmentView) -> str:
        """Upload one file; returns why it was not uploaded ("" when it was)."""
        if not a.stored_path:
            return ""  # the customer message's line already says it was not kept
        if a.size == 0:
            return f"archivo vacío, ver /ticket {number}"
        try:
            data = self.ctx.services.attachments.read(a.stored_path)
        except (OSError, ValueError):
            log.warning("attachment unreadable ticket=#%s file=%s", number, a.filename)
            return "el archivo no está disponible"
        await self.ctx.pacer.wait(ref.chat_id)
        try:
            await self.ctx.client.files_upload_v2(
                channel=ref.chat_id, thread_ts=ref.thread_id or ref.message_id, file=data,
                filename=a.filename, title=a.filename, request_file_info=False)
        except SlackApiError as exc:
            log.warning("attachment not uploaded ticket=#%s file=%s: %s", number, a.filename,
                        exc.response.get("error"))
            return f"Slack no lo aceptó, véalo con /ticket {number}"
        return ""


def history_entry(event: TicketEvent,
                  quiet_notes: set[tuple[int, str]]) -> tuple[str, str] | None:
    """(mrkdwn header, plain body) of a thread post, or None for nothing to say."""
    i, who = event.interaction, escape(event.actor.name)
    lines = [_change_line(event.ticket, change) for change in event.changes]
    changes = "\n".join(lines)
    if event.kind is EventKind.CUSTOMER_MESSAGE and i is not None:
        files = f" · 📎 {len(i.chat_attachments)}" if i.chat_attachments else ""
        head = f"📩 *{literal(i.author_name)}* escribió ({i.channel.label}){files}:"
        if i.kind is InteractionKind.THIRD_PARTY:
            head = (f"⚠️ *{literal(i.author_name)}* escribió ({i.channel.label}){files}, "
                    "pero no es el cliente: no cambia el ticket.")
        return _join(head, changes), i.body
    if event.kind is EventKind.OUTBOUND and i is not None:
        title = TEMPLATE_TITLES.get(TemplateName(i.template)) if i.template in \
            {t.value for t in TemplateName} else None
        how = f" con «{escape(title)}»" if title else ""
        why = " (ventana de WhatsApp cerrada: plantilla aprobada)" if \
            i.meta.get("window_closed") else ""
        head = f"📤 *{who}* respondió al cliente{how} por {i.channel.label}{why}:"
        return _join(head, changes), i.body
    if event.kind is EventKind.NOTE and i is not None:
        if (event.ticket.number, i.body) in quiet_notes:
            quiet_notes.discard((event.ticket.number, i.body))
            return None
        return f"📝 Nota interna de *{who}*:", i.body
    if event.kind is EventKind.DELIVERY and i is not None:
        if i.delivery_status is DeliveryStatus.FAILED:
            return f"⚠️ No se pudo entregar el mensaje al cliente ({i.channel.label}).", ""
        return None
    if lines:
        return f"✏️ *{who}*:\n{changes}", ""
    return None


def _join(head: str, changes: str) -> str:
    return f"{head}\n{changes}" if changes else head


def _change_line(ticket: TicketView, change: tuple[str, str, str]) -> str:
    label, old, new = change
    line = f"• {escape(label)}: {literal(old)} → {literal(new)}"
    if label == "Responsable" and ticket.assignee is not None:
        line += f" ({mention(ticket.assignee.slack_user_id, ticket.assignee.name)})"
    return line

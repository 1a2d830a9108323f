"""Customer messages in: every message becomes a ticket, or joins the one it belongs to.

Channel adapters (email, WhatsApp) translate what arrives into ``IncomingMessage`` and
call ``IntakeService.receive``. De-duplication is by the channel's own message id, so a
redelivered webhook or a re-imported email changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.attachments import NewAttachment
from bot.clock import Clock
from bot.csat import take_answer as take_csat_answer
from bot.customers import CustomerService
from bot.domain import Canal, Estado, InteractionKind
from bot.events import EventBus, EventKind, TicketEvent
from bot.presenters import TICKET_RELATED, interaction_view, ticket_view
from bot.settings import Settings
from bot.templates import TemplateName
from bot.tickets import TicketService, _attach
from bot.views import Actor, InteractionView, TicketView
from db.models import Attachment, Interaction, MessageRef, Ticket

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IncomingMessage:
    channel: Canal
    body: str
    external_id: str | None
    email: str | None = None
    phone: str | None = None
    name: str = ""
    subject: str = ""
    ticket_number: int | None = None  # e.g. from a "[#123]" subject tag
    refs: tuple[str, ...] = ()  # other message ids this one refers to (threading)
    join_open: bool = False  # join the customer's open ticket on this channel
    automatic: bool = False  # auto-reply, bounce: recorded quietly, never a new ticket
    attachments: Sequence[NewAttachment] = ()
    meta: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class IntakeResult:
    ticket: TicketView | None
    interaction: InteractionView | None
    created: bool = False
    duplicate: bool = False
    reopened: bool = False
    dropped: bool = False


class IntakeService:
    def __init__(self, settings: Settings, clock: Clock, bus: EventBus,
                 customers: CustomerService, tickets: TicketService) -> None:
        self._settings = settings
        self._clock = clock
        self._bus = bus
        self._customers = customers
        self._tickets = tickets

    async def find_ticket_by_refs(self, refs: Sequence[str]) -> int | None:
        if not refs:
            return None
        row = await MessageRef.filter(ref__in=list(refs)).order_by("id").first()
        if row is not None:
            return row.ticket_id  # type: ignore[attr-defined]
        ours = await Interaction.filter(channel=Canal.EMAIL, external_id__in=list(refs)).first()
        return ours.ticket_id if ours else None  # type: ignore[attr-defined]

    async def receive(self, msg: IncomingMessage) -> IntakeResult:
        duplicate = await self._duplicate(msg)
        if duplicate is not None:
            return duplicate
        target = await self._target(msg)
        if (rated := await take_csat_answer(self, msg, target)) is not None:
            return rated  # a 1-5 satisfaction answer: recorded, never reopens (bot/csat.py)
        if msg.automatic:
            return await self._record_automatic(msg, target)
        customer = None
        if msg.email or msg.phone:
            customer = await self._customers.find_or_create_model(
                email=msg.email, phone=msg.phone, name=msg.name)
        if target is not None and Estado(target.estado) is Estado.RESOLVED and \
                self._within_reopen_window(target):
            await self._tickets.reopen(Actor.system(msg.channel.label), target.id,
                                       reason="el cliente volvió a escribir")
            result = await self._append(msg, target.id)
            return IntakeResult(result.ticket, result.interaction, reopened=True)
        if target is not None and Estado(target.estado).is_open:
            return await self._append(msg, target.id)
        if customer is None:
            log.warning("message without a sender dropped channel=%s id=%s", msg.channel,
                        msg.external_id)
            return IntakeResult(None, None, dropped=True)
        return await self._open(msg, customer.id, previous=target.id if target else None)

    async def _duplicate(self, msg: IncomingMessage) -> IntakeResult | None:
        if not msg.external_id:
            return None
        existing = await Interaction.get_or_none(channel=msg.channel, external_id=msg.external_id)
        if existing is None:
            return None
        log.info("duplicate delivery ignored channel=%s ticket=#%s", msg.channel.value,
                 existing.ticket_id)  # type: ignore[attr-defined]
        ticket = await Ticket.get(id=existing.ticket_id).select_related(*TICKET_RELATED)  # type: ignore[attr-defined]
        return IntakeResult(ticket_view(ticket), interaction_view(existing), duplicate=True)

    async def _target(self, msg: IncomingMessage) -> Ticket | None:
        number = msg.ticket_number
        if number is None:
            number = await self.find_ticket_by_refs(msg.refs)
        if number is None and msg.join_open and (msg.email or msg.phone):
            number = await self._open_ticket_of(msg)
        if number is None:
            return None
        return await Ticket.get_or_none(id=number)

    async def _open_ticket_of(self, msg: IncomingMessage) -> int | None:
        from bot.customers import normalise_email, normalise_phone

        query = Ticket.filter(channel=msg.channel, estado__not_in=[Estado.DISCARDED])
        if msg.phone:
            query = query.filter(customer__phone=normalise_phone(msg.phone))
        else:
            query = query.filter(customer__email=normalise_email(msg.email or ""))
        latest = await query.order_by("-id").first()
        if latest is None:
            return None
        if Estado(latest.estado).is_open or self._within_reopen_window(latest):
            return latest.id
        return None

    def _within_reopen_window(self, ticket: Ticket) -> bool:
        if ticket.resolved_at is None:
            return False
        window = timedelta(days=self._settings.reopen_days)
        return self._clock.now() - ticket.resolved_at <= window

    async def _record_automatic(self, msg: IncomingMessage, target: Ticket | None) -> IntakeResult:
        """Auto-replies and bounces: a quiet line on their ticket, never a new one."""
        if target is None:
            log.info("automatic message dropped channel=%s id=%s (no ticket)", msg.channel.value,
                     msg.external_id)
            return IntakeResult(None, None, dropped=True)
        try:
            async with in_transaction():
                row = await Interaction.create(
                    ticket=target, kind=InteractionKind.INBOUND, channel=msg.channel,
                    author_name=msg.name or msg.email or "Respuesta automática", body=msg.body,
                    external_id=msg.external_id, automatic=True, meta=dict(msg.meta),
                    created_at=self._clock.now())
                await _attach(row, msg.attachments)
                await self._remember_refs(msg, target.id)
        except IntegrityError:
            return await self._duplicate(msg) or IntakeResult(None, None, duplicate=True)
        log.info("automatic message recorded ticket=#%s channel=%s", target.id, msg.channel.value)
        ticket = await Ticket.get(id=target.id).select_related(*TICKET_RELATED)
        return IntakeResult(ticket_view(ticket), interaction_view(row))

    async def _append(self, msg: IncomingMessage, number: int) -> IntakeResult:
        """The customer wrote on an open ticket: record it; a waiting ticket resumes."""
        changes: list[tuple[str, str, str]] = []
        actor = Actor.system(msg.name or msg.channel.label)
        try:
            async with in_transaction():
                ticket = await self._tickets._locked(number)
                row = await Interaction.create(
                    ticket=ticket, kind=InteractionKind.INBOUND, channel=msg.channel,
                    author_name=msg.name or msg.email or msg.phone or "Cliente", body=msg.body,
                    external_id=msg.external_id, meta=dict(msg.meta),
                    created_at=self._clock.now())
                await _attach(row, msg.attachments)
                await self._remember_refs(msg, number)
                ticket.last_customer_message_at = self._clock.now()
                if ticket.estado == Estado.WAITING_CUSTOMER:
                    await self._tickets._set_estado(ticket, actor, Estado.IN_PROGRESS, changes,
                                                    reason="el cliente respondió")
                await self._tickets._save(ticket)
        except IntegrityError:
            return await self._duplicate(msg) or IntakeResult(None, None, duplicate=True)
        log.info("customer message ticket=#%s channel=%s", number, msg.channel.value)
        ticket = await Ticket.get(id=number).select_related(*TICKET_RELATED)
        view = ticket_view(ticket)
        files = await Attachment.filter(interaction_id=row.id) if msg.attachments else []
        iview = interaction_view(row, files)
        await self._bus.publish(TicketEvent(EventKind.CUSTOMER_MESSAGE, view, actor, iview,
                                            tuple(changes)))
        return IntakeResult(view, iview)

    async def _open(self, msg: IncomingMessage, customer_id: int,
                    previous: int | None) -> IntakeResult:
        actor = Actor.system(msg.channel.label)
        try:
            view = await self._tickets.open(
                actor, customer_id=customer_id, channel=msg.channel, description=msg.body,
                subject=msg.subject, external_id=msg.external_id, attachments=msg.attachments,
                previous_ticket=previous)
        except IntegrityError:
            return await self._duplicate(msg) or IntakeResult(None, None, duplicate=True)
        await self._remember_refs(msg, view.number)
        first = await Interaction.filter(ticket_id=view.number).order_by("id").first()
        await self._auto_ack(msg.channel, view)
        return IntakeResult(view, interaction_view(first) if first else None, created=True)

    async def _auto_ack(self, channel: Canal, view: TicketView) -> None:
        enabled = {Canal.EMAIL: self._settings.auto_ack_email,
                   Canal.WHATSAPP: self._settings.auto_ack_whatsapp}.get(channel, False)
        if not enabled:
            return
        try:
            await self._tickets.reply(Actor.system(), view.number,
                                      template=TemplateName.ACKNOWLEDGEMENT, automatic=True)
        except Exception:  # an acknowledgement must never lose the customer's message
            log.exception("automatic acknowledgement failed ticket=#%s", view.number)

    async def _remember_refs(self, msg: IncomingMessage, number: int) -> None:
        refs = [r for r in ({msg.external_id} | set(msg.refs)) if r]
        if not refs or msg.channel is not Canal.EMAIL:
            return
        known = set(await MessageRef.filter(ref__in=refs).values_list("ref", flat=True))
        now = self._clock.now()
        for ref in refs:
            if ref not in known:
                try:
                    await MessageRef.create(ref=ref[:255], ticket_id=number, created_at=now)
                except IntegrityError:
                    pass

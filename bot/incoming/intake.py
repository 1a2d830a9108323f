"""Customer messages in: one door for every channel.

Channel adapters (email, WhatsApp) only translate what arrived into an
``IncomingMessage``; ``IntakeService.receive`` does the rest, the same on every channel:
the duplicate rule (by the channel's own id), the customer, the ticket (a thread, a
tag, the sender's open ticket, or a new one), the conformity answer (a tapped button or
a typed yes/no), bounce and delivery reports, attachments and events.

Who may speak for a ticket: a message that threads to a ticket (tag, headers, a reply
to one of its messages) from an address or phone that is neither the ticket's customer
nor one of that customer's linked contacts joins the history as a *third-party message*.
It never changes Estado, never answers the conformity request and never reopens.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from tortoise.exceptions import IntegrityError

from bot.incoming.conformity import apply_answer
from bot.incoming.conformity_answer import ConformityAnswer
from bot.incoming.csat import take_answer as take_csat_answer
from bot.incoming.delivery import DeliveryReports
from bot.incoming.inbox_items import PermanentInboxError
from bot.outgoing.outbox import update_delivery_status
from bot.people.customers import CustomerService, normalise_email, normalise_phone
from bot.process.clock import Clock
from bot.process.domain import Canal, DeliveryStatus, Estado, InteractionKind
from bot.process.errors import DomainError
from bot.process.settings import Settings
from bot.process.template_names import TemplateName
from bot.process.views import Actor, InteractionView, TicketView
from bot.storage.attachments import NewAttachment
from bot.storage.presenters import TICKET_RELATED, interaction_view, ticket_view
from bot.storage.sender_rows import SenderRows, sender_rows
from bot.storage.thread_refs import remember_refs, ticket_of_refs
from bot.tickets.queries import BY_NUMBER
from bot.tickets.service import TicketService
from db.models import Customer, CustomerContact, Interaction, TeamMember, Ticket

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
    ticket_number: int | None = None  # e.g. from a "[#123]" subject tag, a button
    refs: tuple[str, ...] = ()  # other message ids this one refers to (threading)
    join_open: bool = False  # join the customer's open ticket on this channel
    automatic: bool = False  # auto-reply, bounce: recorded quietly, never a new ticket
    attachments: Sequence[NewAttachment] = ()
    meta: dict[str, object] = field(default_factory=dict)
    answer: bool | None = None  # a tapped conformity button: True yes, False no
    typed_answer: bool = True  # a plain "Sí"/"No" may answer the conformity request
    bounced: tuple[str, ...] = ()  # our message ids this report says did not arrive
    bounce_reason: str = ""


@dataclass(frozen=True)
class IntakeResult:
    ticket: TicketView | None
    interaction: InteractionView | None
    created: bool = False
    duplicate: bool = False
    reopened: bool = False
    dropped: bool = False
    third_party: bool = False
    conformity: ConformityAnswer | None = None


@dataclass(frozen=True)
class Found:
    """Where a message goes, and what the look-up learnt on the way.

    ``ticket``: the ticket it joins (or the closed one it follows); ``threaded``: the
    message named it (tag, headers, a reply). When the sender was looked up
    (``looked_up``), ``customer`` is who they are (None: nobody yet) and ``admin`` the
    default assignee, read in the same statement: a new ticket reads neither again."""

    ticket: Ticket | None
    threaded: bool
    customer: Customer | None = None
    looked_up: bool = False
    admin: TeamMember | None = None


class IntakeService:
    def __init__(self, settings: Settings, clock: Clock, customers: CustomerService,
                 tickets: TicketService, delivery: DeliveryReports) -> None:
        self._settings = settings
        self._clock = clock
        self._customers = customers
        self._tickets = tickets
        self._delivery = delivery

    async def find_ticket_by_refs(self, refs: Sequence[str],
                                  channel: Canal = Canal.EMAIL) -> int | None:
        return await ticket_of_refs(channel, refs)

    @property
    def clock(self) -> Clock:
        return self._clock

    async def known(self, channel: Canal, external_id: str) -> bool:
        """Already recorded (an adapter skips re-downloading media for a redelivery)."""
        return await Interaction.filter(channel=channel, external_id=external_id).exists()

    async def receive(self, msg: IncomingMessage) -> IntakeResult:
        """The one door: everything a customer message does, on any channel."""
        result = await self._receive(msg)
        if msg.bounced:
            await self._bounced(msg)
        if result.interaction is not None and not msg.automatic and \
                result.interaction.kind is InteractionKind.INBOUND and \
                not result.created and not result.reopened:
            answer = await self._answer(msg, result)
            if answer is not None:
                return IntakeResult(result.ticket, result.interaction, duplicate=result.duplicate,
                                    conformity=answer)
        return result

    async def _receive(self, msg: IncomingMessage) -> IntakeResult:
        found = await self._target(msg)
        target, threaded = found.ticket, found.threaded
        if not self._plain(msg, target):
            duplicate = await self._duplicate(msg)
            if duplicate is not None:
                return duplicate
        if msg.answer is not None and target is not None and \
                not await self.speaks_for(msg, target):
            # A conformity button is ours: one naming someone else's ticket is not a
            # reply to that ticket, just a message from this sender.
            msg = replace(msg, ticket_number=None, answer=None)
            found = await self._target(msg)
            target, threaded = found.ticket, found.threaded
        if (rated := await take_csat_answer(self, msg, target)) is not None:
            return rated  # a 1-5 satisfaction answer: recorded, never reopens (bot/incoming/csat.py)
        if msg.automatic:
            return await self._record_automatic(msg, target)
        if target is not None and threaded and not await self.speaks_for(msg, target):
            return await self._third_party(msg, target)
        if target is not None and Estado(target.estado) is Estado.RESOLVED and \
                self._within_reopen_window(target):
            await self._tickets.reopen(Actor.system(msg.channel.label), target.id,
                                       reason="el cliente volvió a escribir")
            result = await self.append(msg, target.id)
            return IntakeResult(result.ticket, result.interaction, reopened=True)
        if target is not None and Estado(target.estado).is_open:
            return await self.append(msg, target.id, current=target)
        customer = await self._customer(msg, found)
        if customer is None:
            raise PermanentInboxError("el mensaje no trae un remitente utilizable")
        return await self._open(msg, customer, previous=target.id if target else None,
                                admin=found.admin, admin_read=found.looked_up)

    @staticmethod
    def _plain(msg: IncomingMessage, target: Ticket | None) -> bool:
        """A message that opens a ticket or joins an open one (the customer's message, or a
        third party's on a thread): nothing is written before the message's own row, so a
        duplicate id is refused by the database there (``IntegrityError``) and needs no
        read first. Anything else (a reopening, a rating, an answer, an automatic message)
        looks it up first, as it may write before that."""
        if msg.automatic or msg.answer is not None or msg.meta.get("button_id"):
            return False
        return target is None or Estado(target.estado).is_open

    async def _customer(self, msg: IncomingMessage, found: Found) -> Customer | None:
        if not (msg.email or msg.phone):
            return None
        try:
            return await self._customers.find_or_create_model(
                email=msg.email, phone=msg.phone, name=msg.name, known=found.customer,
                looked_up=found.looked_up)
        except DomainError as exc:  # an address the customer service refuses
            log.warning("sender refused (%s) id=%s", exc, msg.external_id)
            return None

    async def _duplicate(self, msg: IncomingMessage) -> IntakeResult | None:
        if not msg.external_id:
            return None
        existing = await Interaction.get_or_none(channel=msg.channel, external_id=msg.external_id)
        if existing is None:
            return None
        log.info("duplicate delivery ignored channel=%s ticket=#%s", msg.channel.value,
                 existing.ticket_id)
        ticket = await Ticket.get(id=existing.ticket_id).select_related(*TICKET_RELATED)
        return IntakeResult(ticket_view(ticket), interaction_view(existing), duplicate=True,
                            third_party=existing.kind == InteractionKind.THIRD_PARTY)

    async def _target(self, msg: IncomingMessage) -> Found:
        """The ticket this message belongs to, whether it names it (a thread), and what
        the sender look-up found on the way (see ``Found``)."""
        number = msg.ticket_number
        if number is None:
            number = await self.find_ticket_by_refs(msg.refs, msg.channel)
        if number is not None:
            ticket = await BY_NUMBER.first(number)
            return Found(ticket, ticket is not None)
        rows = await self._sender_rows(msg)
        if rows is None:
            return Found(None, False)
        latest = rows.latest
        if latest is not None and not (Estado(latest.estado).is_open or
                                       self._within_reopen_window(latest)):
            latest = None
        return Found(latest, False, rows.customer, looked_up=True, admin=rows.admin)

    async def speaks_for(self, msg: IncomingMessage, ticket: Ticket) -> bool:
        """The ticket's customer, or an address/phone linked to that customer."""
        customer = ticket.customer
        mine: list[str] = []
        try:
            if msg.email:
                mine.append(normalise_email(msg.email))
            if msg.phone:
                mine.append(normalise_phone(msg.phone, self._customers.region))
        except DomainError:
            return False
        if not mine:
            return False
        if customer.email in mine or customer.phone in mine:
            return True
        return await CustomerContact.filter(customer_id=customer.id, value__in=mine).exists()

    async def _sender_rows(self, msg: IncomingMessage) -> SenderRows | None:
        """The sender, their latest ticket on this channel and the administrator, in one
        read (``bot/storage/sender_rows.py``), for a message that names one address or one
        phone (every WhatsApp message, every email); None for anything else."""
        try:
            if msg.phone and not msg.email:
                phone = normalise_phone(msg.phone, self._customers.region)
                return await sender_rows(msg.channel, "phone", phone, latest=msg.join_open)
            if msg.email and not msg.phone:
                return await sender_rows(msg.channel, "email", normalise_email(msg.email),
                                         latest=msg.join_open)
        except DomainError:  # not an address or a phone: refused where the customer is made
            return None
        return None

    def _within_reopen_window(self, ticket: Ticket) -> bool:
        if ticket.resolved_at is None:
            return False
        window = timedelta(days=self._settings.reopen_days)
        return self._clock.now() - ticket.resolved_at <= window

    async def _record(self, msg: IncomingMessage, number: int, author: str, *,
                      automatic: bool = False, third_party: bool = False,
                      current: Ticket | None = None) -> IntakeResult:
        actor = Actor.system(msg.name or msg.channel.label)
        try:
            view, iview = await self._tickets.record_inbound(
                actor, number, channel=msg.channel, body=msg.body, author=author,
                external_id=msg.external_id, meta=dict(msg.meta), attachments=msg.attachments,
                automatic=automatic, third_party=third_party, current=current)
        except IntegrityError:
            return await self._duplicate(msg) or IntakeResult(None, None, duplicate=True)
        await self._remember_refs(msg, number)
        return IntakeResult(view, iview, third_party=third_party)

    async def _record_automatic(self, msg: IncomingMessage, target: Ticket | None) -> IntakeResult:
        """Auto-replies and bounces: a quiet line on their ticket, never a new one."""
        if target is None:
            log.info("automatic message dropped channel=%s id=%s (no ticket)", msg.channel.value,
                     msg.external_id)
            return IntakeResult(None, None, dropped=True)
        log.info("automatic message recorded ticket=#%s channel=%s", target.id, msg.channel.value)
        return await self._record(msg, target.id, msg.name or msg.email or "Respuesta automática",
                                  automatic=True)

    async def _third_party(self, msg: IncomingMessage, target: Ticket) -> IntakeResult:
        log.warning("third-party message on ticket=#%s channel=%s (not the customer)",
                    target.id, msg.channel.value)
        who = msg.name or msg.email or msg.phone or "Remitente desconocido"
        if msg.name and (msg.email or msg.phone):
            who = f"{msg.name} <{msg.email or msg.phone}>"
        sender = msg.email or msg.phone or ""
        return await self._record(replace(msg, meta={**msg.meta, "sender": sender}), target.id,
                                  who, third_party=True)

    async def append(self, msg: IncomingMessage, number: int,
                     current: Ticket | None = None) -> IntakeResult:
        """The customer wrote on an open ticket: record it; a waiting ticket resumes.
        ``current``: the ticket as just read (relations loaded), written only if unchanged."""
        result = await self._record(msg, number, msg.name or msg.email or msg.phone or "Cliente",
                                    current=current)
        # DEBUG: every channel's adapter logs the message at INFO, with its own id
        log.debug("customer message ticket=#%s channel=%s", number, msg.channel.value)
        return result

    async def _open(self, msg: IncomingMessage, customer: Customer, previous: int | None,
                    admin: TeamMember | None = None, admin_read: bool = False) -> IntakeResult:
        actor = Actor.system(msg.channel.label)
        try:
            view, first = await self._tickets.open_with_message(
                actor, customer_id=customer.id, channel=msg.channel, description=msg.body,
                subject=msg.subject, external_id=msg.external_id, attachments=msg.attachments,
                previous_ticket=previous, meta=dict(msg.meta), customer=customer,
                default_assignee=admin, admin_read=admin_read)
        except IntegrityError:
            return await self._duplicate(msg) or IntakeResult(None, None, duplicate=True)
        await self._remember_refs(msg, view.number)
        await self._auto_ack(msg.channel, view, customer.id)
        return IntakeResult(view, first, created=True)

    async def _answer(self, msg: IncomingMessage,
                      result: IntakeResult) -> ConformityAnswer | None:
        """A tapped button or a typed yes/no, the same rule on every channel (also for a
        redelivery: the ticket must still wait for it, and the message be newer)."""
        if result.ticket is None:
            return None
        if msg.answer is not None:
            if msg.ticket_number != result.ticket.number:
                return None
            text = "sí" if msg.answer else "no"
        elif msg.typed_answer:
            text = msg.body
        else:
            return None
        return await apply_answer(self._tickets, result, text, msg.channel,
                                  msg.name or msg.email or msg.phone or "")

    async def _bounced(self, msg: IncomingMessage) -> None:
        """A report names messages that did not arrive: if they are ours, the team is told."""
        why = msg.bounce_reason or "rebote"
        for ref in msg.bounced:
            if await self._delivery.failed(msg.channel, ref, why, _REPORTER[msg.channel]):
                log.info("failed delivery recorded channel=%s id=%s", msg.channel.value, ref)

    async def delivery_status(self, channel: Canal, provider_id: str, status: DeliveryStatus,
                              reason: str = "") -> bool:
        """A channel's delivered/read/failed report on one of our messages."""
        if status is DeliveryStatus.FAILED:
            return await self._delivery.failed(channel, provider_id, reason or "sin detalle",
                                               _REPORTER[channel])
        return await update_delivery_status(channel, provider_id, status) is not None

    async def _auto_ack(self, channel: Canal, view: TicketView, customer_id: int) -> None:
        enabled = {Canal.EMAIL: self._settings.auto_ack_email,
                   Canal.WHATSAPP: self._settings.auto_ack_whatsapp}.get(channel, False)
        if not enabled or await self._acks_exhausted(customer_id):
            return
        try:
            await self._tickets.reply(Actor.system(), view.number,
                                      template=TemplateName.ACKNOWLEDGEMENT, automatic=True)
        except Exception:  # an acknowledgement must never lose the customer's message
            log.exception("automatic acknowledgement failed ticket=#%s", view.number)

    async def _acks_exhausted(self, customer_id: int) -> bool:
        """Rate limit per sender: a loop of auto-replies or a flood gets a few, not all."""
        limit = self._settings.auto_ack_max_per_day
        since = self._clock.now() - timedelta(days=1)
        sent = await Interaction.filter(
            kind=InteractionKind.OUTBOUND, template=TemplateName.ACKNOWLEDGEMENT.value,
            ticket__customer_id=customer_id, created_at__gte=since).count()
        if sent >= limit:
            log.info("automatic acknowledgement skipped customer=%s (%s today)", customer_id,
                     sent)
            return True
        return False

    async def _remember_refs(self, msg: IncomingMessage, number: int) -> None:
        refs = [r for r in ({msg.external_id} | set(msg.refs)) if r]
        if not refs or msg.channel is not Canal.EMAIL:
            return
        await remember_refs(refs, number, self._clock.now())  # one statement, never failing


_REPORTER = {Canal.EMAIL: "El servidor de correo", Canal.WHATSAPP: "WhatsApp"}

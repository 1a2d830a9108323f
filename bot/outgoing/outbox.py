"""The outbox: every message to a customer is written first, delivered after.

``queue`` runs inside the caller's transaction, so an interaction and its delivery row
commit together. ``OutboxWorker`` then hands each row to the channel's ``Sender`` with
retries and backoff. The interaction id is the idempotency key: a crash between the
commit and the delivery sends the message later, and the row is marked sent in the same
step that records the provider's id, so a delivered row is never picked up again.

Nothing is ever sent twice: a worker claims a row (a lease, marked "en envío") before
sending; when the outcome is unknown (a read timeout, or a worker that died with the
claim) the row is not retried but marked failed as *resultado incierto*, and the team
is told to check. Definite failures (429, 5xx, refused connection) are retried.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from tortoise.transactions import in_transaction

from bot.process.clock import Clock
from bot.process.domain import Canal, DeliveryStatus, InteractionKind
from bot.process.events import EventBus, EventKind, TicketEvent
from bot.process.views import Actor
from bot.process.wakeup import sleep_until_woken
from db.models import Interaction, OutboxMessage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
LEASE_SECONDS = 120
BACKOFF_SECONDS = (5, 30, 120, 300, 900, 1800, 3600)


@dataclass(frozen=True)
class OutboundMessage:
    """What a channel sender needs; built from the outbox row, no ORM objects."""

    outbox_id: int
    interaction_id: int
    ticket_number: int
    channel: Canal
    recipient: str
    customer_name: str
    subject: str
    text: str
    html: str
    whatsapp_text: str
    template: str | None
    idempotency_key: str
    kind: str = "message"  # "message" | "conformity_request"
    whatsapp_template: str | None = None  # approved template name (outside the 24 h window)
    template_params: tuple[str, ...] = ()
    in_reply_to: str | None = None  # the customer's last message id on this channel
    references: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SendResult:
    provider_id: str | None = None


class PermanentSendError(Exception):
    """Retrying cannot help (invalid address, window closed, rejected template)."""


class AmbiguousSendError(Exception):
    """The request left but no answer came (a read timeout, a reset mid-reply).

    The message may or may not have reached the customer: retrying could send it
    twice, so the row is not retried; the team is told to check.
    """


UNCERTAIN = "resultado incierto"
IN_FLIGHT = "en envío"


class Sender(Protocol):
    async def send(self, message: OutboundMessage) -> SendResult: ...


async def queue(interaction: Interaction, channel: Canal, recipient: str,
                payload: dict[str, Any], now: datetime) -> OutboxMessage:
    """Add a delivery row for ``interaction`` (call inside the interaction's transaction)."""
    return await OutboxMessage.create(
        interaction=interaction, channel=channel, recipient=recipient, payload=payload,
        status=DeliveryStatus.PENDING, next_attempt_at=now, created_at=now,
    )


def _message(row: OutboxMessage, ticket_number: int) -> OutboundMessage:
    p = row.payload
    return OutboundMessage(
        outbox_id=row.id, interaction_id=row.interaction_id, ticket_number=ticket_number,
        channel=Canal(row.channel), recipient=row.recipient,
        customer_name=p.get("customer_name", ""), subject=p.get("subject", ""),
        text=p.get("text", ""), html=p.get("html", ""), whatsapp_text=p.get("whatsapp", ""),
        template=p.get("template"), idempotency_key=f"atiende-{row.interaction_id}",
        kind=p.get("kind", "message"), whatsapp_template=p.get("whatsapp_template"),
        template_params=tuple(p.get("template_params", ())),
        in_reply_to=p.get("in_reply_to"), references=tuple(p.get("references", ())),
        extra=p.get("extra", {}),
    )


class OutboxWorker:
    """Delivers queued messages through the registered channel senders."""

    def __init__(self, clock: Clock, bus: EventBus, view_loader: Any) -> None:
        self._clock = clock
        self._bus = bus
        self._senders: dict[Canal, Sender] = {}
        self._wake = asyncio.Event()
        self._load_views = view_loader  # (ticket_id, interaction_id) -> (TicketView, InteractionView)

    def register(self, channel: Canal, sender: Sender) -> None:
        self._senders[channel] = sender

    def has_sender(self, channel: Canal) -> bool:
        return channel in self._senders

    def wake(self) -> None:
        """Called after a commit that queued something: deliver now, not at the next tick."""
        self._wake.set()

    async def run(self, stop: asyncio.Event, idle_seconds: float = 5.0) -> None:
        while not stop.is_set():
            self._wake.clear()  # before the pass: a commit during it wakes the next one
            try:
                await self.deliver_due()
            except Exception:
                log.exception("outbox pass failed")
            await sleep_until_woken(self._wake, stop, idle_seconds)

    async def deliver_due(self, limit: int = 50) -> int:
        """Try every due row once; returns how many were delivered."""
        now = self._clock.now()
        channels = list(self._senders)
        if not channels:
            return 0
        rows = await (OutboxMessage.filter(status=DeliveryStatus.PENDING,
                                           next_attempt_at__lte=now, channel__in=channels)
                      .order_by("id").limit(limit).select_related("interaction"))
        delivered = 0
        for row in rows:
            delivered += await self._deliver(row)
        return delivered

    async def _claim(self, row: OutboxMessage) -> bool:
        """Take a lease on the row, so a second worker or process never sends it too.

        A worker that dies mid-send leaves the lease to expire; the row is then retried
        (with the same idempotency key).
        """
        now = self._clock.now()
        unchanged = OutboxMessage.filter(
            id=row.id, status=DeliveryStatus.PENDING, next_attempt_at=row.next_attempt_at)
        async with in_transaction():
            # Several instances (issue 14): on PostgreSQL a row another worker is claiming
            # right now is skipped, not waited for; the conditional update below is what
            # makes the claim exclusive on every database.
            if await unchanged.select_for_update(skip_locked=True).first() is None:
                return False
            claimed = await unchanged.update(
                next_attempt_at=now + timedelta(seconds=LEASE_SECONDS),
                last_error=f"{IN_FLIGHT} desde {now.isoformat(timespec='seconds')}")
        return claimed == 1

    async def _deliver(self, row: OutboxMessage) -> int:
        if row.last_error.startswith(IN_FLIGHT):
            # A worker claimed it and died before recording the outcome: it may have
            # been sent. Never risk a second copy; tell the team instead (once: the
            # claim keeps a second worker from reporting it too).
            if not await self._claim(row):
                return 0
            await self._fail(row, f"{UNCERTAIN}: el envío se interrumpió "
                                  f"({row.last_error}); verifique si el cliente lo recibió",
                             permanent=True)
            return 0
        if not await self._claim(row):
            return 0
        ticket_id = row.interaction.ticket_id
        message = _message(row, ticket_id)
        sender = self._senders[Canal(row.channel)]
        try:
            result = await sender.send(message)
        except PermanentSendError as exc:
            await self._fail(row, str(exc), permanent=True)
            return 0
        except AmbiguousSendError as exc:
            await self._fail(row, f"{UNCERTAIN}: {exc}; verifique si el cliente lo recibió",
                             permanent=True)
            return 0
        except Exception as exc:  # network, 5xx, 429: retry with backoff
            log.warning("outbox delivery failed ticket=#%s outbox=%s attempt=%s: %s",
                        ticket_id, row.id, row.attempts + 1, exc)
            await self._fail(row, f"{type(exc).__name__}: {exc}", permanent=False)
            return 0
        await self._mark_sent(row, result)
        log.info("message delivered ticket=#%s channel=%s outbox=%s", ticket_id,
                 row.channel, row.id)
        return 1

    async def _mark_sent(self, row: OutboxMessage, result: SendResult) -> None:
        now = self._clock.now()
        async with in_transaction():
            await OutboxMessage.filter(id=row.id).update(
                status=DeliveryStatus.SENT, sent_at=now, attempts=row.attempts + 1,
                provider_id=result.provider_id, last_error="")
            updates: dict[str, Any] = {"delivery_status": DeliveryStatus.SENT}
            if result.provider_id:
                updates["external_id"] = result.provider_id
            await Interaction.filter(id=row.interaction_id).update(**updates)
        await self._publish(row)

    async def _fail(self, row: OutboxMessage, error: str, *, permanent: bool) -> None:
        attempts = row.attempts + 1
        final = permanent or attempts >= MAX_ATTEMPTS
        now = self._clock.now()
        delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
        async with in_transaction():
            await OutboxMessage.filter(id=row.id).update(
                attempts=attempts, last_error=error[:2000],
                status=DeliveryStatus.FAILED if final else DeliveryStatus.PENDING,
                next_attempt_at=now + timedelta(seconds=delay))
            if final:
                await Interaction.filter(id=row.interaction_id).update(
                    delivery_status=DeliveryStatus.FAILED)
        if final:
            log.error("outbox delivery failed for good ticket=#%s outbox=%s: %s",
                      row.interaction.ticket_id, row.id, error)
            await self._publish(row)

    async def _publish(self, row: OutboxMessage) -> None:
        ticket, interaction = await self._load_views(
            row.interaction.ticket_id, row.interaction_id)
        await self._bus.publish(TicketEvent(EventKind.DELIVERY, ticket, Actor.system(),
                                            interaction))


async def update_delivery_status(channel: Canal, provider_id: str,
                                 status: DeliveryStatus) -> int | None:
    """A channel reports delivered/read/failed for one of our messages.

    Returns the interaction id, or None when the id is not ours. Statuses only move
    forward (a late "sent" never overwrites "read").
    """
    order = [DeliveryStatus.PENDING, DeliveryStatus.SENT, DeliveryStatus.DELIVERED,
             DeliveryStatus.READ]
    interaction = await Interaction.get_or_none(channel=channel, external_id=provider_id,
                                                kind=InteractionKind.OUTBOUND)
    if interaction is None:
        return None
    current = interaction.delivery_status
    if status is not DeliveryStatus.FAILED and current in order and \
            order.index(DeliveryStatus(current)) >= order.index(status):
        return interaction.id
    interaction.delivery_status = status
    await interaction.save(update_fields=["delivery_status"])
    return interaction.id

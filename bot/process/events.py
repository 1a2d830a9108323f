"""Ticket events: how the core tells every front end that something happened.

Services publish after their transaction commits; Telegram, Slack and the console
subscribe to redraw cards, post to threads, or print. A subscriber that fails is logged
and never undoes or blocks the operation that published the event.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from bot.process.views import Actor, InteractionView, TicketView

log = logging.getLogger(__name__)


class EventKind(StrEnum):
    CREATED = "created"  # a new ticket
    CUSTOMER_MESSAGE = "customer_message"  # a customer wrote on an existing ticket
    UPDATED = "updated"  # classification, assignment, Estado, deadlines
    OUTBOUND = "outbound"  # a message to the customer was queued
    NOTE = "note"
    DELIVERY = "delivery"  # an outbound message's delivery status changed


@dataclass(frozen=True)
class TicketEvent:
    kind: EventKind
    ticket: TicketView
    actor: Actor
    interaction: InteractionView | None = None
    # What changed, for thread posts: e.g. ("Estado", "Nuevo", "En proceso").
    changes: tuple[tuple[str, str, str], ...] = ()


Subscriber = Callable[[TicketEvent], Awaitable[None]]


class EventBus:
    """In-process fan-out of ticket events to the running front ends."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    async def publish(self, event: TicketEvent) -> None:
        """Deliver to every subscriber; one failing does not stop the others."""
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:  # a front end's failure must not undo a committed change
                log.exception("event subscriber failed ticket=#%s kind=%s",
                              event.ticket.number, event.kind)

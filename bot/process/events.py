"""Ticket events: how the core tells every front end that something happened.

Services publish after their transaction commits; Telegram, Slack and the console
subscribe to redraw cards, post to threads, or print. A subscriber that fails is logged
and never undoes or blocks the operation that published the event.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
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
        # The innermost hold of the running task (a context variable: another task's
        # events are never held by this one's batch); see ``held``.
        self._held: ContextVar[list[TicketEvent] | None] = ContextVar("held_events",
                                                                      default=None)

    def subscribe(self, subscriber: Subscriber) -> None:
        self._subscribers.append(subscriber)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Events published inside are delivered when the block ends without an error,
        and dropped when it fails: a caller that commits several changes at once (an
        import batch) tells subscribers only what its outer commit really made durable.
        Nested holds hand their events to the enclosing one."""
        outer = self._held.get()
        queue: list[TicketEvent] = []
        token = self._held.set(queue)
        try:
            yield
        finally:
            self._held.reset(token)
        if outer is not None:
            outer.extend(queue)
            return
        for event in queue:
            await self._deliver(event)

    async def publish(self, event: TicketEvent) -> None:
        """Deliver to every subscriber; one failing does not stop the others."""
        queue = self._held.get()
        if queue is not None:
            queue.append(event)
            return
        await self._deliver(event)

    async def _deliver(self, event: TicketEvent) -> None:
        for subscriber in list(self._subscribers):
            try:
                await subscriber(event)
            except Exception:  # a front end's failure must not undo a committed change
                log.exception("event subscriber failed ticket=#%s kind=%s",
                              event.ticket.number, event.kind)

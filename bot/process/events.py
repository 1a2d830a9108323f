"""Ticket events: how the core tells every front end that something happened.

Services publish after their transaction commits; Telegram, Slack and the console
subscribe to redraw cards, post to threads, or print. A subscriber that fails is logged
and never undoes or blocks the operation that published the event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum

from bot.process.views import Actor, InteractionView, TicketView

log = logging.getLogger(__name__)

SETTLE_SECONDS = 30.0


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
Settler = Callable[[], Awaitable[None]]


class EventBus:
    """In-process fan-out of ticket events to the running front ends.

    With several instances on one database the composition root ``carry``s events
    through the database instead (``bot/jobs/event_relay.py``): ``publish`` then stores the
    event, and the one instance relaying them calls ``deliver``.
    """

    def __init__(self) -> None:
        self._local: list[Subscriber] = []
        self._subscribers: list[Subscriber] = []
        self._settlers: list[Settler] = []
        self._carry: Subscriber | None = None
        # The innermost hold of the running task (a context variable: another task's
        # events are never held by this one's batch); see ``held``.
        self._held: ContextVar[list[TicketEvent] | None] = ContextVar("held_events",
                                                                      default=None)

    def subscribe(self, subscriber: Subscriber) -> None:
        """A front end's subscriber (cards, threads): with several instances it is told
        on the one instance that relays events, whichever instance committed."""
        self._subscribers.append(subscriber)

    def subscribe_local(self, subscriber: Subscriber) -> None:
        """A core subscriber told of this process's own changes, first and always in
        process (the reminder plan, the satisfaction request: idempotent database work
        that must not wait for a relay)."""
        self._local.append(subscriber)

    def on_settle(self, settler: Settler) -> None:
        """A subscriber that queues offers a wait until its queue is shown (the relay
        forgets an event only once the chats show it)."""
        self._settlers.append(settler)

    def carry(self, carrier: Subscriber) -> None:
        """Hand every published event to ``carrier`` instead of the subscribers."""
        self._carry = carrier

    @property
    def carried(self) -> bool:
        return self._carry is not None

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Events published inside are published when the block ends without an error,
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
            await self._publish_now(event)

    async def publish(self, event: TicketEvent) -> None:
        """After a commit (or, inside ``held``, after the enclosing commit)."""
        queue = self._held.get()
        if queue is not None:
            queue.append(event)
            return
        await self._publish_now(event)

    async def _publish_now(self, event: TicketEvent) -> None:
        """To the local subscribers, then to the carrier when there is one, else to the
        other subscribers."""
        await _fan_out(self._local, event)
        if self._carry is not None:
            try:
                await self._carry(event)
            except Exception:  # the change is committed: log, never undo it
                log.exception("event not stored ticket=#%s kind=%s",
                              event.ticket.number, event.kind)
            return
        await self.deliver(event)

    async def settle(self, timeout: float = SETTLE_SECONDS) -> None:  # noqa: ASYNC109
        """Wait until what the subscribers queued is done, each at most ``timeout``
        (a chat that is down must not hold the others up)."""
        for settler in list(self._settlers):
            try:
                await asyncio.wait_for(settler(), timeout)
            except TimeoutError:
                log.warning("event settler still busy after %.0f s", timeout)
            except Exception:
                log.exception("event settler failed")

    async def deliver(self, event: TicketEvent) -> None:
        """Deliver to every front end's subscriber; one failing does not stop the others."""
        await _fan_out(self._subscribers, event)


async def _fan_out(subscribers: list[Subscriber], event: TicketEvent) -> None:
    for subscriber in list(subscribers):
        try:
            await subscriber(event)
        except Exception:  # a front end's failure must not undo a committed change
            log.exception("event subscriber failed ticket=#%s kind=%s",
                          event.ticket.number, event.kind)

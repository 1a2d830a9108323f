"""Ticket events across instances (issue 14): every change reaches the chats once.

With one instance (SQLite) the ``EventBus`` hands each event to the front ends in the
process, after the commit: nothing here runs. With several instances on one PostgreSQL
a change may commit on any of them (a webhook lands on A, a button press is answered by
B), and if each redrew its own cards, two instances would edit the same card at once
and the older state could land last. So the composition root ``carry``s the bus through
the database (``share_events``):

- ``store``: the instance that committed writes one row to ``ticket_events`` (after
  the commit, like the in-process event) and sends a wake-up (PostgreSQL ``NOTIFY``,
  through the ``Signal`` the composition root passes in).
- ``run``: one instance, the holder of the ``ticket-events`` lease, claims the rows in
  order, rebuilds each event with the ticket *as it is now* (so a redraw always shows
  the final state, whatever order the instances committed in), hands it to its front
  ends, waits until they have shown it (``EventBus.settle``), and deletes the rows.
  It looks every ``POLL_SECONDS`` anyway: a lost ``NOTIFY`` delays a redraw, never
  loses it, since the row is the source of truth.
- When the relay's holder dies mid-batch, the next holder finds the rows it had
  claimed: it cannot know which of them reached the chats, so it redraws those tickets'
  cards (idempotent: the current state) instead of posting their thread entries and
  notices again (a ticket whose card was never posted gets its full first post). Cards
  end in their final state; a thread post of that one batch may be missing (the
  history has it), never doubled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from tortoise.exceptions import DoesNotExist
from tortoise.transactions import in_transaction

from bot.process.clock import Clock
from bot.process.errors import TicketNotFound
from bot.process.events import EventBus, EventKind, TicketEvent
from bot.process.views import Actor, InteractionView, TicketView
from bot.services import Services
from bot.storage.presenters import member_view
from bot.tickets.queries import TicketQueries
from db.models import ChatCard, TeamMember, TicketEventRow

log = logging.getLogger(__name__)

LEASE = "ticket-events"
POLL_SECONDS = 2.0  # the longest a redraw waits when a wake-up was lost
BATCH = 200


class Signal(Protocol):
    """A wake-up between instances (PostgreSQL ``LISTEN/NOTIFY``: ``db/pg_signal.py``)."""

    async def notify(self) -> None: ...

    def listen(self, wake: Callable[[], None]) -> AbstractAsyncContextManager[None]: ...


class EventRelay:
    """Stores events on the instance that commits; relays them on the lease holder."""

    def __init__(self, bus: EventBus, queries: TicketQueries, clock: Clock, holder: str,
                 signal: Signal | None = None) -> None:
        self._bus = bus
        self._queries = queries
        self._clock = clock
        self.holder = holder
        self._signal = signal
        self._wake = asyncio.Event()

    # --- every instance: after a commit -------------------------------------------------
    async def store(self, event: TicketEvent) -> None:
        """The bus's carrier: one row, then the wake-up (a failed one costs latency)."""
        member = event.actor.member
        await TicketEventRow.create(
            ticket_id=event.ticket.number, kind=event.kind.value, actor_name=event.actor.name,
            actor_member_id=member.id if member is not None else None,
            interaction_id=event.interaction.id if event.interaction is not None else None,
            changes=[list(c) for c in event.changes], created_at=self._clock.now())
        self._wake.set()  # this instance may be the relay
        if self._signal is not None:
            try:
                await self._signal.notify()
            except Exception as exc:
                log.warning("ticket events: wake-up not sent (polled instead): %s", exc)

    def wake(self) -> None:
        self._wake.set()

    # --- the lease holder -------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """The leased loop: recover a dead relay's batch, then relay until ``stop``."""
        async with self._listening():
            unfinished = True  # a previous relay's batch, then any batch a failure left
            while not stop.is_set():
                self._wake.clear()
                try:
                    if unfinished:
                        await self.recover()
                        unfinished = False
                    if await self.relay_once() >= BATCH:
                        continue  # more waiting: no pause
                except Exception:
                    unfinished = True
                    log.exception("ticket events: relaying failed (retried)")
                await _wait(stop, self._wake, POLL_SECONDS)

    async def relay_once(self, limit: int = BATCH) -> int:
        """Claim the oldest unclaimed rows, show them, forget them; how many there were."""
        async with in_transaction():
            rows = await (TicketEventRow.filter(claimed_by=None).order_by("id").limit(limit)
                          .select_for_update(skip_locked=True))
            if rows:
                await TicketEventRow.filter(id__in=[r.id for r in rows]).update(
                    claimed_by=self.holder)
        if rows:
            await self._show(rows, redraw_only=False)
        return len(rows)

    async def recover(self) -> int:
        """Rows a previous relay claimed and did not finish: redraw their tickets."""
        rows = await TicketEventRow.filter(claimed_by__not_isnull=True).order_by("id")
        if not rows:
            return 0
        log.info("ticket events: redrawing %d tickets a previous relay left unfinished",
                 len({r.ticket_id for r in rows}))
        await TicketEventRow.filter(id__in=[r.id for r in rows]).update(claimed_by=self.holder)
        await self._show(rows, redraw_only=True)
        return len(rows)

    async def _show(self, rows: list[TicketEventRow], *, redraw_only: bool) -> None:
        views: dict[int, TicketView | None] = {}
        redrawn: set[int] = set()
        for row in rows:
            if row.ticket_id not in views:
                views[row.ticket_id] = await self._view(row.ticket_id)
            view = views[row.ticket_id]
            if view is None or row.ticket_id in redrawn:
                continue
            if redraw_only:
                redrawn.add(row.ticket_id)
                event = await self._redraw(row, view)
            else:
                event = TicketEvent(EventKind(row.kind), view, await self._actor(row),
                                    await self._interaction(row.interaction_id),
                                    tuple(tuple(c) for c in row.changes))
            await self._bus.deliver(event)
        await self._bus.settle()
        await TicketEventRow.filter(id__in=[r.id for r in rows]).delete()

    async def _redraw(self, row: TicketEventRow, view: TicketView) -> TicketEvent:
        """A plain redraw; the first post itself when no chat shows the ticket yet."""
        if row.kind == EventKind.CREATED.value and \
                not await ChatCard.filter(ticket_id=row.ticket_id).exists():
            return TicketEvent(EventKind.CREATED, view, await self._actor(row),
                               await self._interaction(row.interaction_id))
        return TicketEvent(EventKind.UPDATED, view, Actor.system())

    async def _view(self, number: int) -> TicketView | None:
        try:
            return await self._queries.get(number)
        except (TicketNotFound, DoesNotExist):
            return None  # gone since (a merge, a removal): nothing to show

    async def _interaction(self, interaction_id: int | None) -> InteractionView | None:
        if interaction_id is None:
            return None
        with contextlib.suppress(DoesNotExist):
            return await self._queries.interaction(interaction_id)
        return None

    @staticmethod
    async def _actor(row: TicketEventRow) -> Actor:
        if row.actor_member_id is not None:
            member = await TeamMember.get_or_none(id=row.actor_member_id)
            if member is not None:
                return Actor(name=row.actor_name, member=member_view(member))
        return Actor(name=row.actor_name)

    @contextlib.asynccontextmanager
    async def _listening(self) -> AsyncIterator[None]:
        """Listen for wake-ups while relaying; without them, polling still finds all."""
        async with contextlib.AsyncExitStack() as stack:
            if self._signal is not None:
                try:
                    await stack.enter_async_context(self._signal.listen(self.wake))
                except Exception as exc:
                    log.warning("ticket events: cannot listen for wake-ups (polling every "
                                "%.0f s): %s", POLL_SECONDS, exc)
            yield


def share_events(bus: EventBus, queries: TicketQueries, clock: Clock, holder: str,
                 signal: Signal | None) -> EventRelay:
    """Carry the bus through the database; the returned relay runs under ``LEASE``."""
    relay = EventRelay(bus, queries, clock, holder, signal)
    bus.carry(relay.store)
    return relay


def carry_events(services: Services) -> EventRelay | None:
    """On PostgreSQL (several instances, and commands beside them) ticket events go
    through the database; ``atiende run`` runs the returned relay under its lease, a
    command only stores. On SQLite (one process) nothing changes: None. Call right
    after ``build_services``, before anything publishes."""
    if not services.leases.shared:
        return None
    from db.pg_signal import PostgresSignal

    return share_events(services.bus, services.queries, services.clock,
                        services.leases.holder,
                        PostgresSignal(services.settings.effective_database_url))


async def _wait(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Until ``stop`` or ``wake`` is set, or ``seconds`` pass."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    _, pending = await asyncio.wait(waiters, timeout=seconds,
                                    return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        waiter.cancel()

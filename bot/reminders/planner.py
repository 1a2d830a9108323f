"""Keeps ``Ticket.next_reminder_at`` right, so finding due work is one indexed query.

The value is the earliest instant at which something about the ticket must be looked
at: an unclaimed mark already reached (catch-up), the next mark, or, for a non-Alta
ticket whose mark falls in quiet hours, the end of that quiet period. NULL means
nothing will ever be due (closed, answered and paused, ...) until the ticket changes.

It is computed inside every unit of work that writes a ticket (``TicketWork.planner``:
the save carries it, so no event has to read the ticket again), recomputed after every
other ticket event (the bus), after each reminder pass for the
tickets that fired, and at start-up for open tickets never planned (created while no
scheduler was running). Writes are conditional on the ticket's ``version``, so a plan
computed from a state that changed meanwhile is recomputed instead of stored.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import cast

from tortoise.transactions import in_transaction

from bot.process.clock import Clock
from bot.process.events import TicketEvent
from bot.process.settings import Settings
from bot.tickets.queries import OPEN_ESTADOS
from db.models import SentReminder, Ticket

from .policy import ClockState, Mark, crossed_and_next
from .quiet import QuietHours

log = logging.getLogger(__name__)

MIN_STEP = timedelta(minutes=1)  # a plan in the past after a pass would loop: push it
_RETRIES = 3


async def sent_keys(keys: Iterable[str]) -> set[str]:
    """Which of ``keys`` are already claimed (one query on the unique index)."""
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), 500):  # stay far below SQLite's variable limit
        chunk = wanted[start:start + 500]
        keys_found = await SentReminder.filter(key__in=chunk).values_list("key", flat=True)
        found.update(cast(list[str], keys_found))  # flat=True: values, not tuples
    return found


class Planner:
    def __init__(self, settings: Settings, clock: Clock, quiet: QuietHours) -> None:
        self._settings = settings
        self._clock = clock
        self._quiet = quiet
        self._listeners: list[Callable[[], None]] = []
        # Tickets planned inside their unit of work: their event needs no re-plan.
        self._planned: deque[Ticket] = deque(maxlen=256)

    def on_change(self, listener: Callable[[], None]) -> None:
        """Called after each re-plan caused by a ticket event (the scheduler's wake)."""
        self._listeners.append(listener)

    def crossed(self, state: ClockState, now: datetime) -> tuple[list[Mark], datetime | None]:
        return crossed_and_next(state, now, self._settings)

    def compute(self, state: ClockState, now: datetime, crossed: list[Mark],
                upcoming: datetime | None, sent: set[str]) -> datetime | None:
        """The next instant to look at this ticket (see the module docstring)."""
        candidates = [m.due_at for m in crossed if m.key not in sent]
        if upcoming is not None:
            candidates.append(upcoming)
        if not candidates:
            return None
        return self._quiet.release(min(candidates), now, state.is_alta)

    async def plan(self, ticket: Ticket, now: datetime) -> datetime | None:
        state = ClockState.of(ticket)
        crossed, upcoming = self.crossed(state, now)
        sent = await sent_keys(m.key for m in crossed)
        return self.compute(state, now, crossed, upcoming, sent)

    async def store(self, ticket: Ticket, when: datetime | None) -> bool:
        """Write the plan if the ticket did not change since it was read."""
        async with in_transaction():
            updated = await Ticket.filter(id=ticket.id, version=ticket.version).update(
                next_reminder_at=when)
        return bool(updated)

    async def replan(self, number: int) -> datetime | None:
        """Recompute from the ticket's current state and store it."""
        for _ in range(_RETRIES):
            ticket = await Ticket.get_or_none(id=number)
            if ticket is None:
                return None
            when = await self.plan(ticket, self._clock.now())
            if await self.store(ticket, when):
                return when
        log.warning("reminder plan kept changing ticket=#%s", number)
        return None

    async def plan_unsaved(self, ticket: Ticket) -> None:
        """``TicketWork``'s planner: set the plan on a ticket about to be written (inside
        its transaction, under its lock), so the save stores it."""
        now = self._clock.now()
        if ticket.id is None:  # a new ticket: nothing can have been sent for it yet
            state = ClockState.of(ticket)
            crossed, upcoming = self.crossed(state, now)
            ticket.next_reminder_at = self.compute(state, now, crossed, upcoming, set())
        else:
            ticket.next_reminder_at = await self.plan(ticket, now)
        self._planned.append(ticket)

    def _was_planned(self, event: TicketEvent) -> bool:
        for ticket in self._planned:
            if ticket.id == event.ticket.number and ticket.version == event.ticket.version:
                self._planned.remove(ticket)
                return True
        return False

    async def on_event(self, event: TicketEvent) -> None:
        """Bus subscriber: any change to a ticket may move its reminders (planned already
        when the unit of work that published it wrote the ticket)."""
        if not self._was_planned(event):
            await self.replan(event.ticket.number)
        for listener in self._listeners:
            listener()

    async def backfill(self, batch: int = 500) -> int:
        """Plan open tickets that have no plan yet; returns how many got one."""
        planned, last_id = 0, 0
        while True:
            rows = await (Ticket.filter(estado__in=OPEN_ESTADOS, next_reminder_at__isnull=True,
                                        id__gt=last_id).order_by("id").limit(batch))
            if not rows:
                return planned
            now = self._clock.now()
            for ticket in rows:
                when = await self.plan(ticket, now)
                if when is not None and await self.store(ticket, when):
                    planned += 1
            last_id = rows[-1].id

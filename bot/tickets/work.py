"""One unit of work for every ticket change.

Every change to a ticket takes the same steps, so they live here once: who may do it
(checked before anything is read), the row lock, the version the person saw (a stale
button is refused), whether the Estado allows it, the history rows (who, what,
old -> new), the save that bumps the version, and one event published after the commit
(never before: a subscriber must not see a change that could still roll back). An
operation in ``bot/tickets/service.py`` is then only the lines that differ::

    unit = work.begin(actor, number, Action.REOPEN, expected_version)  # role checked now
    async with unit as uow:                       # lock, version, legality
        await uow.set_estado(Estado.IN_PROGRESS, reason="reabierto")
    return uow.view                               # published after the commit
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from copy import deepcopy
from datetime import datetime
from types import TracebackType
from typing import Any

from bot.calendar import ticket_clock
from bot.process.clock import Clock
from bot.process.domain import Estado, InteractionKind
from bot.process.errors import StaleAction, TicketNotFound
from bot.process.events import EventBus, EventKind, TicketEvent
from bot.process.settings import Settings
from bot.process.views import Actor, InteractionView, TicketView
from bot.storage import nocodb_queue as nocodb_queue
from bot.storage.attachments import NewAttachment
from bot.storage.inserts import insert
from bot.storage.prepared import PreparedSelect
from bot.storage.presenters import TICKET_RELATED, interaction_view, ticket_view
from bot.storage.savepoints import savepoint
from bot.storage.updates import update_where
from bot.tickets.lifecycle import Action, check_allowed, check_legal
from db.models import Attachment, Interaction, Ticket

log = logging.getLogger(__name__)

Change = tuple[str, str, str]  # ("Estado", "Nuevo", "En proceso"): what thread posts show
# Computes a ticket's next reminder from its state, inside the unit, so the save writes it
# (the reminder planner, when reminders run in this process; ``bot/reminders``).
Planner = Callable[[Ticket], Awaitable[None]]


class TicketWork:
    """Makes units of work; one per process, shared by every service that changes tickets."""

    def __init__(self, settings: Settings, clock: Clock, bus: EventBus,
                 wake_outbox: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.clock = clock
        self.bus = bus
        self.wake_outbox = wake_outbox or (lambda: None)
        self.planner: Planner | None = None

    async def plan(self, ticket: Ticket) -> None:
        """Set ``ticket.next_reminder_at`` before it is written (no planner: untouched)."""
        if self.planner is not None:
            await self.planner(ticket)

    def begin(self, actor: Actor, number: int, action: Action | None = None,
              expected_version: int | None = None, *, event: EventKind | None = EventKind.UPDATED,
              check_role: bool = True, current: Ticket | None = None) -> TicketUnit:
        """A change to ticket ``number``; the actor's role for ``action`` is checked now,
        the rest when the unit is entered (``async with``).

        ``current``: the ticket as the caller has just read it (customer and assignee
        loaded). It is not read again under a lock: the save is written only if the row
        is still at that version, else ``StaleAction`` and nothing is written (the caller
        tries again without it)."""
        if action is not None and check_role:
            check_allowed(action, actor)
        unit = TicketUnit(self, actor, number, action, expected_version, event)
        if current is not None:
            unit.ticket, unit.optimistic = current, current.version
            # a copy of JSON values: one changed in place must still differ
            unit.read = {k: deepcopy(v) if isinstance(v, dict | list) else v
                         for k, v in _values(current).items()}
        return unit

    def new(self, actor: Actor, *, event: EventKind = EventKind.CREATED) -> TicketUnit:
        """A unit for a ticket being created: no lock; the operation sets ``uow.ticket``."""
        return TicketUnit(self, actor, None, None, None, event)

    def joined(self, actor: Actor, ticket: Ticket) -> TicketUnit:
        """History rows for a ticket touched inside the caller's own transaction (a
        customer edit reaching each open ticket); the caller publishes after commit."""
        unit = TicketUnit(self, actor, ticket.id, None, None, None)
        unit.ticket = ticket
        unit.save = False  # never entered: the caller's transaction saves what it changed
        return unit

    async def publish(self, kind: EventKind, number: int, actor: Actor,
                      interaction: Interaction | None = None,
                      changes: Sequence[Change] = (), *,
                      files: Sequence[Attachment] | None = None,
                      ticket: Ticket | None = None,
                      ) -> tuple[TicketView, InteractionView | None]:
        """Tell every subscriber, after the commit; returns the views it showed.
        ``ticket``: the row as just committed, relations loaded (else it is read);
        ``files``: the interaction's attachments as just stored (else they are read)."""
        if ticket is None:
            ticket = await Ticket.get(id=number).select_related(*TICKET_RELATED)
        view = ticket_view(ticket)
        iview = None
        if interaction is not None:
            if files is None:
                files = await Attachment.filter(interaction_id=interaction.id)
            iview = interaction_view(interaction, files)
        await self.bus.publish(TicketEvent(kind, view, actor, iview, tuple(changes)))
        return view, iview


class TicketUnit:
    """One ticket change in one transaction; collects history and publishes once.

    Operations set ``interaction`` (the row the event shows), ``save`` (False when the
    change must not bump the version) and ``event`` (None: nobody is told); ``view`` and
    ``interaction_view`` hold what was published once the block is left.
    """

    def __init__(self, work: TicketWork, actor: Actor, number: int | None,
                 action: Action | None, expected_version: int | None,
                 event: EventKind | None) -> None:
        self.work = work
        self.actor = actor
        self.number = number
        self.action = action
        self.expected_version = expected_version
        self.event = event
        self.changes: list[Change] = []
        self.interaction: Interaction | None = None
        self.save = number is not None
        self.queued = False  # a customer message went into the outbox: wake it after commit
        self.view: TicketView | None = None
        self.interaction_view: InteractionView | None = None
        self._ticket: Ticket | None = None
        self._attached: list[Attachment] = []  # files stored in this unit (not read back)
        self._transaction: Any = None
        self.optimistic: int | None = None  # the version ``current`` was read at
        self.read: dict[str, Any] = {}  # its columns as read: the write sends what changed

    @property
    def ticket(self) -> Ticket:
        assert self._ticket is not None, "the unit has no ticket yet"
        return self._ticket

    @ticket.setter
    def ticket(self, ticket: Ticket) -> None:
        self._ticket = ticket
        self.number = ticket.id

    @property
    def now(self) -> datetime:
        return self.work.clock.now()

    # --- the steps every change shares ---------------------------------------------------
    async def __aenter__(self) -> TicketUnit:
        self._transaction = savepoint()  # none inside an optimistic batch
        await self._transaction.__aenter__()
        try:
            if self.number is not None and self._ticket is None:
                await self._lock(self.number)
            elif self.optimistic is not None:
                self._check(self.ticket)
        except BaseException as exc:
            await self._transaction.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        return self

    async def _lock(self, number: int) -> None:
        ticket = await _LOCKED.first(number)
        if ticket is None:
            raise TicketNotFound(number)
        self._check(ticket)
        self._ticket = ticket

    def _check(self, ticket: Ticket) -> None:
        if self.expected_version is not None and ticket.version != self.expected_version:
            raise StaleAction(ticket.id)
        if self.action is not None:
            check_legal(self.action, ticket.id, Estado(ticket.estado))

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if exc is None and self.save and self._ticket is not None:
            try:
                self._ticket.version += 1
                self._ticket.updated_at = self.now
                await self.work.plan(self._ticket)
                await self._write(self._ticket)
            except BaseException as failed:
                await self._transaction.__aexit__(type(failed), failed, failed.__traceback__)
                raise
        await self._transaction.__aexit__(kind, exc, tb)
        if exc is not None or self.number is None:
            return
        if self.queued:
            self.work.wake_outbox()
        if self.event is None and self.interaction is None:
            return
        # after the commit: what the event shows is what the database now holds
        self.view, self.interaction_view = await self._views()

    async def _write(self, ticket: Ticket) -> None:
        if self.optimistic is None:
            await ticket.save()
            return
        values = {k: v for k, v in _values(ticket).items() if self.read.get(k, _UNSET) != v}
        if not await update_where(Ticket, {"id": ticket.id, "version": self.optimistic}, values):
            raise StaleAction(ticket.id)  # changed since it was read: nothing is written

    async def _views(self) -> tuple[TicketView, InteractionView | None]:
        assert self.number is not None
        # The unit holds the row as it committed it (read under the lock, or created).
        held = self._ticket if self._ticket is not None and self._ticket.id == self.number \
            else None
        if self.event is not None:
            return await self.work.publish(self.event, self.number, self.actor,
                                           self.interaction, self.changes,
                                           files=self._files_of(self.interaction), ticket=held)
        ticket = held or await Ticket.get(id=self.number).select_related(*TICKET_RELATED)
        return ticket_view(ticket), (
            interaction_view(self.interaction, self._files_of(self.interaction))
            if self.interaction is not None else None)

    def _files_of(self, interaction: Interaction | None) -> list[Attachment]:
        if interaction is None:
            return []
        return [a for a in self._attached if a.interaction_id == interaction.id]

    # --- what an operation writes ------------------------------------------------------
    async def record(self, kind: InteractionKind, body: str = "", **fields: Any) -> Interaction:
        """One row of the ticket's history (a message, a note, an event)."""
        ticket, actor = self.ticket, self.actor
        row = await insert(
            Interaction, ticket=ticket, kind=kind, channel=fields.pop("channel", ticket.channel),
            author_member_id=actor.member.id if actor.member else None,
            author_name=fields.pop("author_name", actor.name), body=body,
            created_at=fields.pop("created_at", None) or self.now, **fields)
        await nocodb_queue.interaction_changed(self.work.settings.nocodb_enabled, row,
                                               row.created_at)
        return row

    async def change(self, label: str, old: object, new: object,
                     meta: dict[str, Any] | None = None) -> None:
        """Record one field change in the history (who, what, old -> new)."""
        old_s, new_s = _text(old), _text(new)
        self.changes.append((label, old_s, new_s))
        await self.record(InteractionKind.EVENT, field=label, old_value=old_s, new_value=new_s,
                          meta=meta or {})

    async def set_estado(self, new: Estado, reason: str = "") -> None:
        """Move the Estado (recorded), and the resolution clock with it."""
        ticket = self.ticket
        old = Estado(ticket.estado)
        if old is new:
            return
        ticket.estado = new
        await self.change("Estado", old.value, new.value, {"reason": reason} if reason else None)
        moved = ticket_clock.apply_estado(ticket, new, self.now, self.work.settings)
        if moved:
            await self.change("Plazo de resolución", moved[0], moved[1],
                              {"reason": f"el reloj de resolución se reanuda ({new.value})"})

    async def attach(self, interaction: Interaction,
                     attachments: Sequence[NewAttachment]) -> None:
        """The customer's files, stored already, joined to their message."""
        for a in attachments:
            self._attached.append(await insert(
                Attachment, interaction=interaction, filename=a.filename, content_type=a.content_type,
                size=a.size, sha256=a.sha256, stored_path=a.stored_path, note=a.note))


# The ticket with its customer and assignee, its row locked: every change starts here, so
# its SQL is built once (Tortoise builds this join anew each time: ~0.5 ms of CPU). Only
# the ticket's row is locked (``OF``): PostgreSQL refuses FOR UPDATE on the nullable side
# of the outer join to the assignee; the relations come along.
_LOCKED = PreparedSelect(Ticket, lambda number: Ticket.filter(id=number).select_for_update(
    of=("tickets",)).select_related(*TICKET_RELATED).limit(1), [987_654_321])


# Every column but the key, by field name (``customer_id`` for the relation): what an
# optimistic save writes.
_COLUMNS = tuple(name for name in Ticket._meta.fields_db_projection if name != "id")


_UNSET = object()


def _values(ticket: Ticket) -> dict[str, Any]:
    return {name: getattr(ticket, name) for name in _COLUMNS}


def _text(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    return str(getattr(value, "value", value))

"""The resolution clock of one ticket: start, pause, resume, and the deadline it implies.

The clock counts business hours while it runs (Estado Nuevo / En proceso, and
Esperando cliente when pausing is off). ``Ticket.resolution_hours_used`` holds what was
consumed before the current run, ``resolution_clock_since`` when the run began (NULL
while stopped). Resuming recomputes ``resolution_due`` from what is left, so a rejected
fix resumes the clock where it stood.
"""

from __future__ import annotations

from datetime import datetime

from bot.calendar import sla
from bot.process.domain import Estado
from bot.process.settings import Settings
from db.models import Ticket


def clock_should_run(estado: Estado, settings: Settings) -> bool:
    if estado in (Estado.NEW, Estado.IN_PROGRESS):
        return True
    if estado is Estado.WAITING_CUSTOMER:
        return not settings.pause_while_waiting_customer
    return False


def hours_used(ticket: Ticket, now: datetime, settings: Settings) -> float:
    """Business hours consumed so far, including the current run."""
    used = ticket.resolution_hours_used
    if ticket.resolution_clock_since is not None:
        used += max(0.0, sla.business_hours_between(ticket.resolution_clock_since, now,
                                                    settings))
    return used


def apply_estado(ticket: Ticket, new: Estado, now: datetime,
                 settings: Settings) -> tuple[datetime, datetime] | None:
    """Start or stop the clock for the new Estado.

    Returns ``(old_due, new_due)`` when the resolution deadline moved, so the caller
    can record in the history why it moved.
    """
    running = ticket.resolution_clock_since is not None
    should_run = clock_should_run(new, settings)
    if running and not should_run:
        ticket.resolution_hours_used = hours_used(ticket, now, settings)
        ticket.resolution_clock_since = None
        return None
    if not running and should_run:
        old_due = ticket.resolution_due
        remaining = settings.resolution_business_hours - ticket.resolution_hours_used
        ticket.resolution_clock_since = now
        if remaining > 0:
            ticket.resolution_due = sla.add_business_hours(now, remaining, settings)
        return (old_due, ticket.resolution_due) if ticket.resolution_due != old_due else None
    return None

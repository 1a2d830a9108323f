"""Deadline reminders, escalation and the morning summary (issue 6).

``build_reminders(services)`` wires the pieces once: the planner subscribes to the
ticket events (so ``Ticket.next_reminder_at`` follows every change) and wakes the
scheduler, whose ``run(stop)`` the composition root starts inside ``atiende run``.
"""

from __future__ import annotations

from bot.services import Services

from .dry_run import describe_due
from .planner import Planner
from .quiet import QuietHours
from .scheduler import ReminderService

__all__ = ["ReminderService", "build_reminders", "describe_due"]


def build_reminders(services: Services) -> ReminderService:
    """The reminder service for these services (call once per process)."""
    quiet = QuietHours(services.settings)
    planner = Planner(services.settings, services.clock, quiet)
    service = ReminderService(services, planner, quiet)
    planner.on_change(service.wake)
    services.tickets.work.planner = planner.plan_unsaved  # each save carries its plan
    services.bus.subscribe_local(planner.on_event)
    return service

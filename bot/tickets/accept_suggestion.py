"""One tap, "Aceptar sugerencia": the suggestion becomes a normal classification.

It goes through ``TicketService.classify`` with the version the card was drawn at, so
a stale card is refused like any other button, the history records who classified, and
the decision is kept as a labelled example. Only still-undecided fields are set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.process.errors import InvalidInput, StaleAction, TicketNotFound
from bot.process.views import Actor, TicketView
from bot.storage.presenters import TICKET_RELATED, ticket_view
from db.models import Ticket

if TYPE_CHECKING:
    from bot.tickets.service import TicketService


async def accept_suggestion(tickets: TicketService, actor: Actor, number: int,
                            expected_version: int | None) -> TicketView:
    row = await Ticket.get_or_none(id=number).select_related(*TICKET_RELATED)
    if row is None:
        raise TicketNotFound(number)
    view = ticket_view(row)
    if expected_version is not None and view.version != expected_version:
        raise StaleAction(number)
    tipo, prioridad = view.suggested_tipo, view.suggested_prioridad
    if tipo is None and prioridad is None:
        raise InvalidInput(f"El ticket #{number} no tiene una sugerencia pendiente.")
    return await tickets.classify(actor, number, tipo=tipo, prioridad=prioridad,
                                  expected_version=expected_version)

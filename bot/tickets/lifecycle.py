"""Which operation is legal in which Estado, and who may do it.

Kept apart from the service so the rules read as a table, and so front ends can ask
which buttons to draw (``allowed_actions``) with the same rules that enforce them.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from bot.process.domain import Estado
from bot.process.errors import InvalidTransition, NotAllowed
from bot.process.views import Actor, TicketView

log = logging.getLogger(__name__)


class Action(StrEnum):
    CLASSIFY = "clasificar"
    ASSIGN = "asignar"
    REPLY = "responder"
    NOTE = "nota"
    WAIT = "esperar"
    PROPOSE = "proponer"
    CONFIRM = "conforme"
    REJECT = "rechazar"
    REOPEN = "reabrir"
    DISCARD = "descartar"


OPEN = frozenset({Estado.NEW, Estado.IN_PROGRESS, Estado.WAITING_CUSTOMER,
                  Estado.PENDING_CONFORMITY})

# Action -> Estados where it is legal.
LEGAL: dict[Action, frozenset[Estado]] = {
    Action.CLASSIFY: frozenset(Estado),
    Action.ASSIGN: OPEN,
    Action.REPLY: OPEN | {Estado.RESOLVED},
    Action.NOTE: frozenset(Estado),
    Action.WAIT: frozenset({Estado.NEW, Estado.IN_PROGRESS}),
    Action.PROPOSE: frozenset({Estado.NEW, Estado.IN_PROGRESS, Estado.WAITING_CUSTOMER}),
    Action.CONFIRM: frozenset({Estado.PENDING_CONFORMITY}),
    Action.REJECT: frozenset({Estado.PENDING_CONFORMITY}),
    Action.REOPEN: frozenset({Estado.RESOLVED, Estado.DISCARDED}),
    Action.DISCARD: OPEN,
}

ADMIN_ONLY = frozenset({Action.REOPEN, Action.DISCARD})
# The customer (through a channel) or an automatic job may do these.
SYSTEM_ALLOWED = frozenset({Action.CONFIRM, Action.REJECT, Action.REOPEN, Action.NOTE})

_WHY_NOT: dict[Action, str] = {
    Action.ASSIGN: "No se puede asignar un ticket cerrado ({estado}).",
    Action.REPLY: "No se puede responder en un ticket {estado}.",
    Action.WAIT: "Solo un ticket Nuevo o En proceso puede quedar esperando al cliente "
                 "(está {estado}).",
    Action.PROPOSE: "No se puede proponer una solución: el ticket está {estado}.",
    Action.CONFIRM: "Solo se registra la conformidad de un ticket Pendiente de conformidad "
                    "(está {estado}).",
    Action.REJECT: "Solo un ticket Pendiente de conformidad puede volver a En proceso por "
                   "rechazo del cliente (está {estado}).",
    Action.REOPEN: "Solo se reabre un ticket Resuelto o Descartado (está {estado}).",
    Action.DISCARD: "El ticket ya está {estado}; no se puede descartar.",
}


def check_legal(action: Action, ticket_number: int, estado: Estado) -> None:
    if estado not in LEGAL[action]:
        message = _WHY_NOT.get(action, "Operación no permitida con el ticket {estado}.")
        raise InvalidTransition(f"#{ticket_number}: " + message.format(estado=estado.value))


def check_allowed(action: Action, actor: Actor) -> None:
    """Only active team members act; some actions are the administrator's alone.

    Every refusal is logged, whichever front end it came from."""
    if not actor.is_member:
        if action in SYSTEM_ALLOWED and actor.member is None:
            return
        refuse(action, actor, "not a team member")
        raise NotAllowed("Solo los miembros del equipo pueden hacer esto.")
    if action in ADMIN_ONLY and not actor.is_admin:
        refuse(action, actor, "administrator only")
        raise NotAllowed("Solo el administrador puede " + _ADMIN_VERB[action] + ".")


def refuse(action: Action, actor: Actor, why: str, ticket: int | None = None) -> None:
    """The one log line for a refused action (access audits read these)."""
    log.warning("action refused action=%s by=%s member=%s ticket=%s: %s", action.value,
                actor.name, actor.member.id if actor.member else "-",
                f"#{ticket}" if ticket else "-", why)


_ADMIN_VERB = {Action.REOPEN: "reabrir tickets", Action.DISCARD: "descartar tickets"}


def allowed_actions(ticket: TicketView, actor: Actor) -> list[Action]:
    """The actions this actor may take on this ticket now (what buttons to draw)."""
    result = []
    for action in Action:
        if ticket.estado not in LEGAL[action]:
            continue
        if action in ADMIN_ONLY and not actor.is_admin:
            continue
        result.append(action)
    return result

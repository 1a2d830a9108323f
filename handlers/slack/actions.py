"""Card buttons and selects (``block_actions``): ack, check who, one service call.

The card is redrawn by the event the service publishes (``events.CardPoster``); a
click on an old card (``StaleAction``) redraws it with the current state and says so.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot.process.domain import Prioridad, TipoIncidencia
from bot.process.errors import DomainError, StaleAction
from bot.process.views import Actor
from bot.tickets.accept_suggestion import accept_suggestion
from handlers.slack import identity, modals
from handlers.slack.blocks import parse_ref
from handlers.slack.context import SlackContext
from handlers.slack.events import CardPoster
from handlers.slack.payload import parsing

log = logging.getLogger(__name__)

Ack = Callable[..., Awaitable[None]]
Body = dict[str, Any]


def _ticket_ref(body: Body, action: Body) -> tuple[int, int | None]:
    """Buttons carry ``"12:7"`` as value; selects carry it in their block_id."""
    with parsing("ticket reference"):
        if action.get("type") == "button":
            return parse_ref(action.get("value"))
        return parse_ref(str(action.get("block_id", "")).partition(":")[2])


def _where(body: Body) -> tuple[str, str | None]:
    with parsing("user and channel"):
        return str(body["user"]["id"]), (body.get("channel") or {}).get("id")


async def guarded(ctx: SlackContext, poster: CardPoster, body: Body,
                  call: Callable[[Actor], Awaitable[object]]) -> None:
    """Who is asking, then the call; domain errors are told privately in Spanish."""
    user, channel = _where(body)
    actor = await identity.require(ctx, user, channel)
    if actor is None:
        return
    try:
        await call(actor)
    except StaleAction as exc:
        await ctx.tell(user, str(exc), channel)
        await redraw_current(ctx, poster, exc.number)
    except DomainError as exc:
        await ctx.tell(user, str(exc), channel)


async def redraw_current(ctx: SlackContext, poster: CardPoster, number: int,
                         rounds: int = 3) -> None:
    """Redraw a card outside the event path (a stale click): with several instances
    another one may draw a newer state meanwhile, so draw again until what was drawn is
    what the ticket is now."""
    view = await ctx.services.queries.get(number)
    for _ in range(rounds):
        await poster.redraw(view)
        now = await ctx.services.queries.get(number)
        if now.version == view.version:
            return
        view = now


class Actions:
    """One method per card element; registered in ``app.register``."""

    def __init__(self, ctx: SlackContext, poster: CardPoster) -> None:
        self.ctx, self.poster = ctx, poster
        self.t = ctx.services.tickets

    async def tipo(self, ack: Ack, body: Body, action: Body) -> None:
        """Tipo_Incidencia select."""
        await ack()
        number, version = _ticket_ref(body, action)
        with parsing("Tipo_Incidencia option"):
            tipo = TipoIncidencia(action["selected_option"]["value"])
        await guarded(self.ctx, self.poster, body, lambda a: self.t.classify(
            a, number, tipo=tipo, expected_version=version))

    async def prioridad(self, ack: Ack, body: Body, action: Body) -> None:
        """Prioridad select."""
        await ack()
        number, version = _ticket_ref(body, action)
        with parsing("Prioridad option"):
            prioridad = Prioridad(action["selected_option"]["value"])
        await guarded(self.ctx, self.poster, body, lambda a: self.t.classify(
            a, number, prioridad=prioridad, expected_version=version))

    async def accept(self, ack: Ack, body: Body, action: Body) -> None:
        """Aceptar sugerencia: the suggested type and priority as one classification."""
        await ack()
        number, version = _ticket_ref(body, action)
        await guarded(self.ctx, self.poster, body, lambda a: accept_suggestion(
            self.t, a, number, version))

    async def assign(self, ack: Ack, body: Body, action: Body) -> None:
        """Assignee users_select: the picked Slack user must be (or become) a member."""
        await ack()
        number, version = _ticket_ref(body, action)

        async def call(actor: Actor) -> object:
            # only after the clicker is known: a stranger's click links nobody
            picked = await identity.resolve(self.ctx, action.get("selected_user"))
            if picked is None or picked.member is None:
                raise DomainError(f"<@{action.get('selected_user')}> no es parte del equipo "
                                  "de Atiende.")
            return await self.t.assign(actor, number, picked.member.id,
                                       expected_version=version)

        await guarded(self.ctx, self.poster, body, call)

    async def propose(self, ack: Ack, body: Body, action: Body) -> None:
        """Proponer solución: the conformity request goes to the customer."""
        await ack()
        number, version = _ticket_ref(body, action)
        await guarded(self.ctx, self.poster, body, lambda a: self.t.propose(
            a, number, expected_version=version))

    async def confirm(self, ack: Ack, body: Body, action: Body) -> None:
        """Cliente conforme: Resuelto, with Fecha_Resolucion."""
        await ack()
        number, version = _ticket_ref(body, action)
        await guarded(self.ctx, self.poster, body, lambda a: self.t.confirm(
            a, number, expected_version=version))

    async def reject(self, ack: Ack, body: Body, action: Body) -> None:
        """Sigue pendiente: back to En proceso."""
        await ack()
        number, version = _ticket_ref(body, action)
        await guarded(self.ctx, self.poster, body, lambda a: self.t.reject(
            a, number, expected_version=version))

    async def reopen(self, ack: Ack, body: Body, action: Body) -> None:
        """Reabrir (the core allows it to the administrator only)."""
        await ack()
        number, version = _ticket_ref(body, action)
        await guarded(self.ctx, self.poster, body, lambda a: self.t.reopen(
            a, number, expected_version=version))

    async def open_modal(self, ack: Ack, body: Body, action: Body) -> None:
        """Responder, Nota, Descartar: a modal (needs the trigger_id within 3 s)."""
        await ack()
        number, version = _ticket_ref(body, action)
        _, channel = _where(body)
        with parsing("modal button"):
            kind = str(action["action_id"]).removeprefix("atiende_")
            trigger_id = str(body["trigger_id"])

        await guarded(self.ctx, self.poster, body, lambda a: modals.open_for(
            self.ctx, kind, trigger_id, a, number, channel, version))

    async def ignore(self, ack: Ack) -> None:
        """Any other element (links, old buttons of other apps): acknowledged, nothing more."""
        await ack()

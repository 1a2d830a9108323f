"""Slack's side of the inbox: "Reintentar" under a quarantine notice, and "Es del
cliente" under a third party's message in a ticket's thread.

Registered by ``app.register`` (one line) before the catch-all action listener; each
click checks who is asking like every other card element.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bot.incoming.inbox_items import RETRY_ACTION
from bot.process.errors import DomainError
from bot.process.notify import DigestAction
from bot.process.views import InteractionView
from handlers.slack import identity
from handlers.slack.context import SlackContext
from handlers.slack.mrkdwn import escape

RETRY_ID = "atiende_inbox_retry"
LINK_ID = "atiende_es_del_cliente"

Ack = Callable[..., Awaitable[None]]
Body = dict[str, Any]


def action_blocks(actions: tuple[DigestAction, ...]) -> list[dict[str, Any]]:
    """Buttons for the digest actions Slack knows (quarantine: Reintentar)."""
    buttons = [{"type": "button", "action_id": RETRY_ID, "value": str(a.ref),
                "text": {"type": "plain_text", "text": a.label[:75]}}
               for a in actions if a.action == RETRY_ACTION]
    return [{"type": "actions", "elements": buttons}] if buttons else []


def link_button(interaction: InteractionView) -> dict[str, Any]:
    """Under a third party's message: link that sender to the ticket's customer."""
    return {"type": "actions", "elements": [{
        "type": "button", "action_id": LINK_ID, "value": str(interaction.id),
        "text": {"type": "plain_text", "text": "👤 Es del cliente"}}]}


class InboxActions:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def _who(self, body: Body) -> tuple[Any, str, str | None]:
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
        return await identity.require(self.ctx, user, channel), user, channel

    async def retry(self, ack: Ack, body: Body, action: Body) -> None:
        """Reintentar: back in line and tried now; the outcome told privately."""
        await ack()
        actor, user, channel = await self._who(body)
        if actor is None:
            return
        entry = await self.ctx.services.inbox.retry(int(action["value"]))
        if entry is None:
            text = "Ese mensaje ya no existe."
        elif entry.status == "procesado":
            text = f"Procesado{f' (ticket #{entry.ticket_number})' if entry.ticket_number else ''}."
        else:
            text = f"Sigue sin procesarse: {escape(entry.last_error[:300])}"
        await self.ctx.tell(user, text, channel)

    async def link(self, ack: Ack, body: Body, action: Body) -> None:
        """Es del cliente: that address or phone speaks for the customer from now on."""
        await ack()
        actor, user, channel = await self._who(body)
        if actor is None:
            return
        try:
            customer, sender = await self.ctx.services.customers.link_third_party(
                actor, int(action["value"]))
        except DomainError as exc:
            await self.ctx.tell(user, str(exc), channel)
            return
        who = customer.name or customer.email or customer.phone or ""
        await self.ctx.tell(user, f"Listo: {escape(sender)} queda vinculado a {escape(who)}.",
                            channel)


def register(app: Any, ctx: SlackContext, tolerant: Callable[[Any], Any]) -> None:
    actions = InboxActions(ctx)
    app.action(RETRY_ID)(tolerant(actions.retry))
    app.action(LINK_ID)(tolerant(actions.link))

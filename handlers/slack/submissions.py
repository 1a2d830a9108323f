"""Modal listeners: submissions (ack first, then one service call) and the reply
modal's template select (redraws the preview with ``views.update``)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.process.errors import DomainError
from handlers.slack import identity
from handlers.slack.actions import Ack
from handlers.slack.context import SlackContext
from handlers.slack.customers import SUBMITS as CUSTOMER_SUBMITS
from handlers.slack.modals import SUBMITS, meta, reply_view
from handlers.slack.mrkdwn import escape
from handlers.slack.payload import Malformed, parsing

log = logging.getLogger(__name__)


class Modals:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def submitted(self, ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Any of our modals was sent: close it, act, tell the result privately."""
        await ack()
        with parsing("modal submission"):
            user, channel = str(body["user"]["id"]), meta(view).get("c")
        actor = await identity.require(self.ctx, user, channel)
        submit = {**SUBMITS, **CUSTOMER_SUBMITS}.get(str(view.get("callback_id")))
        if actor is None or submit is None:
            return
        try:
            done = await submit(self.ctx, actor, view)
        except (DomainError, Malformed) as exc:
            message = escape(str(exc)) if isinstance(exc, DomainError) else \
                "No entendí el formulario; vuelva a intentarlo."
            await self.ctx.tell(user, message, channel)
            return
        await self.ctx.tell(user, done, channel)

    async def template_changed(self, ack: Ack, body: dict[str, Any],
                               action: dict[str, Any]) -> None:
        """The reply modal's template select: show that template's preview."""
        await ack()
        view = body.get("view") or {}
        m = meta(view)
        with parsing("template select"):
            user = str(body["user"]["id"])
            number = int(m["n"]) if "n" in m else None
            picked = (action.get("selected_option") or {}).get("value")
        actor = await identity.resolve(self.ctx, user)
        if actor is None or number is None:
            return
        try:
            new = await reply_view(self.ctx, actor, number, m.get("c"), picked)
            await self.ctx.client.views_update(view_id=view["id"], hash=view.get("hash"),
                                               view=new)
        except (DomainError, SlackApiError) as exc:  # hash_conflict: a newer view won
            log.info("reply preview not updated: %s", exc)

    async def closed(self, ack: Ack) -> None:
        """A modal was cancelled, or someone else's view: nothing to do."""
        await ack()

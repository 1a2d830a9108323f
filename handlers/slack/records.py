"""The "Expediente" button on a Slack card: the ticket's case file (printable HTML and
attachments, one .zip) uploaded to the card's thread, where the team already reads the
case. Any team member may ask; the work is ``services.records``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.process.errors import DomainError
from handlers.slack import identity
from handlers.slack.blocks import parse_ref
from handlers.slack.context import PLATFORM, SlackContext
from handlers.slack.mrkdwn import escape

log = logging.getLogger(__name__)


class CaseFiles:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    async def case_file(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any],
                        action: dict[str, Any]) -> None:
        """Expediente: build the case file and upload it to the card's thread."""
        await ack()
        number, _ = parse_ref(action.get("value"))
        user, channel = body["user"]["id"], (body.get("channel") or {}).get("id")
        actor = await identity.require(self.ctx, user, channel)
        if actor is None:
            return
        try:
            name, data = await self.ctx.services.records.case_file_bytes(actor, number)
        except DomainError as exc:
            await self.ctx.tell(user, str(exc), channel)
            return
        card = await self.ctx.services.cards.get(PLATFORM, number, self.ctx.channel)
        try:
            await self.ctx.client.files_upload_v2(
                channel=self.ctx.channel, thread_ts=card.message_id if card else None,
                file=data, filename=name, title=f"Expediente del ticket #{number}",
                initial_comment=f"Expediente del ticket #{number} (pedido por {escape(actor.name)}): "
                                "documento imprimible y adjuntos.")
        except SlackApiError as exc:
            log.warning("case file upload failed ticket=#%s: %s", number,
                        exc.response.get("error"))
            await self.ctx.tell(user, "No pude subir el expediente a Slack; genérelo con "
                                f"«atiende ticket file {number}».", channel)

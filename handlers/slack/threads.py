"""Messages in the support channel: a team member's reply in a card's thread is an
internal note (only the reply modal reaches the customer).

Bot messages, our own posts, edits and top-level chatter are ignored; Slack's retried
deliveries are recognised by the message's ts.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.process.errors import DomainError
from handlers.slack import home, identity
from handlers.slack.context import PLATFORM, SlackContext
from handlers.slack.payload import parsing

log = logging.getLogger(__name__)

SEEN = "slack.thread_notes"  # kv namespace: "<channel>:<ts>" of messages already noted
# Subtypes that are still a person writing (a broadcast reply, a reply with a file).
_PERSON_SUBTYPES = {None, "thread_broadcast", "file_share"}


class Threads:
    def __init__(self, ctx: SlackContext) -> None:
        self.ctx = ctx

    def _is_team_reply(self, event: dict[str, Any]) -> bool:
        thread_ts = event.get("thread_ts")
        return bool(
            event.get("subtype") in _PERSON_SUBTYPES and not event.get("bot_id")
            and event.get("user") and thread_ts and thread_ts != event.get("ts")
            and event.get("channel") == self.ctx.channel and (event.get("text") or "").strip())

    async def message(self, event: dict[str, Any]) -> None:
        """A thread reply under a ticket card -> ``tickets.note``."""
        if not self._is_team_reply(event):
            return
        with parsing("thread reply"):
            channel, ts, user = str(event["channel"]), str(event.get("ts")), str(event["user"])
            thread_ts, text = str(event["thread_ts"]), str(event["text"]).strip()
        ref = await self.ctx.services.cards.by_message(PLATFORM, channel, thread_ts)
        if ref is None:
            return
        actor = await identity.require(self.ctx, user, channel)
        if actor is None:
            return
        if not await self.ctx.services.kv.add_if_absent(SEEN, f"{channel}:{ts}", True):
            log.info("slack retry of an already noted message ts=%s", ts)
            return
        self.ctx.quiet_notes.add((ref.ticket_number, text))  # already visible in the thread
        try:
            await self.ctx.services.tickets.note(actor, ref.ticket_number, text)
        except DomainError as exc:
            self.ctx.quiet_notes.discard((ref.ticket_number, text))
            await self.ctx.services.kv.delete(SEEN, f"{channel}:{ts}")
            await self.ctx.tell(user, str(exc), channel)
            return
        try:  # a small sign that the reply became an internal note
            await self.ctx.client.reactions_add(channel=channel, timestamp=ts, name="memo")
        except SlackApiError as exc:
            log.debug("reaction not added: %s", exc.response.get("error"))

    async def home_opened(self, event: dict[str, Any]) -> None:
        """The App Home tab was opened."""
        if event.get("tab", "home") == "home" and event.get("user"):
            await home.on_home_opened(self.ctx, event["user"])

    async def ignore(self) -> None:
        """Events we subscribe to but do not act on (mentions, reactions, ...)."""

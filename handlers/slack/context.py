"""What every Slack listener shares: the services, the Web API client, the channel.

Built once per front end and handed to the listeners (no globals). ``Pacer`` keeps
``chat.postMessage`` (and file uploads, which post too) near Slack's ~1 post/s per
channel so bursts queue here instead of earning 429s; card edits are not paced.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services

log = logging.getLogger(__name__)

PLATFORM = "slack"


class Pacer:
    """At most one post per ``interval`` seconds per channel (Slack: about 1/s).

    ``monotonic`` and ``sleep`` are injectable so tests can hold or count the waits."""

    def __init__(self, interval: float = 1.0,
                 monotonic: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._interval = interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._locks: dict[str, asyncio.Lock] = {}
        self._last: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        if self._interval <= 0:
            return
        lock = self._locks.setdefault(channel, asyncio.Lock())
        async with lock:
            delay = self._last.get(channel, float("-inf")) + self._interval - self._monotonic()
            if delay > 0:
                await self._sleep(delay)
            self._last[channel] = self._monotonic()


@dataclass
class SlackContext:
    services: Services
    client: AsyncWebClient
    channel: str
    pacer: Pacer = field(default_factory=Pacer)
    # (ticket, text) of notes typed as thread replies: already in the thread, not echoed.
    quiet_notes: set[tuple[int, str]] = field(default_factory=set)
    # our workspace (auth.test), asked once: only its full members are linked by email
    team_id: str | None = None

    async def post(self, channel: str, **kwargs: Any) -> dict[str, Any]:
        """chat.postMessage, paced per channel (429s are retried by the client)."""
        await self.pacer.wait(channel)
        response = await self.client.chat_postMessage(channel=channel, **kwargs)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def tell(self, user_id: str, text: str, channel: str | None = None) -> None:
        """A private answer: ephemeral in the channel it came from, else a DM."""
        try:
            if channel:
                await self.client.chat_postEphemeral(channel=channel, user=user_id, text=text)
            else:
                await self.post(user_id, text=text)
        except SlackApiError as exc:  # e.g. the channel is gone: fall back to a DM once
            log.warning("could not tell user=%s: %s", user_id, exc.response.get("error"))
            if channel:
                await self.post(user_id, text=text)

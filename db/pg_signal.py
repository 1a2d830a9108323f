"""PostgreSQL ``LISTEN/NOTIFY``: the wake-up between instances (``bot.jobs.event_relay.Signal``).

``notify`` goes through Tortoise's own connection; ``listen`` holds one extra asyncpg
connection of its own for as long as this instance relays events (a pooled connection
would be handed to other queries). asyncpg is imported only here, and only on
PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

from tortoise import connections

log = logging.getLogger(__name__)

CHANNEL = "atiende_ticket_events"


class PostgresSignal:
    def __init__(self, url: str) -> None:
        self._url = url.split("?", 1)[0]  # Tortoise's own options mean nothing to asyncpg

    async def notify(self) -> None:
        await connections.get("default").execute_query(f"NOTIFY {CHANNEL}")

    @contextlib.asynccontextmanager
    async def listen(self, wake: Callable[[], None]) -> AsyncIterator[None]:
        import asyncpg

        conn = await asyncpg.connect(self._url)

        def on_notify(*_: Any) -> None:
            wake()

        try:
            await conn.add_listener(CHANNEL, on_notify)
            yield
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 5)

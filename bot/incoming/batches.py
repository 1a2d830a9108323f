"""Several inbound messages, one commit: what makes a history import fast.

Every commit waits for the disk (SQLite runs with ``synchronous=FULL``), and a message
stored through the inbox and the intake commits four or five times. A caller that feeds
many messages from a source it keeps (``atiende mail import`` reads files that stay on
disk) wraps a batch of them in ``atomic`` and each message in ``atomic`` again:

    async with atomic(bus):                 # the batch: one transaction, one fsync
        for raw in batch:
            try:
                async with atomic(bus):     # the message: a savepoint
                    await ingest(raw)
            except Exception:
                ...                         # only this message is rolled back

A batch of new mails is first tried without the inner savepoints
(``bot.storage.savepoints.optimistic``: two round trips fewer per mail and per unit of
work); should anything in it fail, it is rolled back and done again as above.

The guarantees hold: a crash mid-batch rolls the whole batch back (nothing half-stored;
the source still holds it, and importing again stores each message once, by its id), a
failing message leaves the others of its batch intact, and events reach subscribers only
after the outer commit (``EventBus.held``). Live channels (webhooks, IMAP) do not use
this: they must acknowledge each message as soon as it is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from tortoise.transactions import in_transaction

from bot.process.events import EventBus


@asynccontextmanager
async def atomic(bus: EventBus) -> AsyncIterator[None]:
    """One transaction (a savepoint when nested) whose events wait for its success."""
    async with bus.held(), in_transaction():
        yield

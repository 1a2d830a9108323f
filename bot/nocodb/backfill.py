"""``atiende nocodb backfill``: everything we have, sent once.

It queues every customer, ticket and interaction that has no NocoDB row yet and drains
the queue. The queue is durable, so an interrupted backfill resumes where it stopped
(running it again queues only what is still missing); rows NocoDB already holds are
found by our id, never inserted twice.
"""

from __future__ import annotations

from typing import cast

from bot.nocodb.push import Pusher
from bot.process.clock import Clock
from bot.storage.nocodb_queue import many
from db.models import Customer, Interaction, NocoRow, Ticket


async def enqueue_missing(clock: Clock) -> int:
    """Queue what NocoDB does not have yet; returns how many records."""
    now = clock.now()
    total = 0
    for kind, model in (("cliente", Customer), ("ticket", Ticket),
                        ("interaccion", Interaction)):
        known = set(await NocoRow.filter(kind=kind).values_list("ref_id", flat=True))
        every = cast(list[int], await model.all().order_by("id").values_list("id", flat=True))
        ids = [i for i in every if i not in known]
        total += await many(kind, ids, now)
    return total


async def backfill(pusher: Pusher, clock: Clock) -> tuple[int, int]:
    """(records queued, records pushed)."""
    queued = await enqueue_missing(clock)
    return queued, await pusher.drain()

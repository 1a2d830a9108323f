"""What the inbox stores, as its processors and people see it: the item's states, its
plain view (``InboxEntry``), and the retry schedule.

Apart from the worker (``inbox.py``) so that a processor or a front end can name an item
without the machinery that stores and runs it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.process.domain import Canal
from db.models import InboxItem, InboxRaw

PENDING = "pendiente"
DONE = "procesado"
QUARANTINED = "en cuarentena"
# A worker that dies mid-item leaves its claim to expire; processing is idempotent (the
# intake knows every message id), so a short lease only risks wasted work, never a copy.
LEASE_SECONDS = 30
BACKOFF_SECONDS = (1, 5, 30, 120, 600, 1800)
PASS_LIMIT = 50  # items tried per pass of the worker
RETRY_ACTION = "inbox_retry"
MAX_BATCH = 200  # webhooks committed together at most
# Events waiting to be processed at once, at most: past it (a burst), an event is stored
# first and its 200 leaves at once, so no provider waits behind a long queue.
AT_ONCE_QUEUE = 32


class PermanentInboxError(Exception):
    """Retrying cannot help (no usable sender, over the limits): quarantine at once."""


@dataclass(frozen=True)
class InboxEntry:
    """One stored event as a processor and a person see it (no ORM objects)."""

    id: int
    key: str
    channel: Canal
    kind: str
    payload: dict[str, Any]
    raw: bytes | None
    summary: str
    status: str
    attempts: int
    last_error: str
    created_at: datetime
    ticket_number: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Accepted:
    """What ``accept`` did: ``new`` is False for a redelivery (already stored)."""

    id: int
    new: bool


Processor = Callable[[InboxEntry], Awaitable[int | None]]  # returns the ticket number


def entry_of(row: InboxItem, raw: bytes | None = None) -> InboxEntry:
    return InboxEntry(
        id=row.id, key=row.key, channel=Canal(row.channel), kind=row.kind,
        payload=dict(row.payload or {}), raw=raw,
        summary=row.summary, status=row.status, attempts=row.attempts,
        last_error=row.last_error, created_at=row.created_at, ticket_number=row.ticket_id_ref)


async def raw_of(item_id: int) -> bytes | None:
    found = await InboxRaw.filter(item_id=item_id).values_list("data", flat=True)
    return bytes(found[0]) if found else None

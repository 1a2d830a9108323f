"""Writing inbox rows: one, many together, or one together with its processing.

Apart from the worker (``inbox.py``), which decides *when* to store and to process; here
is only *how* a row gets in. A unique key makes every insert a redelivery check: a
known key stores nothing and answers with the row that holds it.

``store_processed`` is the short path for an event whose processing is database work
only (a WhatsApp text, a delivery status): the processor runs and the row is inserted
already processed, in one transaction. The provider hears "received" after that one
commit, exactly as it would after the plain insert; a crash before it leaves nothing
behind (the provider delivers again), a crash after it leaves the event stored and done.
What the processing publishes waits for the commit (``EventBus.held``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.incoming.batches import atomic
from bot.incoming.inbox_items import (
    BACKOFF_SECONDS,
    DONE,
    MAX_BATCH,
    PENDING,
    QUARANTINED,
    Accepted,
    InboxEntry,
    PermanentInboxError,
    Processor,
)
from bot.incoming.quarantine import tell_team
from bot.process.domain import Canal
from bot.process.events import EventBus
from bot.process.notify import Notifier
from bot.storage.inserts import insert
from bot.storage.savepoints import optimistic
from db.models import InboxItem, InboxRaw

log = logging.getLogger(__name__)


class ProcessingFailed(Exception):
    """The processor raised inside ``store_processed``: everything it did was rolled back
    and nothing is stored; the cause is ``__cause__``."""


class KnownKey(Exception):
    """``insert_done`` met a stored key: the caller rolls its savepoint back (on
    PostgreSQL the failed insert has aborted it) and takes the long way."""


@dataclass(frozen=True)
class Unstored:
    """An event handed to the worker before it is stored: its row's fields."""

    fields: dict[str, Any]

    def entry(self, item_id: int = 0) -> InboxEntry:
        """What the processor sees: the event as it will be stored (id 0 until it is)."""
        f = self.fields
        return InboxEntry(id=item_id, key=f["key"], channel=Canal(f["channel"]), kind=f["kind"],
                          payload=dict(f["payload"]), raw=None, summary=f["summary"],
                          status=PENDING, attempts=0, last_error="", created_at=f["created_at"])


async def insert_one(fields: dict[str, Any], raw: bytes | None = None) -> Accepted:
    """One row (with its raw bytes, in the same transaction); a known key stores nothing."""
    try:
        if raw is None:
            row = await insert(InboxItem, **fields)
        else:
            async with in_transaction():
                row = await insert(InboxItem, **fields)
                await insert(InboxRaw, item=row, data=raw)
    except IntegrityError:  # stored already (a redelivery, or a concurrent one)
        return await _known(fields["key"])
    return Accepted(row.id, new=True)


async def insert_many(rows: list[dict[str, Any]]) -> list[Accepted]:
    """Several rows in one commit (concurrent webhooks); one by one if a key is known."""
    keys = [r["key"] for r in rows]
    if len(set(keys)) == len(keys):
        try:
            async with in_transaction():
                await InboxItem.bulk_create([InboxItem(**r) for r in rows])
        except IntegrityError:
            pass  # a key known already: one by one below
        else:
            ids = dict(await InboxItem.filter(key__in=keys).values_list("key", "id"))
            return [Accepted(int(ids[k]), new=True) for k in keys]
    return [await insert_one(r) for r in rows]


class GroupCommit:
    """Concurrent webhooks share one commit: SQLite has one writer, so sixteen separate
    inserts would queue behind each other (and each wait for the disk)."""

    def __init__(self) -> None:
        self._batch: list[tuple[dict[str, Any], asyncio.Future[Accepted]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def insert(self, fields: dict[str, Any]) -> Accepted:
        """``insert_one``, committed with whatever else arrives in the same tick."""
        done: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._batch.append((fields, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await done

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # requests arriving in this tick join the batch
        while self._batch:
            batch, self._batch = self._batch[:MAX_BATCH], self._batch[MAX_BATCH:]
            try:
                if len(batch) == 1:
                    results = [await insert_one(batch[0][0])]
                else:
                    results = await insert_many([f for f, _ in batch])
            except Exception as exc:  # the database refused: every caller answers 5xx
                for _, done in batch:
                    answer(done, exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                answer(done, result)


async def store_processed(item: Unstored, processor: Processor, bus: EventBus,
                          now: datetime) -> Accepted:
    """Process ``item`` and store it processed, in one transaction.

    A known key (a redelivery) rolls the processing back and answers with the stored
    row. Raises ``ProcessingFailed`` when the processor fails (nothing stored: the
    caller stores the item the usual way, for a retry)."""
    try:
        async with atomic(bus):
            try:
                number = await processor(item.entry())
            except Exception as exc:
                raise ProcessingFailed(str(exc)) from exc
            row = await insert(InboxItem, **_processed(item, number, now))
    except IntegrityError:
        return await _known(item.fields["key"])
    return Accepted(row.id, new=True)


# What became of one event handed over unstored: stored (``Accepted``), its processing
# failed (``ProcessingFailed``: to be stored for a retry), or the database refused it.
Outcome = Accepted | Exception
Handed = tuple[InboxEntry, datetime] | tuple[Unstored, "asyncio.Future[Accepted]"]


def unstored_run(handed: deque[Handed]) -> list[tuple[Unstored, asyncio.Future[Accepted]]]:
    """Takes the events handed over unstored at the head of the worker's line, in
    arrival order: they are stored together (``store_processed_together``)."""
    run: list[tuple[Unstored, asyncio.Future[Accepted]]] = []
    while handed and isinstance(handed[0][0], Unstored):
        item, done = handed.popleft()
        assert isinstance(item, Unstored) and isinstance(done, asyncio.Future)
        run.append((item, done))
    return run


async def store_processed_together(items: Sequence[Unstored],
                                   processors: Mapping[str, Processor], bus: EventBus,
                                   now: datetime) -> list[Outcome]:
    """``store_processed`` for the events waiting together, in one commit: one disk flush
    for all of them instead of one each (concurrent webhooks queue up while one batch
    commits). Tried optimistically first, without savepoints; should anything fail, the
    batch is rolled back whole and each event stored again in its own transaction, so
    one that fails (``ProcessingFailed``, or the database's error, in its place) or is
    known already is rolled back alone."""
    try:
        return await _optimistically(items, processors, bus, now)
    except Exception as exc:  # rolled back whole: each is stored again on its own
        log.info("inbox: %s events stored one by one after %s", len(items),
                 type(exc.__cause__ if isinstance(exc, _Redo) else exc).__name__)
    return [await _one(item, processors, bus, now) for item in items]


class _Redo(Exception):
    """Something in the batch failed and was caught on the way: roll back, redo."""


async def _optimistically(items: Sequence[Unstored], processors: Mapping[str, Processor],
                          bus: EventBus, now: datetime) -> list[Outcome]:
    """All the events in one transaction with no savepoint at all (``optimistic``): two
    round trips fewer per event and per unit of work. Any failure (a processing that
    raises, a key known already, a stale ticket a unit would read again) rolls the whole
    batch back, events included, and raises."""
    stored: list[Outcome] = []
    async with atomic(bus), optimistic() as batch:
        for item in items:
            number = await processors[item.fields["kind"]](item.entry())
            row = await insert(InboxItem, **_processed(item, number, now))
            stored.append(Accepted(row.id, new=True))
        if batch.failed is not None:
            raise _Redo from batch.failed
    return stored


def _processed(item: Unstored, number: int | None, now: datetime) -> dict[str, Any]:
    return {**item.fields, "status": DONE, "processed_at": now, "ticket_id_ref": number,
            "attempts": 1, "next_attempt_at": now}


async def _one(item: Unstored, processors: Mapping[str, Processor], bus: EventBus,
               now: datetime) -> Outcome:
    try:
        return await store_processed(item, processors[item.fields["kind"]], bus, now)
    except Exception as exc:  # a failed processing, or the database refused this one
        return exc


async def insert_done(channel: Canal, kind: str, key: str, *, raw: bytes, summary: str,
                      ticket_number: int | None, now: datetime) -> int:
    """The row of an event the caller has just processed, inserted already processed with
    its raw bytes inside the caller's savepoint (none of its own: the caller's commit
    makes the processing and the row durable together, or neither). Raises ``KnownKey``
    for a stored key: the caller's savepoint must then be rolled back whole."""
    try:
        row = await insert(InboxItem, **_done(channel, kind, Done(key, raw, summary,
                                                                    ticket_number), now))
    except IntegrityError as exc:
        raise KnownKey(key) from exc
    await insert(InboxRaw, item=row, data=raw)
    return row.id


@dataclass(frozen=True)
class Done:
    """An event its caller has just processed, to be stored processed (``insert_all_done``)."""

    key: str
    raw: bytes
    summary: str
    ticket_number: int | None


async def insert_all_done(channel: Canal, kind: str, events: Sequence[Done],
                          now: datetime) -> None:
    """``insert_done`` for a batch its caller has just processed, in the caller's
    transaction: two inserts and one read for the lot instead of two inserts each. A key
    stored meanwhile raises ``IntegrityError`` (on PostgreSQL it has aborted the
    transaction): the caller rolls the whole batch back."""
    if not events:
        return
    await InboxItem.bulk_create([InboxItem(**_done(channel, kind, e, now)) for e in events])
    keys = [e.key[:255] for e in events]
    ids = dict(await InboxItem.filter(key__in=keys).values_list("key", "id"))
    await InboxRaw.bulk_create([InboxRaw(item_id=ids[k], data=e.raw)
                                for k, e in zip(keys, events, strict=True)])


def _done(channel: Canal, kind: str, event: Done, now: datetime) -> dict[str, Any]:
    return {"key": event.key[:255], "channel": channel, "kind": kind, "payload": {},
            "summary": event.summary[:300], "created_at": now, "status": DONE,
            "processed_at": now, "ticket_id_ref": event.ticket_number, "attempts": 1,
            "next_attempt_at": now}


async def known_keys(keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are stored already (one statement for a batch of them)."""
    if not keys:
        return set()
    found = await InboxItem.filter(key__in=[k[:255] for k in keys]).values_list("key",
                                                                               flat=True)
    return {str(k) for k in found}


async def _known(key: str) -> Accepted:
    found = await InboxItem.get(key=key)
    return Accepted(found.id, new=False)


async def record_failure(entry: InboxEntry, exc: Exception, *, now: datetime,
                         max_attempts: int, notifiers: Sequence[Notifier]) -> None:
    """A processing attempt failed: due again after a backoff, or quarantined (at once
    for what retrying cannot help, ``PermanentInboxError``) and the team told."""
    permanent = isinstance(exc, PermanentInboxError)
    error = str(exc) if permanent else f"{type(exc).__name__}: {exc}"
    if not permanent:  # a bug or a transient failure: retried, then quarantined
        log.warning("inbox item %s (%s) failed attempt=%s: %s", entry.id, entry.kind,
                    entry.attempts + 1, error, exc_info=exc)
    attempts = entry.attempts + 1
    final = permanent or attempts >= max_attempts
    delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
    await InboxItem.filter(id=entry.id).update(
        attempts=attempts, last_error=error[:4000],
        status=QUARANTINED if final else PENDING, next_attempt_at=now + timedelta(seconds=delay))
    if final:  # bad input is a warning; a failure that outlived its retries an error
        log.log(logging.WARNING if permanent else logging.ERROR,
                "inbox item %s quarantined after %s attempt(s): %s", entry.id, attempts,
                error[:300])
        await tell_team(notifiers, entry, error)


def answer(done: asyncio.Future[Accepted], outcome: Accepted | BaseException) -> None:
    """Answer a waiting ``accept`` (unless its caller has gone)."""
    if done.done():
        return
    if isinstance(outcome, BaseException):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)

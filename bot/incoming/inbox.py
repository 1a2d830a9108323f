"""The inbox: every inbound customer event is stored first, processed after.

The mirror of the outbox. A channel adapter calls ``accept`` with the provider's id as
the key: one insert, committed before the provider is told "received" (HTTP 200, IMAP
progress). A redelivery finds the key and changes nothing. ``InboxWorker`` then hands
each item to the processor registered for its kind (the adapter's translation into one
``IncomingMessage`` for ``IntakeService.receive``), with retries and backoff. After
``inbox_max_attempts`` failures, or at once for an item that can never succeed, the item
is *quarantined*: kept with its error, listed by ``atiende inbox``, and shown to the team
with a one-tap "Reintentar". A poison item never blocks the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from bot.incoming.inbox_items import (
    BACKOFF_SECONDS,
    DONE,
    LEASE_SECONDS,
    MAX_BATCH,
    PASS_LIMIT,
    PENDING,
    QUARANTINED,
    Accepted,
    InboxEntry,
    PermanentInboxError,
    Processor,
    entry_of,
    raw_of,
)
from bot.incoming.quarantine import tell_team
from bot.process.clock import Clock
from bot.process.domain import Canal
from bot.process.notify import Notifier
from bot.process.settings import Settings
from bot.process.wakeup import sleep_until_woken
from bot.storage.updates import update_where
from db.models import InboxItem, InboxRaw

log = logging.getLogger(__name__)

class InboxWorker:
    """Stores inbound events and processes them through the registered processors.

    While a worker loop runs in this process, ``accept`` also hands each new item to the
    loop in memory, stored with its claim already taken (due only after the lease, like
    an item a worker has claimed): the processor runs with no claim, no due-scan and no
    read-back per message. Should the process die first, any worker (a restart included)
    finds it in the table once the claim runs out, as it finds every item another
    process stored, every retry and every requeued item. An item the loop reaches late,
    with its claim close to running out, is claimed again first (conditionally: another
    worker may have taken it meanwhile), and a worker that stops gives back the claims
    of what it had not reached.
    """

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._processors: dict[str, Processor] = {}
        self._wake = asyncio.Event()
        self._notifiers: Callable[[], list[Notifier]] = list
        self.running = False  # a worker loop runs in this process
        self._busy = 0  # items being processed in this process right now
        self._idle = asyncio.Event()
        self._idle.set()
        self._batch: list[tuple[dict[str, Any], asyncio.Future[Accepted]]] = []
        self._flusher: asyncio.Task[None] | None = None
        # Items this process stored, claimed, while its worker runs, with the time their
        # claim runs out (their ``next_attempt_at``); not read back.
        self._handed: deque[tuple[InboxEntry, datetime]] = deque()
        self._rescan = False  # wake() asked for a look at the table, not just the hand-over
        self._stop: asyncio.Event | None = None  # the running loop's stop signal

    def notify_through(self, notifiers: Callable[[], list[Notifier]]) -> None:
        """Where quarantine notices go (the chat front ends' notifiers, read when due)."""
        self._notifiers = notifiers

    def register(self, kind: str, processor: Processor) -> None:
        self._processors[kind] = processor

    def wake(self) -> None:
        """Something is due in the table (a requeue, an item stored by a process whose
        worker is not running): look now, not at the next tick. Items ``accept`` hands
        over need no wake."""
        self._rescan = True
        self._wake.set()

    # --- storing ------------------------------------------------------------------
    async def accept(self, channel: Canal, kind: str, key: str, *,
                     payload: dict[str, Any] | None = None, raw: bytes | None = None,
                     summary: str = "") -> Accepted:
        """Store one event unless its key is known (the unique key turns a redelivery into
        a lookup); returns once it is committed.

        Concurrent webhooks share one commit (a group commit): SQLite has one writer, so
        sixteen separate inserts would queue behind each other.
        """
        now = self._clock.now()
        hand_over = self.running and kind in self._processors
        due = now + timedelta(seconds=LEASE_SECONDS) if hand_over else now  # claimed
        fields: dict[str, Any] = {
            "key": key[:255], "channel": channel, "kind": kind, "payload": payload or {},
            "summary": summary[:300], "next_attempt_at": due, "created_at": now}
        if raw is not None:
            accepted = await self._insert(fields, raw)
        else:
            done: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
            self._batch.append((fields, done))
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.create_task(self._flush())
            accepted = await done
        if hand_over and accepted.new:
            entry = InboxEntry(id=accepted.id, key=fields["key"], channel=channel, kind=kind,
                               payload=dict(fields["payload"]), raw=raw,
                               summary=fields["summary"], status=PENDING, attempts=0,
                               last_error="", created_at=now)
            self._handed.append((entry, due))
            self._wake.set()
        return accepted

    async def accept_claimed(self, channel: Canal, kind: str, key: str, *, raw: bytes,
                             summary: str = "") -> tuple[Accepted, InboxEntry]:
        """``accept`` for a caller that processes the item itself at once
        (``process_entry``): stored with the claim already taken (due only after the
        lease, so no worker starts it meanwhile), and its entry built from what was
        stored instead of read back. The entry is meaningful only when ``new``."""
        now = self._clock.now()
        key, summary = key[:255], summary[:300]
        fields = {"key": key, "channel": channel, "kind": kind, "payload": {},
                  "summary": summary, "created_at": now,
                  "next_attempt_at": now + timedelta(seconds=LEASE_SECONDS)}
        accepted = await self._insert(fields, raw)
        return accepted, InboxEntry(
            id=accepted.id, key=key, channel=channel, kind=kind, payload={}, raw=raw,
            summary=summary, status=PENDING, attempts=0, last_error="", created_at=now)

    async def _flush(self) -> None:
        await asyncio.sleep(0)  # requests arriving in this tick join the batch
        while self._batch:
            batch, self._batch = self._batch[:MAX_BATCH], self._batch[MAX_BATCH:]
            try:
                if len(batch) == 1:
                    results = [await self._insert(batch[0][0])]
                else:
                    results = await self._insert_many([f for f, _ in batch])
            except Exception as exc:  # the database refused: every caller answers 5xx
                for _, done in batch:
                    if not done.done():
                        done.set_exception(exc)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                if not done.done():
                    done.set_result(result)

    async def _insert_many(self, rows: list[dict[str, Any]]) -> list[Accepted]:
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
        return [await self._insert(r) for r in rows]

    async def _insert(self, fields: dict[str, Any], raw: bytes | None = None) -> Accepted:
        try:
            if raw is None:
                row = await InboxItem.create(**fields)
            else:
                async with in_transaction():
                    row = await InboxItem.create(**fields)
                    await InboxRaw.create(item=row, data=raw)
        except IntegrityError:  # stored already (a redelivery, or a concurrent one)
            found = await InboxItem.get(key=fields["key"])
            return Accepted(found.id, new=False)
        return Accepted(row.id, new=True)

    # --- processing ---------------------------------------------------------------
    async def run(self, stop: asyncio.Event, idle_seconds: float = 5.0) -> None:
        self.running, self._stop = True, stop
        try:
            await self._loop(stop, idle_seconds)
        finally:
            self.running = False
            await self._release_handed()

    async def _loop(self, stop: asyncio.Event, idle_seconds: float) -> None:
        scan = True  # the table first: what was stored while no worker ran
        while not stop.is_set():
            self._wake.clear()
            scan, self._rescan = scan or self._rescan, False
            try:
                await self.process_handed()
                # A full pass means a backlog (after a restart, or stored by another
                # instance, which cannot wake this one): look again at once, not in 5 s.
                if scan and await self.process_due() >= PASS_LIMIT:
                    self._rescan = True
            except Exception:
                log.exception("inbox pass failed")
            if self._handed or self._rescan:
                scan = False
                continue
            woken = await sleep_until_woken(self._wake, stop, idle_seconds)
            scan = not woken  # the idle tick looks at the table; a hand-over does not

    async def process_handed(self) -> int:
        """Process the items ``accept`` handed over, in arrival order; returns how many."""
        tried = 0
        while self._handed and not (self._stop is not None and self._stop.is_set()):
            entry, claimed_until = self._handed.popleft()
            if self._clock.now() < claimed_until - timedelta(seconds=LEASE_SECONDS / 2):
                tried += await self._guarded(self._process_entry(entry))
            else:  # reached late: claimed again unless another worker has taken it
                tried += await self.process_item(entry.id, claimed_until, entry=entry)
        return tried

    async def _release_handed(self) -> None:
        """The worker stops: what it had not reached is due now, for the next worker."""
        if not self._handed:
            return
        mine = {entry.id: until for entry, until in self._handed}
        self._handed.clear()
        for item_id, until in mine.items():
            try:
                await InboxItem.filter(id=item_id, status=PENDING,
                                       next_attempt_at=until).update(
                    next_attempt_at=self._clock.now())
            except Exception:  # the claim then runs out by itself
                log.warning("inbox claim not released item=%s", item_id, exc_info=True)

    async def process_due(self, limit: int = PASS_LIMIT) -> int:
        """Try every due item once (oldest first); returns how many were tried."""
        kinds = list(self._processors)
        if not kinds:
            return 0
        rows = await (InboxItem.filter(status=PENDING, kind__in=kinds,
                                       next_attempt_at__lte=self._clock.now())
                      .order_by("id").limit(limit))
        tried = 0
        for row in rows:
            tried += await self.process_item(row.id, row.next_attempt_at)
        return tried

    async def drain(self, rounds: int = 100) -> int:
        """Process until nothing is due and nothing is in progress in this process (tests
        wait for the intake here, also for an item another task has claimed)."""
        total = 0
        for _ in range(rounds):
            tried = await self.process_handed() + await self.process_due()
            total += tried
            if tried:
                continue
            if self._busy:
                await self._idle.wait()
                continue
            break
        return total

    async def settle(self) -> None:
        """Wait until everything handed over is processed, without looking at the table
        (the running worker's own pace: what tests and the bench wait for)."""
        while True:
            await self.process_handed()
            if not self._busy:
                return
            await self._idle.wait()

    async def process_item(self, item_id: int, seen_at: datetime | None = None,
                           processor: Processor | None = None, *,
                           entry: InboxEntry | None = None) -> int:
        """Claim and process one item; 1 when this call tried it. ``processor`` stands in
        for the registered one (a caller that wants the adapter's full outcome); ``entry``
        is the item as handed over (not read back)."""
        now = self._clock.now()
        query = InboxItem.filter(id=item_id, status=PENDING)
        if seen_at is not None:
            query = query.filter(next_attempt_at=seen_at)
        if not await query.update(next_attempt_at=now + timedelta(seconds=LEASE_SECONDS)):
            return 0  # another worker (or process) has it
        if entry is not None:
            return await self._guarded(self._process_entry(entry, processor))
        return await self._guarded(self._process_claimed(item_id, now, processor))

    async def _guarded(self, work: Awaitable[int]) -> int:
        """Count the work in progress, so ``drain`` can wait for another task's item."""
        self._busy += 1
        self._idle.clear()
        try:
            return await work
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def process_entry(self, entry: InboxEntry, processor: Processor) -> int:
        """Process an item whose claim the caller holds (``accept_claimed``)."""
        return await self._guarded(self._process_entry(entry, processor))

    async def _process_claimed(self, item_id: int, now: datetime,
                               processor: Processor | None) -> int:
        row = await InboxItem.get(id=item_id)
        if processor is None and row.kind not in self._processors:
            await InboxItem.filter(id=item_id).update(next_attempt_at=now)
            return 0
        return await self._process_entry(entry_of(row, await raw_of(row.id)), processor)

    async def _process_entry(self, entry: InboxEntry, processor: Processor | None = None) -> int:
        """Run the processor on one claimed item and record the outcome."""
        processor = processor or self._processors[entry.kind]
        try:
            number = await processor(entry)
        except PermanentInboxError as exc:
            await self._failed(entry, str(exc), permanent=True)
        except Exception as exc:  # a bug or a transient failure: retried, then quarantined
            log.warning("inbox item %s (%s) failed attempt=%s: %s: %s", entry.id, entry.kind,
                        entry.attempts + 1, type(exc).__name__, exc, exc_info=True)
            await self._failed(entry, f"{type(exc).__name__}: {exc}", permanent=False)
        else:
            await update_where(InboxItem, {"id": entry.id}, {
                "status": DONE, "processed_at": self._clock.now(), "ticket_id_ref": number,
                "attempts": entry.attempts + 1, "last_error": ""})
        return 1

    async def _failed(self, row: InboxEntry, error: str, *, permanent: bool) -> None:
        attempts = row.attempts + 1
        final = permanent or attempts >= self._settings.inbox_max_attempts
        delay = BACKOFF_SECONDS[min(attempts - 1, len(BACKOFF_SECONDS) - 1)]
        await InboxItem.filter(id=row.id).update(
            attempts=attempts, last_error=error[:4000],
            status=QUARANTINED if final else PENDING,
            next_attempt_at=self._clock.now() + timedelta(seconds=delay))
        if final:  # bad input is a warning; a failure that outlived its retries an error
            log.log(logging.WARNING if permanent else logging.ERROR,
                    "inbox item %s quarantined after %s attempt(s): %s", row.id, attempts,
                    error[:300])
            await tell_team(self._notifiers(), row, error)

    # --- people -------------------------------------------------------------------
    async def list(self, status: str | None = None, limit: int = 50) -> list[InboxEntry]:
        query = InboxItem.all() if status is None else InboxItem.filter(status=status)
        return [entry_of(r) for r in await query.order_by("-id").limit(limit)]

    async def get(self, item_id: int) -> InboxEntry | None:
        """One item with its raw bytes (``list`` leaves them out)."""
        row = await InboxItem.get_or_none(id=item_id)
        return entry_of(row, await raw_of(item_id)) if row else None

    async def requeue(self, item_id: int) -> bool:
        """Put a quarantined (or failing) item back in line, due now, with fresh attempts."""
        updated = await InboxItem.filter(id=item_id, status__in=[QUARANTINED, PENDING]).update(
            status=PENDING, attempts=0, next_attempt_at=self._clock.now())
        if updated:
            self.wake()
        return bool(updated)

    async def retry(self, item_id: int) -> InboxEntry | None:
        """"Reintentar": back in line and, when this process can translate it, tried now."""
        row = await InboxItem.get_or_none(id=item_id)
        if row is None:
            return None
        if await self.requeue(item_id) and row.kind in self._processors:
            await self.process_item(item_id)
        return await self.get(item_id)

    async def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for status in (PENDING, QUARANTINED, DONE):
            out[status] = await InboxItem.filter(status=status).count()
        return out

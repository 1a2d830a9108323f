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

from bot.incoming.inbox_items import (
    AT_ONCE_QUEUE,
    DONE,
    LEASE_SECONDS,
    PASS_LIMIT,
    PENDING,
    QUARANTINED,
    Accepted,
    InboxEntry,
    Processor,
    entry_of,
    raw_of,
)
from bot.incoming.inbox_store import (
    GroupCommit,
    Handed,
    ProcessingFailed,
    Unstored,
    answer,
    insert_one,
    record_failure,
    store_processed_together,
    unstored_run,
)
from bot.process.clock import Clock
from bot.process.domain import Canal
from bot.process.events import EventBus
from bot.process.notify import Notifier
from bot.process.settings import Settings
from bot.process.wakeup import sleep_until_woken
from bot.storage.updates import update_where
from db.models import InboxItem

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

    An event whose processing is database work only can be handed over *before* it is
    stored (``accept(at_once=True)``): the worker processes it and stores it processed
    in one commit, shared with the events waiting beside it and without savepoints
    (``inbox_store.store_processed_together``), and ``accept`` returns after that
    commit. Should anything fail, each is redone alone; one whose processing fails is
    stored the usual way, due for a retry.
    """

    def __init__(self, settings: Settings, clock: Clock, bus: EventBus | None = None,
                 after_commit: Callable[[], None] = lambda: None) -> None:
        self._settings = settings
        self._clock = clock
        self._bus = bus  # without one, nothing is processed at once (events need holding)
        self._after_commit = after_commit  # what a unit of work wakes (the outbox)
        self._processors: dict[str, Processor] = {}
        self._wake = asyncio.Event()
        self._notifiers: Callable[[], list[Notifier]] = list
        self.running = False  # a worker loop runs in this process
        self._busy = 0  # items being processed in this process right now
        self._idle = asyncio.Event()
        self._idle.set()
        self._group = GroupCommit()
        # Items this process stored, claimed, while its worker runs, with the time their
        # claim runs out (their ``next_attempt_at``); not read back.
        self._handed: deque[Handed] = deque()
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
                     summary: str = "", at_once: bool = False) -> Accepted:
        """Store one event unless its key is known (the unique key turns a redelivery into
        a lookup); returns once it is committed.

        Concurrent webhooks share one commit (a group commit): SQLite has one writer, so
        sixteen separate inserts would queue behind each other. ``at_once``: the caller's
        event needs nothing but the database to be processed; when this process's worker
        runs, it is stored processed (one commit for both), or stored for a retry; in a
        burst (``AT_ONCE_QUEUE`` waiting already) it is stored first, like any other.
        """
        now = self._clock.now()
        hand_over = self.running and kind in self._processors
        if at_once and hand_over and raw is None and self._bus is not None and \
                len(self._handed) < AT_ONCE_QUEUE:
            return await self._hand_unstored(Unstored({
                "key": key[:255], "channel": channel, "kind": kind, "payload": payload or {},
                "summary": summary[:300], "created_at": now}))
        due = now + timedelta(seconds=LEASE_SECONDS) if hand_over else now  # claimed
        fields: dict[str, Any] = {
            "key": key[:255], "channel": channel, "kind": kind, "payload": payload or {},
            "summary": summary[:300], "next_attempt_at": due, "created_at": now}
        if raw is not None:
            accepted = await insert_one(fields, raw)
        else:
            accepted = await self._group.insert(fields)
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
        accepted = await insert_one(fields, raw)
        return accepted, InboxEntry(
            id=accepted.id, key=key, channel=channel, kind=kind, payload={}, raw=raw,
            summary=summary, status=PENDING, attempts=0, last_error="", created_at=now)

    async def _hand_unstored(self, item: Unstored) -> Accepted:
        done: asyncio.Future[Accepted] = asyncio.get_running_loop().create_future()
        self._handed.append((item, done))
        self._wake.set()
        return await done

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
            if isinstance(self._handed[0][0], Unstored):
                tried += await self._guarded(self._store_processed(unstored_run(self._handed)))
                continue
            handed = self._handed.popleft()
            assert isinstance(handed[0], InboxEntry) and isinstance(handed[1], datetime)
            entry, claimed_until = handed
            if self._clock.now() < claimed_until - timedelta(seconds=LEASE_SECONDS / 2):
                tried += await self._guarded(self._process_entry(entry))
            else:  # reached late: claimed again unless another worker has taken it
                tried += await self.process_item(entry.id, claimed_until, entry=entry)
        return tried

    async def _release_handed(self) -> None:
        """The worker stops: what it had not reached is due now, for the next worker."""
        if not self._handed:
            return
        handed, mine = list(self._handed), {}
        self._handed.clear()
        for item, until in handed:
            if isinstance(item, Unstored):  # not stored yet: stored now, due now
                assert isinstance(until, asyncio.Future)
                await self._store_for_retry(item, until)
            else:
                assert isinstance(until, datetime)
                mine[item.id] = until
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
        except Exception as exc:
            await self._failure(entry, exc)
        else:
            await update_where(InboxItem, {"id": entry.id}, {
                "status": DONE, "processed_at": self._clock.now(), "ticket_id_ref": number,
                "attempts": entry.attempts + 1, "last_error": ""})
        return 1

    async def _store_processed(self, run: list[tuple[Unstored, asyncio.Future[Accepted]]]
                               ) -> int:
        """Events handed over before they were stored: processed and stored in one commit,
        each one whose processing fails stored with the failure, due for a retry."""
        assert self._bus is not None, "only handed over unstored with a bus (accept)"
        try:
            outcomes = await store_processed_together(
                [item for item, _ in run], self._processors, self._bus, self._clock.now())
        except BaseException:  # cancelled: nothing committed, and no caller left waiting
            for _, done in run:
                done.cancel()
            raise
        for (item, done), outcome in zip(run, outcomes, strict=True):
            if isinstance(outcome, ProcessingFailed):
                await self._store_for_retry(item, done, outcome.__cause__)
            else:  # stored, or the database refused it: its caller answers 5xx
                answer(done, outcome)
        if any(isinstance(o, Accepted) and o.new for o in outcomes):
            self._after_commit()
        return len(run)

    async def _store_for_retry(self, item: Unstored, done: asyncio.Future[Accepted],
                               error: BaseException | None = None) -> None:
        try:
            accepted = await insert_one({**item.fields, "next_attempt_at": self._clock.now()})
            if accepted.new and isinstance(error, Exception):
                await self._failure(item.entry(accepted.id), error)
        except Exception as exc:
            answer(done, exc)
        else:
            answer(done, accepted)

    async def _failure(self, entry: InboxEntry, exc: Exception) -> None:
        await record_failure(entry, exc, now=self._clock.now(),
                             max_attempts=self._settings.inbox_max_attempts,
                             notifiers=self._notifiers())

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


"""Leases: what may run on only one instance at a time, and who runs it now.

Several ``atiende run`` instances may share one PostgreSQL database. Most work is safe
on all of them at once (webhooks, the outbox, which claims rows), but a few loops must
run once: Telegram long polling (Telegram refuses a second ``getUpdates``), the IMAP
reader, the reminders scheduler with its morning summary, the conformity sweeper.
Each runs under a named lease: a row in ``leases`` (name, holder, expiry) that its
holder renews every third of its length. An instance that dies stops renewing; another
takes the lease over once it has expired, so a loop is back within ``seconds`` plus one
retry interval (15 + 5 s by default; the issue asks for 30).

A holder that cannot renew (the database is unreachable) stops its loop before its
lease runs out, so two instances never run the loop at once. Expiry is measured with the
instances' clocks: keep them synchronised (NTP), as any server is.

On SQLite there is one process, so every lease is trivially held (``shared=False``):
no row, no waiting after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError

from bot.clock import Clock
from db.models import Lease

log = logging.getLogger(__name__)

Job = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
STOP_TIMEOUT_SECONDS = 10.0


def default_holder() -> str:
    """This process, recognisable in ``/healthz`` and in the ``leases`` table."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class HeldLease:
    """A lease as this instance sees it (for ``/healthz``)."""

    name: str
    holder: str
    expires_at: datetime | None  # None: trivially held (SQLite)


class Leases:
    """Takes, renews and releases named leases for one instance (``holder``)."""

    def __init__(self, clock: Clock, *, shared: bool, seconds: float = 15.0,
                 holder: str | None = None) -> None:
        self._clock = clock
        self.shared = shared
        self.seconds = seconds
        self.holder = holder or default_holder()
        self._held: dict[str, datetime | None] = {}

    @property
    def renew_every(self) -> float:
        """Renew (and retry a lease someone else holds) three times per lease length."""
        return self.seconds / 3

    def held(self) -> list[HeldLease]:
        """The leases this instance holds now, by name."""
        return [HeldLease(name, self.holder, until) for name, until in sorted(self._held.items())]

    def holds(self, name: str) -> bool:
        return name in self._held

    # --- one step each ----------------------------------------------------------------
    async def acquire(self, name: str) -> bool:
        """Take ``name`` if it is free, expired or already ours; renews it when ours."""
        if not self.shared:
            self._held[name] = None
            return True
        now = self._clock.now()
        until = now + timedelta(seconds=self.seconds)
        # Each UPDATE re-checks its condition on the row it locks, so of two instances
        # racing for an expired lease exactly one sees a row count of 1.
        won = await Lease.filter(name=name, holder=self.holder).update(expires_at=until)
        if not won:
            won = await Lease.filter(name=name, expires_at__lt=now).update(
                holder=self.holder, acquired_at=now, expires_at=until)
            if won:
                log.info("lease %s taken over by %s", name, self.holder)
        if not won:
            try:
                await Lease.create(name=name, holder=self.holder, acquired_at=now,
                                   expires_at=until)
                won = 1
            except IntegrityError:  # someone else holds it
                won = 0
        if won:
            self._held[name] = until
        else:
            self._held.pop(name, None)
        return bool(won)

    async def renew(self, name: str) -> bool:
        """Extend our lease; False when it is no longer ours (someone took it over)."""
        if not self.shared:
            return name in self._held
        until = self._clock.now() + timedelta(seconds=self.seconds)
        if await Lease.filter(name=name, holder=self.holder).update(expires_at=until):
            self._held[name] = until
            return True
        self._held.pop(name, None)
        return False

    async def release(self, name: str) -> None:
        """Give the lease up at once, so another instance need not wait for its expiry."""
        self._held.pop(name, None)
        if self.shared:
            await Lease.filter(name=name, holder=self.holder).delete()

    # --- a loop under a lease -----------------------------------------------------------
    async def run(self, name: str, job: Job, stop: asyncio.Event) -> None:
        """Run ``job(job_stop)`` whenever this instance holds ``name``, until ``stop``.

        ``job_stop`` is set when ``stop`` is, or when the lease is lost or cannot be
        renewed in time; the job must then return. A job that ends by itself (a crash)
        gives the lease up and is started again at the next acquisition.
        """
        while not stop.is_set():
            try:
                got = await self.acquire(name)
            except Exception as exc:
                log.warning("lease %s: cannot reach the database: %s", name, exc)
                got = False
            if not got:
                await _wait(stop, self.renew_every)
                continue
            log.info("lease %s held by %s: starting", name, self.holder)
            await self._hold(name, job, stop)
            with contextlib.suppress(Exception):
                await self.release(name)
            if not stop.is_set():
                await _wait(stop, self.renew_every)

    async def _hold(self, name: str, job: Job, stop: asyncio.Event) -> None:
        job_stop = asyncio.Event()
        task = asyncio.create_task(job(job_stop), name=f"lease:{name}")
        deadline = self._clock.now() + timedelta(seconds=self.seconds)
        try:
            while not stop.is_set() and not task.done():
                await _wait(stop, self.renew_every, task)
                if stop.is_set() or task.done():
                    break
                try:
                    # A hung connection must not keep the job running past the lease.
                    if not await asyncio.wait_for(self.renew(name), self.renew_every):
                        log.warning("lease %s lost by %s: stopping", name, self.holder)
                        break
                    deadline = self._clock.now() + timedelta(seconds=self.seconds)
                except Exception as exc:
                    # Stop before the lease can run out: another instance may take it
                    # over then, and the job must not run twice.
                    if self._clock.now() + timedelta(seconds=self.renew_every) >= deadline:
                        log.warning("lease %s cannot be renewed (%s): stopping", name, exc)
                        break
                    log.warning("lease %s renewal failed, retrying: %s", name, exc)
        finally:
            self._held.pop(name, None)
            job_stop.set()
            await _finish(name, task)


async def _wait(stop: asyncio.Event, seconds: float,
                task: asyncio.Task[None] | None = None) -> None:
    """Sleep ``seconds`` unless ``stop`` is set (or ``task`` ends) first."""
    waiters: set[asyncio.Future[Any]] = {asyncio.ensure_future(stop.wait())}
    if task is not None:
        waiters.add(task)
    _, pending = await asyncio.wait(waiters, timeout=seconds,
                                    return_when=asyncio.FIRST_COMPLETED)
    for waiter in pending:
        if waiter is not task:
            waiter.cancel()


async def _finish(name: str, task: asyncio.Task[None]) -> None:
    """Let the job return after its stop event; cancel it if it will not."""
    await asyncio.wait({task}, timeout=STOP_TIMEOUT_SECONDS)
    if not task.done():
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    elif not task.cancelled() and task.exception() is not None:
        log.error("lease %s: the job failed", name, exc_info=task.exception())

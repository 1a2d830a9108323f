"""Leases: a once-only loop runs on one instance at a time and moves when its holder dies.

The lease rows are the same on SQLite and PostgreSQL (``shared=True`` here; on SQLite
the application holds every lease trivially), so these run in both halves of the suite.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from bot.process.clock import ManualClock, SystemClock
from bot.services import Services
from bot.storage.leases import Leases
from db.models import Lease


async def test_one_holder_until_expiry_then_takeover(services: Services,
                                                     clock: ManualClock) -> None:
    a = Leases(clock, shared=True, seconds=15, holder="a")
    b = Leases(clock, shared=True, seconds=15, holder="b")
    assert await a.acquire("reminders")
    assert not await b.acquire("reminders")
    clock.advance(seconds=10)
    assert await a.renew("reminders")
    clock.advance(seconds=10)  # 10 s after the renewal: still a's
    assert not await b.acquire("reminders")
    assert [h.name for h in a.held()] == ["reminders"] and b.held() == []
    clock.advance(seconds=6)  # a stopped renewing (dead): expired
    assert await b.acquire("reminders")
    assert not await a.renew("reminders")  # a learns it lost it
    assert not a.holds("reminders") and b.holds("reminders")
    row = await Lease.get(name="reminders")
    assert row.holder == "b" and row.expires_at == clock.now() + timedelta(seconds=15)
    await b.release("reminders")
    assert await a.acquire("reminders")  # released: no wait for an expiry


async def test_sqlite_mode_holds_every_lease_without_rows(services: Services,
                                                          clock: ManualClock) -> None:
    solo = Leases(clock, shared=False)
    assert await solo.acquire("telegram-polling") and await solo.renew("telegram-polling")
    assert await Lease.all().count() == 0


async def test_a_killed_holder_is_replaced_within_the_lease(services: Services) -> None:
    """Two instances run the same loop under one lease with a short real expiry: never
    both at once; cancelling the holder's runner without a release (a crash) hands the
    loop to the other within the lease length plus one retry."""
    running: list[str] = []
    overlaps: list[tuple[str, ...]] = []

    def job(who: str):  # type: ignore[no-untyped-def]
        async def loop(stop: asyncio.Event) -> None:
            running.append(who)
            if len(running) > 1:
                overlaps.append(tuple(running))
            try:
                await stop.wait()
            finally:
                running.remove(who)
        return loop

    stop = asyncio.Event()
    first = Leases(SystemClock(), shared=True, seconds=1.2, holder="first")
    second = Leases(SystemClock(), shared=True, seconds=1.2, holder="second")
    one = asyncio.create_task(first.run("imap", job("first"), stop))
    await _until(lambda: running == ["first"], 5)
    two = asyncio.create_task(second.run("imap", job("second"), stop))
    await asyncio.sleep(1.5)  # several renewals: the second keeps waiting
    assert running == ["first"] and not second.holds("imap")
    one.cancel()  # the holder dies: no release, its row just stops being renewed
    await asyncio.gather(one, return_exceptions=True)
    died = time.monotonic()
    await _until(lambda: running == ["second"], 5)
    assert time.monotonic() - died <= first.seconds + second.renew_every + 0.5
    assert overlaps == [] and (await Lease.get(name="imap")).holder == "second"
    stop.set()
    await asyncio.wait_for(two, 15)
    assert running == [] and await Lease.filter(name="imap").count() == 0  # released


async def _until(check, limit: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)

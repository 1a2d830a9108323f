"""The in-process hand-over: an item the running worker will process is stored with its
claim already taken, so no other worker starts it, and nothing handed over is lost when
the worker is late or stops."""

from __future__ import annotations

import asyncio

from bot.incoming.inbox import InboxWorker
from bot.incoming.inbox_items import DONE, LEASE_SECONDS, PENDING, InboxEntry
from bot.process.clock import ManualClock
from bot.process.domain import Canal
from bot.process.settings import Settings
from db.models import InboxItem

KIND = "prueba"


class Recorder:
    """A processor that notes what it processed; ``gate`` holds it until set."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def __call__(self, entry: InboxEntry) -> int | None:
        self.started.set()
        await self.gate.wait()
        self.seen.append(entry.key)
        return None


def _worker(settings: Settings, clock: ManualClock) -> tuple[InboxWorker, Recorder]:
    worker, recorder = InboxWorker(settings, clock), Recorder()
    worker.register(KIND, recorder)
    return worker, recorder


async def test_a_handed_item_is_stored_claimed_so_no_other_worker_takes_it(
        database: str, settings: Settings, clock: ManualClock) -> None:
    mine, mine_saw = _worker(settings, clock)
    other, other_saw = _worker(settings, clock)
    stop = asyncio.Event()
    mine_saw.gate.clear()  # the first item holds the loop: the second waits in memory
    loop = asyncio.create_task(mine.run(stop, idle_seconds=3600))
    await asyncio.sleep(0)
    try:
        await mine.accept(Canal.WHATSAPP, KIND, "k:1")
        await mine_saw.started.wait()
        await mine.accept(Canal.WHATSAPP, KIND, "k:2")
        waiting = await InboxItem.get(key="k:2")
        assert waiting.status == PENDING and waiting.next_attempt_at > clock.now()
        assert await other.process_due() == 0  # another instance's scan: nothing is due
        mine_saw.gate.set()
        await mine.settle()
    finally:
        stop.set()
        await loop
    assert sorted(mine_saw.seen) == ["k:1", "k:2"] and other_saw.seen == []
    assert await InboxItem.filter(status=DONE).count() == 2


async def test_an_item_reached_after_its_claim_ran_out_is_processed_once(
        database: str, settings: Settings, clock: ManualClock) -> None:
    """The loop reaches an item late; meanwhile another worker found its claim run out
    and processed it: the late loop claims again conditionally, fails, and skips it."""
    mine, mine_saw = _worker(settings, clock)
    other, other_saw = _worker(settings, clock)
    mine.running = True  # as while its loop runs (the loop itself is not started here)
    await mine.accept(Canal.WHATSAPP, KIND, "k:late")
    clock.advance(seconds=LEASE_SECONDS + 1)
    assert await other.process_due() == 1
    assert await mine.process_handed() == 0
    assert other_saw.seen == ["k:late"] and mine_saw.seen == []
    assert (await InboxItem.get(key="k:late")).status == DONE


async def test_a_late_item_nobody_took_is_claimed_again_and_processed(
        database: str, settings: Settings, clock: ManualClock) -> None:
    mine, mine_saw = _worker(settings, clock)
    other, _ = _worker(settings, clock)
    mine.running = True
    await mine.accept(Canal.WHATSAPP, KIND, "k:slow")
    clock.advance(seconds=LEASE_SECONDS * 0.75)  # claim close to running out
    assert await mine.process_handed() == 1
    assert mine_saw.seen == ["k:slow"]
    assert await other.process_due() == 0
    assert (await InboxItem.get(key="k:slow")).status == DONE


async def test_a_stopping_worker_gives_back_what_it_had_not_reached(
        database: str, settings: Settings, clock: ManualClock) -> None:
    mine, mine_saw = _worker(settings, clock)
    other, other_saw = _worker(settings, clock)
    stop = asyncio.Event()
    mine_saw.gate.clear()
    loop = asyncio.create_task(mine.run(stop, idle_seconds=3600))
    await asyncio.sleep(0)
    await mine.accept(Canal.WHATSAPP, KIND, "k:first")
    await mine_saw.started.wait()
    await mine.accept(Canal.WHATSAPP, KIND, "k:second")
    stop.set()  # shutting down while the first item is being processed
    mine_saw.gate.set()
    await loop
    assert mine_saw.seen == ["k:first"]
    second = await InboxItem.get(key="k:second")
    assert second.status == PENDING and second.next_attempt_at <= clock.now()  # due now
    assert await other.process_due() == 1  # the next worker takes it at once
    assert other_saw.seen == ["k:second"]

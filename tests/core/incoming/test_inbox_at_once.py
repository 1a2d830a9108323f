"""Stored and processed in one commit (``InboxWorker.accept(at_once=True)``): what a
WhatsApp text takes. The row is inserted already processed with everything its
processing wrote; a failure stores it for a retry with nothing of the failed attempt
left; a redelivery stores and changes nothing; subscribers hear of it only after the
commit; texts that wait together share one commit, each rolled back alone if it fails;
a worker that stops stores what it had not reached."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from bot.incoming import inbox as inbox_module
from bot.incoming.inbox_items import DONE, PENDING, QUARANTINED, InboxEntry, PermanentInboxError
from bot.incoming.intake import IncomingMessage
from bot.process.clock import ManualClock
from bot.process.domain import Canal
from bot.process.events import TicketEvent
from bot.services import Services
from db.models import InboxItem, Interaction, Ticket

KIND = "texto"


class Processor:
    """The intake's one door for a text keyed by the item; ``fail`` makes it raise after
    the intake has written, ``gate`` holds it until set."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.fail: Exception | None = None
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()

    async def __call__(self, entry: InboxEntry) -> int | None:
        self.calls += 1
        self.started.set()
        await self.gate.wait()
        result = await self.services.intake.receive(IncomingMessage(
            channel=Canal.WHATSAPP, body=entry.payload["body"], external_id=entry.key,
            phone="+56912345678", name="Ana", join_open=True))
        if self.fail is not None:
            raise self.fail
        if entry.payload.get("fail"):  # this text only (in a batch)
            raise RuntimeError(entry.payload["fail"])
        return result.ticket.number if result.ticket else None


@pytest_asyncio.fixture
async def running(services: Services) -> AsyncIterator[Processor]:
    processor = Processor(services)
    services.inbox.register(KIND, processor)
    stop = asyncio.Event()
    loop = asyncio.create_task(services.inbox.run(stop, idle_seconds=3600))
    await asyncio.sleep(0)
    assert services.inbox.running
    try:
        yield processor
    finally:
        processor.gate.set()  # a failed test must not leave the loop held
        stop.set()
        await loop


async def _text(services: Services, key: str, body: str = "Hola, no tengo internet",
                **payload: str) -> int:
    accepted = await services.inbox.accept(Canal.WHATSAPP, KIND, key,
                                           payload={"body": body, **payload},
                                           summary="+56912345678 · text", at_once=True)
    return accepted.id if accepted.new else -accepted.id


async def _waiting_together(services: Services, running: Processor,
                            *texts: tuple[str, dict[str, str]]) -> list[int]:
    """Texts that arrive while the worker is busy (a stored item holds it at the gate),
    so they wait together; then the worker goes on. Their accepts' answers, in order."""
    running.gate.clear()
    busy = asyncio.create_task(services.inbox.accept(
        Canal.WHATSAPP, KIND, "w:busy", payload={"body": "Primero"}))
    await running.started.wait()
    waiting = [asyncio.create_task(_text(services, key, **payload)) for key, payload in texts]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiting)
    running.gate.set()
    assert (await busy).new
    return [await w for w in waiting]


async def test_a_text_is_stored_processed_in_the_commit_of_its_processing(
        services: Services, running: Processor) -> None:
    committed: list[tuple[int, int]] = []

    async def subscriber(event: TicketEvent) -> None:  # runs after the commit, or never
        committed.append((await InboxItem.filter(status=DONE).count(),
                          await Interaction.filter(external_id="w:1").count()))

    services.bus.subscribe_local(subscriber)
    item_id = await _text(services, "w:1")
    assert item_id > 0
    item = await InboxItem.get(id=item_id)
    assert (item.status, item.attempts, item.ticket_id_ref, item.summary) == \
        (DONE, 1, 1, "+56912345678 · text")
    assert item.processed_at is not None and item.last_error == ""
    assert committed and committed[0] == (1, 1)  # the event saw the row and the message


async def test_a_failed_processing_leaves_nothing_and_is_stored_for_a_retry(
        services: Services, running: Processor, clock: ManualClock) -> None:
    running.fail = RuntimeError("base de datos ocupada")
    item_id = await _text(services, "w:2")
    assert item_id > 0  # stored: the provider may hear "received"
    item = await InboxItem.get(id=item_id)
    assert (item.status, item.attempts) == (PENDING, 1)
    assert "base de datos ocupada" in item.last_error
    assert item.next_attempt_at > clock.now()  # after the backoff
    assert await Ticket.all().count() == 0  # the attempt's ticket was rolled back
    assert await Interaction.all().count() == 0
    running.fail = None
    clock.advance(seconds=60)
    assert await services.inbox.drain() == 1
    item = await InboxItem.get(id=item_id)
    [ticket] = await Ticket.all()  # (PostgreSQL's sequence keeps the failed number used)
    assert (item.status, item.attempts, item.ticket_id_ref) == (DONE, 2, ticket.id)
    assert await Interaction.filter(external_id="w:2").count() == 1


async def test_what_can_never_succeed_is_quarantined_at_once(
        services: Services, running: Processor) -> None:
    running.fail = PermanentInboxError("sin remitente utilizable")
    item_id = await _text(services, "w:3")
    item = await InboxItem.get(id=item_id)
    assert (item.status, item.last_error) == (QUARANTINED, "sin remitente utilizable")
    assert await Ticket.all().count() == 0


async def test_a_redelivery_stores_and_changes_nothing(
        services: Services, running: Processor) -> None:
    first = await _text(services, "w:4")
    again = await _text(services, "w:4", body="otro texto con la misma clave")
    assert again == -first  # the stored row, not new
    assert await InboxItem.all().count() == 1
    assert [i.body for i in await Interaction.all()] == ["Hola, no tengo internet"]
    assert (await Ticket.get(id=1)).version == 1


async def test_a_stopping_worker_stores_what_it_had_not_reached(
        services: Services, clock: ManualClock) -> None:
    processor = Processor(services)
    processor.gate.clear()  # the first text holds the loop; the second waits in memory
    services.inbox.register(KIND, processor)
    stop = asyncio.Event()
    loop = asyncio.create_task(services.inbox.run(stop, idle_seconds=3600))
    await asyncio.sleep(0)
    first = asyncio.create_task(_text(services, "w:5"))
    await processor.started.wait()
    second = asyncio.create_task(_text(services, "w:6"))
    await asyncio.sleep(0)
    stop.set()
    processor.gate.set()
    await loop
    assert await first > 0 and await second > 0
    rows = {r.key: r for r in await InboxItem.all()}
    assert rows["w:5"].status == DONE
    assert rows["w:6"].status == PENDING and rows["w:6"].next_attempt_at <= clock.now()
    assert processor.calls == 1  # the second is due for the next worker, not processed


async def test_without_a_running_worker_the_text_is_only_stored(services: Services) -> None:
    services.inbox.register(KIND, Processor(services))
    item_id = await _text(services, "w:7")
    item = await InboxItem.get(id=item_id)
    assert item.status == PENDING and await Interaction.all().count() == 0


async def test_in_a_burst_a_text_is_stored_first_and_answered_at_once(
        services: Services, running: Processor, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inbox_module, "AT_ONCE_QUEUE", 1)
    running.gate.clear()  # a stored item holds the loop (no transaction open yet)
    first = asyncio.create_task(services.inbox.accept(
        Canal.WHATSAPP, KIND, "w:8", payload={"body": "Hola"}))
    await running.started.wait()
    second = asyncio.create_task(_text(services, "w:9"))  # waits in memory
    await asyncio.sleep(0)
    third = await _text(services, "w:10")  # past the queue: stored, answered now
    item = await InboxItem.get(id=third)
    assert item.status == PENDING and not second.done()  # the second still waits
    running.gate.set()
    assert (await first).new and await second > 0
    await services.inbox.settle()
    assert {r.key: r.status for r in await InboxItem.all()} == \
        {"w:8": DONE, "w:9": DONE, "w:10": DONE}
    assert await Interaction.all().count() == 3


async def test_texts_waiting_together_are_stored_in_one_commit(
        services: Services, running: Processor) -> None:
    seen: list[int] = []

    async def subscriber(event: TicketEvent) -> None:  # after the commit that made it
        seen.append(await InboxItem.filter(status=DONE).count())

    services.bus.subscribe_local(subscriber)
    ids = await _waiting_together(services, running, ("w:11", {}), ("w:12", {}), ("w:13", {}))
    assert all(i > 0 for i in ids)
    # w:busy's event came before its "processed" mark; each text's event came after the
    # one commit of all three (one commit each would have seen 2, 3 and 4)
    assert seen == [0, 4, 4, 4]
    assert {r.key: r.status for r in await InboxItem.all()} == \
        {"w:busy": DONE, "w:11": DONE, "w:12": DONE, "w:13": DONE}
    assert await Interaction.all().count() == 4


async def test_in_a_batch_a_failing_text_is_rolled_back_alone_and_stored_for_a_retry(
        services: Services, running: Processor) -> None:
    ids = await _waiting_together(services, running, ("w:14", {}),
                                  ("w:15", {"fail": "no se pudo"}), ("w:16", {}))
    assert all(i > 0 for i in ids)
    rows = {r.key: r for r in await InboxItem.all()}
    assert (rows["w:15"].status, rows["w:15"].attempts) == (PENDING, 1)
    assert "no se pudo" in rows["w:15"].last_error
    assert rows["w:14"].status == rows["w:16"].status == DONE
    assert sorted(i.external_id for i in await Interaction.all()) == ["w:14", "w:16", "w:busy"]


async def test_in_a_batch_a_redelivery_of_a_waiting_text_is_recognised(
        services: Services, running: Processor) -> None:
    first, again = await _waiting_together(services, running, ("w:17", {}),
                                           ("w:17", {"body": "la misma clave"}))
    assert first > 0 and again == -first
    assert await InboxItem.filter(key="w:17").count() == 1
    assert await Interaction.filter(external_id="w:17").count() == 1

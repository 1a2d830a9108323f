"""Ticket events across instances (issue 14): a change committed on instance A reaches
the chats once, through the one instance relaying events (B), in its final state.

Two ``Services`` on one PostgreSQL database play the two instances, each with its own
Telegram and Slack front ends against the same fakes, wired by the composition root's
``carry_events`` as ``atiende run`` wires them. One instance (SQLite) keeps events in
process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.app.frontend import FrontEnd, wired
from bot.incoming.intake import IncomingMessage
from bot.jobs import event_relay
from bot.jobs.event_relay import EventRelay, carry_events
from bot.process.clock import ManualClock
from bot.process.domain import Canal, Prioridad, Rol, TipoIncidencia
from bot.process.events import EventKind, TicketEvent
from bot.process.settings import Settings
from bot.process.views import Actor, MemberView
from bot.services import Services, build_services
from db.models import TicketEventRow
from handlers.slack.app import build as build_slack
from handlers.telegram.app import TelegramFrontEnd
from tests.conftest import postgres_only, sqlite_only
from tests.servers import FakeSlack, FakeTelegram

CARLA = 1001
CHANNEL = "C0SOPORTE"
pg = postgres_only("two instances share one PostgreSQL database")


@dataclass
class Instance:
    services: Services
    relay: EventRelay
    fronts: list[FrontEnd]

    async def settle(self) -> None:
        await self.services.bus.settle()


@dataclass
class Pair:
    a: Instance
    b: Instance
    carla: Actor
    diego: MemberView
    telegram: FakeTelegram
    slack: FakeSlack

    async def customer_writes(self, body: str, ticket: int | None = None,
                              ext: str = "", email: str = "ana@cliente.cl") -> int:
        result = await self.a.services.intake.receive(IncomingMessage(
            channel=Canal.EMAIL, body=body, external_id=ext or f"<{body}@cliente.cl>",
            email=email, name="Ana Pérez", subject="Boleta",
            ticket_number=ticket))
        assert result.ticket is not None
        return result.ticket.number

    def card_edits(self, message_id: int) -> list[Any]:
        """Every edit of one Telegram card (one that changed nothing is refused by
        Telegram as "not modified", yet it was sent)."""
        return [c for c in self.telegram.calls_to("editMessageText")
                if int(c.params["message_id"]) == message_id]


def _settings(settings: Settings, telegram: FakeTelegram, slack: FakeSlack) -> Settings:
    return settings.model_copy(update={
        "telegram_token": telegram.token, "telegram_api_url": telegram.base_url,
        "slack_bot_token": slack.token, "slack_signing_secret": "relay-secret",
        "slack_api_url": slack.api_url, "slack_channel": CHANNEL})


async def _instance(settings: Settings, clock: ManualClock, name: str) -> Instance:
    services = build_services(settings.model_copy(update={"instance_name": name}), clock)
    relay = carry_events(services)
    assert relay is not None  # PostgreSQL: events go through the database
    fronts: list[FrontEnd] = [
        wired(services, TelegramFrontEnd(services, fetch_updates=False)),
        wired(services, build_slack(services, process_before_response=True, pace_seconds=0))]
    for front in fronts:
        await front.start()
    return Instance(services, relay, fronts)


@pytest.fixture
async def pair(database: str, settings: Settings, clock: ManualClock,
               fake_telegram: FakeTelegram, fake_slack: FakeSlack) -> AsyncIterator[Pair]:
    both = _settings(settings, fake_telegram, fake_slack)
    a = await _instance(both, clock, "instance-a")
    b = await _instance(both, clock, "instance-b")
    carla = await a.services.team.add("Carla", Rol.ADMIN, telegram_user_id=CARLA)
    diego = await a.services.team.add("Diego", Rol.AGENT, email="diego@empresa.cl",
                                      slack_user_id="UDIEGO")
    try:
        yield Pair(a, b, Actor.of(carla), diego, fake_telegram, fake_slack)
    finally:
        for instance in (a, b):
            for front in reversed(instance.fronts):
                await front.stop()


@pg
async def test_a_change_on_one_instance_is_shown_once_by_the_relay(pair: Pair) -> None:
    number = await pair.customer_writes("No me llega la boleta")
    await pair.a.settle()
    # Stored, not shown: instance A's own front ends drew nothing.
    assert await TicketEventRow.filter(ticket_id=number).count() == 1
    assert pair.telegram.calls_to("sendMessage") == []
    assert pair.slack.calls_to("chat.postMessage") == []

    assert await pair.b.relay.relay_once() == 1
    cards = pair.telegram.calls_to("sendMessage")
    assert len(cards) == 1 and int(cards[0].params["chat_id"]) == CARLA
    assert len(pair.slack.calls_to("chat.postMessage")) == 1
    assert await TicketEventRow.all().count() == 0  # shown, then forgotten

    a = pair.a.services.tickets
    await a.classify(pair.carla, number, tipo=TipoIncidencia.RECLAMO,
                     prioridad=Prioridad.ALTA)
    final = await a.assign(pair.carla, number, pair.diego.id)
    assert await pair.b.relay.relay_once() == 2
    ref = await pair.b.services.cards.get("telegram", number, str(CARLA))
    assert ref is not None
    edits = pair.card_edits(int(ref.message_id))
    assert len(edits) == 2  # one redraw per change: not one per instance
    # Both show the ticket as it is now: the second changes nothing.
    assert [e.params["text"] for e in edits][0] == edits[1].params["text"]
    card = pair.telegram.messages[(CARLA, int(ref.message_id))]
    assert "Alta" in card["text"] and "Diego" in card["text"]
    data = [b["callback_data"] for row in card["reply_markup"]["inline_keyboard"]
            for b in row]
    assert all(f":{number}:{final.version}" in d for d in data if f":{number}:" in d)
    assert len(pair.slack.calls_to("chat.update")) == 2
    assert len(pair.telegram.calls_to("sendMessage")) == 1  # still one card


@pg
async def test_events_from_both_instances_end_in_the_final_state(pair: Pair) -> None:
    number = await pair.customer_writes("Consulta por factura")
    await pair.b.relay.relay_once()
    ref = await pair.b.services.cards.get("telegram", number, str(CARLA))
    assert ref is not None
    version = (await pair.a.services.queries.get(number)).version
    for i, prioridad in enumerate([Prioridad.ALTA, Prioridad.BAJA, Prioridad.MEDIA] * 2):
        side = (pair.a, pair.b)[i % 2].services.tickets
        view = await side.classify(pair.carla, number, prioridad=prioridad,
                                   expected_version=version)
        version = view.version
    # The relay shows them in one batch, each with the ticket as it is now.
    assert await pair.b.relay.relay_once() == 6
    card = pair.telegram.messages[(CARLA, int(ref.message_id))]
    assert "Media" in card["text"]
    slack_card = pair.slack.messages[(CHANNEL, (await pair.b.services.cards.get(
        "slack", number, CHANNEL)).message_id)]  # type: ignore[union-attr]
    assert "Media" in str(slack_card["blocks"])
    assert len(pair.card_edits(int(ref.message_id))) == 6


@pg
async def test_a_notify_wakes_the_relay_at_once(pair: Pair, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    monkeypatch.setattr(event_relay, "POLL_SECONDS", 3600.0)  # only a NOTIFY can wake it
    stop = asyncio.Event()
    task = asyncio.create_task(pair.b.relay.run(stop))
    try:
        await asyncio.sleep(0.2)  # the relay is listening (a real wait for a real socket)
        number = await pair.customer_writes("Se cayó el sitio")
        await pair.telegram.wait_for("sendMessage", 1, timeout=10)
        await pair.a.services.tickets.classify(pair.carla, number, prioridad=Prioridad.ALTA)
        await pair.telegram.wait_for("editMessageText", 1, timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert await TicketEventRow.all().count() == 0


@pg
async def test_a_dead_relays_batch_is_redrawn_not_posted_twice(pair: Pair) -> None:
    shown = await pair.customer_writes("Primer mensaje")
    await pair.b.relay.relay_once()
    ref = await pair.b.services.cards.get("telegram", shown, str(CARLA))
    assert ref is not None
    await pair.a.services.tickets.classify(pair.carla, shown, prioridad=Prioridad.ALTA)
    await pair.customer_writes("Segundo mensaje", ticket=shown, ext="<dos@cliente.cl>")
    unseen = await pair.customer_writes("Otro ticket", ext="<otro@cliente.cl>",
                                        email="luis@otro.cl")
    # Instance A was the relay: it claimed these and died before showing them.
    await TicketEventRow.all().update(claimed_by="instance-a")
    sends = len(pair.telegram.calls_to("sendMessage"))
    threads = len(pair.slack.calls_to("chat.postMessage"))

    assert await pair.b.relay.recover() == 3
    assert await TicketEventRow.all().count() == 0
    # The shown ticket: its card redrawn once to the final state, no second notice.
    card = pair.telegram.messages[(CARLA, int(ref.message_id))]
    assert "Alta" in card["text"] and "Segundo mensaje" not in str(
        [c.params.get("text") for c in pair.telegram.calls_to("sendMessage")[sends:]])
    assert len(pair.card_edits(int(ref.message_id))) == 1
    # The ticket nobody had drawn: its first card, once, in each chat.
    assert await pair.b.services.cards.get("telegram", unseen, str(CARLA)) is not None
    assert await pair.b.services.cards.get("slack", unseen, CHANNEL) is not None
    assert len(pair.telegram.calls_to("sendMessage")) == sends + 1
    assert len(pair.slack.calls_to("chat.postMessage")) == threads + 1


@pg
async def test_a_failing_front_end_does_not_stall_the_relay(pair: Pair) -> None:
    number = await pair.customer_writes("Mensaje")

    async def broken(event: TicketEvent) -> None:
        raise RuntimeError("a front end's bug")

    rows = await TicketEventRow.filter(ticket_id=number)
    assert [r.kind for r in rows] == [EventKind.CREATED.value]
    pair.b.services.bus.on_settle(_raise)
    # A subscriber's failure is logged, as in process; the rows still go once shown.
    pair.b.services.bus.subscribe(broken)
    assert await pair.b.relay.relay_once() == 1
    assert len(pair.telegram.calls_to("sendMessage")) == 1


async def _raise() -> None:
    raise RuntimeError("a front end's drain failed")


@sqlite_only("one instance: nothing goes through the database")
async def test_one_instance_keeps_events_in_process(services: Services) -> None:
    assert carry_events(services) is None
    seen: list[TicketEvent] = []

    async def record(event: TicketEvent) -> None:
        seen.append(event)

    services.bus.subscribe(record)
    carla = Actor.of(await services.team.add("Carla", Rol.ADMIN))
    customer = await services.customers.find_or_create(email="ana@example.cl")
    view = await services.tickets.open(carla, customer_id=customer.id, channel=Canal.EMAIL,
                                       description="Consulta")
    assert [e.ticket.number for e in seen] == [view.number]
    assert await TicketEventRow.all().count() == 0


@pg
async def test_a_failed_batch_is_shown_on_the_next_pass(pair: Pair,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(event_relay, "POLL_SECONDS", 0.05)
    number = await pair.customer_writes("Mensaje")
    queries = type(pair.b.services.queries)
    real_get = queries.get
    failures = []

    async def flaky_get(self: object, n: int) -> object:
        if not failures:
            failures.append(n)
            raise ConnectionError("database connection lost")
        return await real_get(self, n)  # type: ignore[arg-type]

    monkeypatch.setattr(queries, "get", flaky_get)
    stop = asyncio.Event()
    task = asyncio.create_task(pair.b.relay.run(stop))
    try:
        await pair.telegram.wait_for("sendMessage", 1, timeout=10)
        await pair.slack.wait_for("chat.postMessage", 1, timeout=10)
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
    assert failures == [number]
    assert len(pair.telegram.calls_to("sendMessage")) == 1  # the first card, once
    assert await TicketEventRow.all().count() == 0

"""Slack: a customer message goes into the card's thread and edits the card; card edits
are not paced like posts, and never wait behind paced thread posts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.app.frontend import wired
from bot.incoming.intake import IncomingMessage
from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.services import Services, build_services
from handlers.slack.app import SlackFrontEnd, build
from handlers.slack.context import Pacer
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, SECRET, card_ts, thread_messages
from tests.servers import FakeSlack


class HeldSleep:
    """The pacer's sleep: records each wait and holds it until ``release()``."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._gate = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.waits.append(delay)
        await self._gate.wait()

    def release(self) -> None:
        self._gate.set()


@pytest.fixture
def held() -> HeldSleep:
    return HeldSleep()


@pytest.fixture
async def front(services: Services, team: Team, fake_slack: FakeSlack,
                held: HeldSleep) -> AsyncIterator[SlackFrontEnd]:
    """The Slack front end with a 1 s pacer whose clock stands still and whose waits
    are held: any paced call after the first one blocks until the test releases it."""
    settings = services.settings.model_copy(update={
        "slack_bot_token": fake_slack.token, "slack_signing_secret": SECRET,
        "slack_api_url": fake_slack.api_url, "slack_channel": CHANNEL})
    slack_services = build_services(settings, services.clock)
    front = wired(slack_services, build(slack_services, process_before_response=True,
                  pacer=Pacer(1.0, monotonic=lambda: 100.0, sleep=held)))
    await front.start()
    try:
        yield front
    finally:
        held.release()
        await front.stop()


async def _open(front: SlackFrontEnd, team: Team, text: str) -> int:
    s = front.ctx.services
    customer = await s.customers.find_or_create(email="ana@example.cl", name="Ana")
    view = await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                                description=text)
    await front.poster.drain_cards()
    return view.number


async def test_customer_message_goes_to_the_thread_and_edits_the_card(
        front: SlackFrontEnd, team: Team, fake_slack: FakeSlack, held: HeldSleep) -> None:
    held.release()  # this test is about what is posted, not about pacing
    number = await _open(front, team, "No me llegó la boleta.")
    s = front.ctx.services
    ts = await card_ts(s, number)
    await s.intake.receive(IncomingMessage(
        Canal.EMAIL, "Sigo sin boleta <!channel> & *urgente*", "<m2@example.cl>",
        email="ana@example.cl", name="Ana", ticket_number=number))
    await front.drain()

    (update,) = fake_slack.calls_to("chat.update")
    assert update.params["ts"] == ts and "Sigo sin boleta" in str(update.params["blocks"])
    posts = fake_slack.calls_to("chat.postMessage")
    assert len(posts) == 2  # the card, then one thread post (no second card)
    (entry,) = thread_messages(fake_slack, ts)
    assert "Ana" in entry["text"]
    body = entry["blocks"][1]["text"]
    assert body["type"] == "plain_text" and "<!channel> & *urgente*" in body["text"]
    assert "<!channel>" not in entry["blocks"][0]["text"]["text"]


async def test_burst_of_card_edits_is_not_paced_behind_thread_posts(
        front: SlackFrontEnd, team: Team, fake_slack: FakeSlack, held: HeldSleep) -> None:
    number = await _open(front, team, "El sitio no carga.")  # the first post: no wait
    assert held.waits == []
    s, admin = front.ctx.services, team.admin
    await s.tickets.classify(admin, number, tipo=TipoIncidencia.RECLAMO)
    await s.tickets.classify(admin, number, prioridad=Prioridad.ALTA)
    await s.tickets.assign(admin, number, team.diego.id)
    await s.tickets.classify(admin, number, prioridad=Prioridad.MEDIA)
    await s.tickets.note(admin, number, "Revisar el servidor web.")

    # every card edit is done while the first thread post still waits in the pacer
    await asyncio.wait_for(front.poster.drain_cards(), 5)
    assert len(fake_slack.calls_to("chat.update")) == 5
    assert len(fake_slack.calls_to("chat.postMessage")) == 1  # only the card
    assert held.waits == [1.0]  # one post held; the edits never asked the pacer
    card = fake_slack.messages[(CHANNEL, await card_ts(s, number))]
    assert "Media" in str(card["blocks"]) and "edited" in card

    held.release()
    await asyncio.wait_for(front.drain(), 5)
    thread = thread_messages(fake_slack, await card_ts(s, number))
    assert len(thread) == 5  # in order, nothing lost
    assert "Reclamo" in thread[0]["text"] and "Revisar el servidor" in thread[-1]["text"]
    assert len(held.waits) == 5  # the five thread posts, and nothing else, were paced

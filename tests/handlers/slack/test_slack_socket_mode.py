"""Slack in Socket Mode, the default way to connect: slack-sdk's real Socket Mode client
against the fake's WebSocket endpoint, with bolt in its production setting
(``process_before_response=False``: acknowledge first, then do the work)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest_asyncio

from bot.app.frontend import wired
from bot.process.domain import Canal, Estado, Prioridad, TipoIncidencia
from bot.services import Services, build_services
from handlers.slack.app import SlackFrontEnd, build
from handlers.slack.context import PLATFORM
from handlers.slack.modals import NEW
from tests.conftest import Team
from tests.handlers.slack.harness import CHANNEL, block_actions, card_action, card_ts, submission
from tests.servers import FakeSlack
from tests.servers.fake_socket_mode import Envelope


@dataclass
class SocketRig:
    services: Services
    front: SlackFrontEnd
    fake: FakeSlack

    async def command(self, user: str, text: str) -> Envelope:
        return await self.fake.socket.send("slash_commands", {
            "token": "x", "team_id": "T0ATIENDE", "team_domain": "atiende",
            "channel_id": CHANNEL, "channel_name": "soporte", "user_id": user,
            "user_name": user.lower(), "command": "/ticket", "text": text,
            "api_app_id": "A0ATIENDE", "is_enterprise_install": "false",
            "response_url": "https://hooks.slack.com/commands/x", "trigger_id": "trig.cmd"})

    async def interact(self, payload: dict[str, Any], **kwargs: Any) -> Envelope:
        return await self.fake.socket.send("interactive", payload, **kwargs)

    async def card(self, number: int) -> dict[str, Any]:
        return self.fake.messages[(CHANNEL, await card_ts(self.services, number))]

    async def click(self, user: str, number: int, action_id: str, **picked: Any) -> Envelope:
        card = await self.card(number)
        return await self.interact(block_actions(
            user, [card_action(card, action_id, **picked)], card["ts"]))


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Bolt acknowledges first and works afterwards: wait for the work's effect."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "the acknowledged envelope was never acted on"
        await asyncio.sleep(0.02)


@pytest_asyncio.fixture
async def rig(services: Services, team: Team, fake_slack: FakeSlack) -> AsyncIterator[SocketRig]:
    settings = services.settings.model_copy(update={
        "slack_bot_token": fake_slack.token, "slack_app_token": fake_slack.socket.app_token,
        "slack_signing_secret": "", "slack_api_url": fake_slack.api_url,
        "slack_channel": CHANNEL})
    slack_services = build_services(settings, services.clock)
    front = wired(slack_services, build(slack_services, pace_seconds=0, socket_ping_interval=0.2))
    assert front.routes() == []  # Socket Mode only: no public HTTP endpoint
    await front.start()
    await fake_slack.socket.wait_connected()
    yield SocketRig(slack_services, front, fake_slack)
    await front.stop()


async def _open_ticket(rig: SocketRig, team: Team) -> None:
    s = rig.services
    customer = await s.customers.find_or_create(email="ana@example.cl")
    await s.tickets.open(team.admin, customer_id=customer.id, channel=Canal.EMAIL,
                         description="No puedo entrar al panel")
    await rig.front.drain()


async def test_every_envelope_kind_is_acknowledged(rig: SocketRig, team: Team) -> None:
    fake = rig.fake
    assert fake.socket.opened == 1 and len(fake.socket.live()) == 1

    command = await rig.command("UDIEGO", "nuevo")
    assert command.ack == {"envelope_id": command.envelope_id}
    await eventually(lambda: _has(fake, "views.open"))
    view = fake.views[fake.last("views.open").response["view"]["id"]]
    assert view["callback_id"] == NEW

    submitted = await rig.interact(submission("UDIEGO", view, {
        "contacto": "ana@example.cl", "nombre": "Ana", "canal": Canal.EMAIL.value,
        "descripcion": "Me cobraron dos veces"}))
    assert submitted.ack is not None and submitted.ack["envelope_id"] == submitted.envelope_id
    await eventually(lambda: _ticket_exists(rig.services, 1))
    await eventually(lambda: _card_posted(rig, 1))  # the new ticket's card, saved

    clicked = await rig.click("UDIEGO", 1, "atiende_tipo", selected_option={"value": "Reclamo"})
    assert clicked.ack == {"envelope_id": clicked.envelope_id}
    await eventually(lambda: _tipo_is(rig.services, 1, TipoIncidencia.RECLAMO))

    event = await fake.socket.send("events_api", {
        "token": "x", "team_id": "T0ATIENDE", "api_app_id": "A0ATIENDE",
        "type": "event_callback", "event_id": "Ev0SOCKET", "event_time": 1,
        "event": {"type": "app_home_opened", "user": "UDIEGO", "channel": "D0DIEGO",
                  "tab": "home", "event_ts": "1.1"}})
    assert event.ack == {"envelope_id": event.envelope_id}
    await eventually(lambda: _has(fake, "views.publish"))
    assert fake.socket.unknown_acks == []  # nothing acknowledged twice or unasked


async def test_whole_ticket_life_over_socket_mode(rig: SocketRig, team: Team) -> None:
    s = rig.services
    await _open_ticket(rig, team)
    steps = [("atiende_tipo", {"selected_option": {"value": "Consulta"}}),
             ("atiende_prioridad", {"selected_option": {"value": "Alta"}}),
             ("atiende_proponer", {}),
             ("atiende_conforme", {})]
    for action_id, picked in steps:
        version = (await s.queries.get(1)).version
        edits = len(rig.fake.calls_to("chat.update"))
        clicked = await rig.click("UDIEGO", 1, action_id, **picked)
        assert clicked.ack == {"envelope_id": clicked.envelope_id}
        await eventually(lambda v=version: _check(s, 1, lambda t: t.version > v))
        # the next click must be made on the card redrawn with this step's result
        await eventually(lambda n=edits: _edited_since(rig.fake, n))
    ticket = await s.queries.get(1)
    assert (ticket.tipo, ticket.prioridad) == (TipoIncidencia.CONSULTA, Prioridad.ALTA)
    assert ticket.estado is Estado.RESOLVED and ticket.resolved_at is not None


async def test_dropped_connection_reconnects_and_nothing_is_lost(rig: SocketRig,
                                                                 team: Team) -> None:
    s, socket = rig.services, rig.fake.socket
    await _open_ticket(rig, team)
    card = await rig.card(1)
    action = card_action(card, "atiende_tipo", selected_option={"value": "Sugerencia"})

    await socket.drop()
    # Slack sends while we are away; the envelope waits for the next connection.
    pending = await rig.interact(block_actions("UDIEGO", [action], card["ts"]),
                                 wait_ack=False)
    await socket.wait_connected()  # the client noticed and opened a new connection
    await asyncio.wait_for(pending.acked.wait(), 10)
    assert socket.opened == 2 and pending.retry_attempt == 1
    await eventually(lambda: _tipo_is(s, 1, TipoIncidencia.SUGERENCIA))
    history = [i for i in await s.queries.history(1) if i.field == "Tipo_Incidencia"]
    assert len(history) == 1  # applied once


async def test_disconnect_message_refreshes_the_connection(rig: SocketRig, team: Team) -> None:
    s, socket = rig.services, rig.fake.socket
    await _open_ticket(rig, team)
    await socket.request_refresh()
    assert socket.opened == 2
    await eventually(lambda: _one_live(socket))
    clicked = await rig.click("UDIEGO", 1, "atiende_prioridad",
                              selected_option={"value": "Baja"})
    assert clicked.ack == {"envelope_id": clicked.envelope_id}
    await eventually(lambda: _check(s, 1, lambda t: t.prioridad is Prioridad.BAJA))


# --- small waits -------------------------------------------------------------------
async def _has(fake: FakeSlack, method: str) -> bool:
    return bool(fake.calls_to(method))


async def _card_posted(rig: SocketRig, number: int) -> bool:
    return await rig.services.cards.get(PLATFORM, number, CHANNEL) is not None


async def _ticket_exists(s: Services, number: int) -> bool:
    return (await s.queries.list()).total >= number


async def _check(s: Services, number: int, test: Callable[[Any], bool]) -> bool:
    return test(await s.queries.get(number))


async def _tipo_is(s: Services, number: int, tipo: TipoIncidencia) -> bool:
    return (await s.queries.get(number)).tipo is tipo


async def _edited_since(fake: FakeSlack, edits: int) -> bool:
    return len(fake.calls_to("chat.update")) > edits


async def _one_live(socket: Any) -> bool:
    return len(socket.live()) == 1

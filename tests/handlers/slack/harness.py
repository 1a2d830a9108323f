"""Shared set-up for the Slack tests (no tests here): the front end in HTTP mode served
by uvicorn on 127.0.0.1, and signed requests built the way Slack sends them."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette

from bot.app.frontend import wired
from bot.services import Services, build_services
from handlers.slack.app import SlackFrontEnd, build
from handlers.slack.context import PLATFORM
from tests.servers import FakeSlack, signed_headers

SECRET = "test-signing-secret"
CHANNEL = "C0SOPORTE"


@dataclass
class SlackRig:
    services: Services
    front: SlackFrontEnd
    fake: FakeSlack
    http: httpx.AsyncClient

    async def send(self, body: bytes, content_type: str, *, secret: str = SECRET,
                   timestamp: int | None = None) -> httpx.Response:
        headers = signed_headers(secret, body, timestamp, content_type=content_type)
        response = await self.http.post("/slack/events", content=body, headers=headers)
        await self.front.drain()
        return response

    async def command(self, user: str, text: str, **extra: str) -> httpx.Response:
        form = {"token": "x", "team_id": "T0ATIENDE", "channel_id": CHANNEL, "user_id": user,
                "command": "/ticket", "text": text, "trigger_id": "trig.cmd",
                "response_url": "https://hooks.slack.com/commands/x", **extra}
        return await self.send(urlencode(form).encode(), "application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.send(interaction_body(payload), "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any], event_id: str = "Ev1") -> httpx.Response:
        return await self.send(event_body(event, event_id), "application/json")

    # --- reading what the fake recorded ----------------------------------------------
    async def card_ts(self, number: int) -> str:
        return await card_ts(self.services, number)

    async def card(self, number: int) -> dict[str, Any]:
        return await card_of(self.services, self.fake, number)

    async def thread(self, number: int) -> list[dict[str, Any]]:
        return await thread_of(self.services, self.fake, number)

    async def click(self, user: str, number: int, action_id: str,
                    **picked: Any) -> httpx.Response:
        """A block_actions payload for an element of the card as Slack shows it now."""
        return await self.interact(await click_payload(self.services, self.fake, user, number,
                                                       action_id, **picked))


# --- what Slack sends, and what the fake shows (also used by tests/scenarios/desk.py) ---
def interaction_body(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body(event: dict[str, Any], event_id: str = "Ev1") -> bytes:
    return json.dumps({"token": "x", "team_id": "T0ATIENDE", "api_app_id": "A0ATIENDE",
                       "event": event, "type": "event_callback", "event_id": event_id,
                       "event_time": 1}).encode()


async def card_of(services: Services, fake: FakeSlack, number: int) -> dict[str, Any]:
    """The ticket's card as the fake shows it now."""
    return fake.messages[(CHANNEL, await card_ts(services, number))]


async def thread_of(services: Services, fake: FakeSlack, number: int) -> list[dict[str, Any]]:
    return thread_messages(fake, await card_ts(services, number))


async def click_payload(services: Services, fake: FakeSlack, user: str, number: int,
                        action_id: str, **picked: Any) -> dict[str, Any]:
    """A click on an element of the card as Slack shows it now."""
    card = await card_of(services, fake, number)
    return block_actions(user, [card_action(card, action_id, **picked)], card["ts"])


def block_actions(user: str, actions: list[dict[str, Any]], message_ts: str = "1.1",
                  view: dict[str, Any] | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user, "team_id": "T0ATIENDE"},
        "api_app_id": "A0ATIENDE", "token": "x", "trigger_id": "trig.1",
        "team": {"id": "T0ATIENDE", "domain": "atiende"}, "actions": actions}
    if view is not None:
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view["id"]}
    else:
        payload["container"] = {"type": "message", "message_ts": message_ts,
                                "channel_id": CHANNEL, "is_ephemeral": False}
        payload["channel"] = {"id": CHANNEL, "name": "soporte"}
    return payload


def submission(user: str, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A view_submission of a view the fake stored, with ``{block_id: value}`` typed in."""
    state: dict[str, Any] = {}
    for block_id, value in values.items():
        element = next(b["element"] for b in view["blocks"] if b.get("block_id") == block_id)
        if element["type"] == "static_select":
            state[block_id] = {element["action_id"]: {"type": "static_select",
                                                      "selected_option": {"value": value}}}
        else:
            state[block_id] = {element["action_id"]: {"type": element["type"],
                                                      "value": value}}
    submitted = {**view, "state": {"values": state}}
    return {"type": "view_submission", "user": {"id": user, "team_id": "T0ATIENDE"},
            "team": {"id": "T0ATIENDE"}, "api_app_id": "A0ATIENDE", "token": "x",
            "trigger_id": "trig.2", "view": submitted}


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)  # connections wait in the backlog until uvicorn accepts: no polling
    return sock


@pytest_asyncio.fixture
async def rig(services: Services, team: Any, fake_slack: FakeSlack) -> AsyncIterator[SlackRig]:
    """The Slack front end (HTTP mode) against the fake Web API, served over loopback."""
    settings = services.settings.model_copy(update={
        "slack_bot_token": fake_slack.token, "slack_signing_secret": SECRET,
        "slack_api_url": fake_slack.api_url, "slack_channel": CHANNEL})
    slack_services = build_services(settings, services.clock)
    front = wired(slack_services, build(slack_services, process_before_response=True, pace_seconds=0))
    await front.start()
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(Starlette(routes=front.routes()), lifespan="off",
                                           log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    port = sock.getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield SlackRig(slack_services, front, fake_slack, client)
    server.should_exit = True
    await task
    await front.stop()
    sock.close()


def thread_messages(fake: Any, ts: str) -> list[dict[str, Any]]:
    """The posts in the support channel's thread under ``ts``, oldest first."""
    return [m for (ch, _), m in sorted(fake.messages.items())
            if ch == CHANNEL and m.get("thread_ts") == ts]


def card_action(card: dict[str, Any], action_id: str, **picked: Any) -> dict[str, Any]:
    """The ``block_actions`` action for the card element ``action_id``, as Slack sends it."""
    for block in card["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                action = {"action_id": action_id, "block_id": block["block_id"],
                          "type": element["type"], "action_ts": "1.2", **picked}
                if "value" in element:
                    action["value"] = element["value"]
                return action
    raise AssertionError(f"{action_id} not on the card {card.get('ts')}")


async def card_ts(services: Any, number: int) -> str:
    """The ts of ticket ``number``'s card in the support channel."""
    ref = await services.cards.get(PLATFORM, number, CHANNEL)
    assert ref is not None, f"no Slack card for #{number}"
    return str(ref.message_id)

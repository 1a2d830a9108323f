"""Reminders through the real front ends' notifiers to the fake Telegram and Slack APIs.

Scenario 1 at Sat 5 Dec 17:50: "vencido" reaches Diego (a mention in the ticket's Slack
thread), the support channel, and Carla (a Telegram message with the ticket's buttons).
The Telegram half is skipped while ``handlers.telegram`` does not import (it is being
built in parallel); the Slack half always runs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.app.frontend import wired
from bot.process.domain import Prioridad
from bot.reminders import build_reminders
from bot.services import Services, build_services
from handlers.slack.app import build as build_slack
from tests.conftest import santiago
from tests.core.reminders.harness import whatsapp_ticket
from tests.servers import FakeSlack, FakeTelegram

try:
    from handlers.telegram.app import TelegramFrontEnd
except ImportError as exc:  # pragma: no cover - depends on the parallel work
    TelegramFrontEnd = None  # type: ignore[assignment,misc]
    TELEGRAM_MISSING = str(exc)
else:
    TELEGRAM_MISSING = ""

CHANNEL = "C0SOPORTE"


def _chat_services(services: Services, fake_slack: FakeSlack,
                   fake_telegram: FakeTelegram | None = None) -> Services:
    update: dict[str, Any] = {
        "slack_bot_token": fake_slack.token, "slack_api_url": fake_slack.api_url,
        "slack_channel": CHANNEL, "slack_signing_secret": "secret"}
    if fake_telegram is not None:
        update |= {"telegram_token": fake_telegram.token,
                   "telegram_api_url": fake_telegram.base_url,
                   "telegram_webhook_url": "https://atiende.example/telegram"}  # webhook mode: no polling
    return build_services(services.settings.model_copy(update=update), services.clock)


def _slack_posts(fake: FakeSlack, since: int) -> list[dict[str, Any]]:
    return [c.params for c in fake.calls_to("chat.postMessage")[since:]]


async def test_overdue_reaches_slack_thread_and_channel(services, team, clock,
                                                        fake_slack) -> None:
    chat = _chat_services(services, fake_slack)
    slack = wired(chat, build_slack(chat, process_before_response=True, pace_seconds=0))
    await slack.start()
    try:
        reminders = build_reminders(chat)
        number = await whatsapp_ticket(chat, team, prioridad=Prioridad.ALTA)
        await slack.drain()
        before = len(fake_slack.calls_to("chat.postMessage"))
        clock.set(santiago(2026, 12, 5, 17, 50))
        await reminders.fire_due()
        posts = _slack_posts(fake_slack, before)
    finally:
        await slack.stop()
    assert len(posts) == 2  # Diego's mention and the channel's line
    assert all(p["channel"] == CHANNEL and f"#{number}" in p["text"] for p in posts)
    assert any("<@UDIEGO>" in p["text"] and "vencido" in p["text"] for p in posts)


@pytest.mark.skipif(bool(TELEGRAM_MISSING), reason=f"handlers.telegram: {TELEGRAM_MISSING}")
async def test_overdue_reaches_telegram_and_slack(services, team, clock, fake_telegram,
                                                  fake_slack) -> None:
    chat = _chat_services(services, fake_slack, fake_telegram)
    assert TelegramFrontEnd is not None
    telegram = wired(chat, TelegramFrontEnd(chat))
    slack = wired(chat, build_slack(chat, process_before_response=True, pace_seconds=0))
    await telegram.start()
    await slack.start()
    try:
        reminders = build_reminders(chat)
        number = await whatsapp_ticket(chat, team, prioridad=Prioridad.ALTA)
        await slack.drain()
        await telegram.drain()
        before_tg = len(fake_telegram.calls_to("sendMessage"))
        before_slack = len(fake_slack.calls_to("chat.postMessage"))
        clock.set(santiago(2026, 12, 5, 17, 50))
        digests = await reminders.fire_due()
        carla = [c.params for c in fake_telegram.calls_to("sendMessage")[before_tg:]
                 if str(c.params.get("chat_id")) == "1001"]
        posts = _slack_posts(fake_slack, before_slack)
    finally:
        await slack.stop()
        await telegram.stop()
    assert {d.audience.value for d in digests} == {"assignee", "channel", "admin"}
    assert len(carla) == 1 and "plazo de primera respuesta vencido" in carla[0]["text"]
    markup = carla[0]["reply_markup"]
    markup = json.loads(markup) if isinstance(markup, str) else markup
    assert markup["inline_keyboard"], "the reminder carries the ticket's buttons"
    assert len(posts) == 2 and all(f"#{number}" in p["text"] for p in posts)
    assert any("<@UDIEGO>" in p["text"] for p in posts)

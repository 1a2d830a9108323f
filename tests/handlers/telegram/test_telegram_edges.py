"""Telegram at the edges: the webhook answers only after the update is handled, refuses
what is not an update in one line, and polling survives a malformed Bot API answer."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web

from bot.app.frontend import wired
from bot.process.settings import Settings
from bot.services import Services
from handlers.telegram.app import SECRET_HEADER, TelegramFrontEnd
from handlers.web import build_app
from tests.conftest import Team
from tests.handlers.telegram.harness import CARLA, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram
from tests.servers import telegram_updates as tu

URL = "/telegram/webhook"
GOOD = {SECRET_HEADER: "s3cret-token_1"}


@pytest.fixture
async def webhook(services: Services, team: Team, fake_telegram: FakeTelegram,
                  settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    settings.telegram_webhook_url = f"https://atiende.example.cl{URL}"
    settings.telegram_webhook_secret = GOOD[SECRET_HEADER]
    front = wired(services, TelegramFrontEnd(services))
    await front.start()
    app = build_app(front.routes())
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://test") as client:
            yield client
    finally:
        await front.stop()


async def test_webhook_answers_after_the_update_is_handled(
        webhook: httpx.AsyncClient, fake_telegram: FakeTelegram) -> None:
    """When Telegram gets its 200 the reply is already sent: a crash after the answer
    cannot lose an update Telegram thinks we have."""
    update = tu.make_message_update(CARLA, CARLA, "/ayuda")
    response = await webhook.post(URL, json=update, headers=GOOD)
    assert response.status_code == 200
    sent = fake_telegram.calls_to("sendMessage")  # no drain: handled before the answer
    assert [c.params["chat_id"] for c in sent] == [CARLA]
    assert "/nuevo" in sent[0].params["text"]


async def test_webhook_refuses_what_is_not_an_update(
        webhook: httpx.AsyncClient, fake_telegram: FakeTelegram,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    deep = b"{\"a\":" * 100_000 + b"1" + b"}" * 100_000
    cases = [(deep, 400), (b"{not json", 400), (b"{\"x\": \"" + b"a" * (2 << 20) + b"\"}", 413)]
    for body, status in cases:
        caplog.clear()
        response = await webhook.post(URL, content=body, headers=GOOD)
        assert response.status_code == status
        lines = [r for r in caplog.records if r.levelno >= logging.INFO
                 and not r.name.startswith(("httpx", "httpcore"))]
        assert len(lines) == 1 and lines[0].exc_info is None, [r.getMessage() for r in lines]
        assert "telegram" in lines[0].name and len(lines[0].getMessage()) < 300
    assert fake_telegram.calls_to("sendMessage") == []


# --- polling: malformed getUpdates answers ----------------------------------------------
Answer = Callable[[], web.Response]
MALFORMED: dict[str, Answer] = {
    "html": lambda: web.Response(text="<html><body>502 Bad Gateway</body></html>",
                                 content_type="text/html"),
    "result_not_a_list": lambda: web.json_response({"ok": True, "result": "garbage"}),
    "no_result": lambda: web.json_response({"ok": True}),
    "a_list": lambda: web.json_response([1, 2, 3]),
    "items_without_id": lambda: web.json_response({"ok": True, "result": [{"x": 1}, 7]}),
    "too_deep": lambda: web.Response(body=b"[" * 100_000 + b"]" * 100_000,
                                     content_type="application/json"),
}


def _answer_once(fake: FakeTelegram, answer: Answer) -> None:
    """The next getUpdates gets ``answer`` instead of the fake's own."""
    original = fake._serve  # noqa: SLF001 (test hook on the fake)
    state = {"done": False}

    async def serve(request: web.Request, method: str, *args: Any) -> web.StreamResponse:
        if method == "getUpdates" and not state["done"]:
            state["done"] = True
            return answer()
        return await original(request, method, *args)

    fake._serve = serve  # type: ignore[method-assign]  # noqa: SLF001


async def _help_answered(fake: FakeTelegram) -> None:
    before = len(fake.calls_to("sendMessage"))
    fake.feed_message(CARLA, CARLA, "/ayuda")
    await fake.wait_for("sendMessage", count=before + 1, timeout=15)


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_malformed_get_updates_is_one_warning_and_polling_goes_on(
        kind: str, services: Services, team: Team, fake_telegram: FakeTelegram,
        caplog: pytest.LogCaptureFixture) -> None:
    front = wired(services, TelegramFrontEnd(services, poll_timeout=1))
    caplog.set_level(logging.INFO)
    _answer_once(fake_telegram, MALFORMED[kind])
    await front.start()
    try:
        await _help_answered(fake_telegram)
    finally:
        await front.stop()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage()[:200] for r in warnings]
    assert warnings[0].exc_info is None and len(warnings[0].getMessage()) < 300
    assert "502 Bad Gateway" not in warnings[0].getMessage()
    assert json.dumps(fake_telegram.calls_to("sendMessage")[-1].params["chat_id"]) == str(CARLA)

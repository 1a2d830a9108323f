"""Telegram: polling and webhook, the shared corpus, updates PTB cannot parse."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from bot.app.frontend import wired
from bot.process.settings import Settings
from bot.services import Services
from handlers.telegram.app import SECRET_HEADER, TelegramFrontEnd
from handlers.telegram.transport import bot_username, file_url, parse_update
from tests.conftest import CORPUS, Team, corpus_params, requires_corpus
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.servers import FakeTelegram
from tests.servers import telegram_updates as tu

TELEGRAM_CORPUS = corpus_params("telegram", "*.json")


@pytest.fixture
async def polling(services: Services, team: Team,
                  fake_telegram: FakeTelegram) -> AsyncIterator[TelegramFrontEnd]:
    front = wired(services, TelegramFrontEnd(services, poll_timeout=1))
    await front.start()
    try:
        yield front
    finally:
        await front.stop()


async def _ask_help(fake: FakeTelegram) -> None:
    """The administrator asks for /ayuda; return once the bot answered (polling is alive)."""
    before = len(fake.calls_to("sendMessage"))
    fake.feed_message(CARLA, CARLA, "/ayuda")
    async with asyncio.timeout(10):
        while True:
            sent = fake.calls_to("sendMessage")[before:]
            if any(c.params.get("chat_id") == CARLA and c.status == 200 for c in sent):
                break
            await fake.wait_for("sendMessage", count=len(fake.calls_to("sendMessage")) + 1,
                                timeout=10)
    (reply,) = [c for c in sent if c.params.get("chat_id") == CARLA and c.status == 200]
    assert "/nuevo" in reply.params["text"]


def _handler_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR
            and r.name.startswith(("telegram", "handlers", "bot"))]


@requires_corpus
def test_corpus_is_there() -> None:
    assert len(TELEGRAM_CORPUS) >= 20, f"no Telegram corpus in {CORPUS}"


@pytest.mark.parametrize("path", TELEGRAM_CORPUS, ids=lambda p: getattr(p, "stem", "no-corpus"))
async def test_corpus_update_through_polling(path: Path, polling: TelegramFrontEnd,
                                             fake_telegram: FakeTelegram,
                                             caplog: pytest.LogCaptureFixture) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["update_id"] = tu.next_update_id()  # the corpus repeats ids; Telegram never does
    with caplog.at_level(logging.WARNING):
        fake_telegram.feed_update(data)
        await _ask_help(fake_telegram)  # the next update still arrives: nothing stalled
        await polling.drain()
    assert _handler_errors(caplog) == []
    assert fake_telegram.updates == [] or fake_telegram.updates[0]["update_id"] > \
        data["update_id"]


@pytest.mark.parametrize("path", TELEGRAM_CORPUS, ids=lambda p: getattr(p, "stem", "no-corpus"))
async def test_corpus_update_as_the_administrator(path: Path, desk: Desk,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    """The same payloads as if the administrator had sent them, through process_update."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for kind in ("message", "edited_message", "callback_query", "message_reaction",
                 "my_chat_member"):
        part = data.get(kind)
        if isinstance(part, dict):
            for who in ("from", "user"):
                if isinstance(part.get(who), dict):
                    part[who]["id"] = CARLA
    with caplog.at_level(logging.WARNING):
        await desk.deliver(data)
    assert _handler_errors(caplog) == []
    assert desk.failed_calls() == []


async def test_unparseable_update_does_not_stall_polling(
        polling: TelegramFrontEnd, fake_telegram: FakeTelegram,
        caplog: pytest.LogCaptureFixture) -> None:
    broken = {"message": {"message_id": 1, "chat": {"id": 5}, "text": "sin fecha ni tipo"}}
    with caplog.at_level(logging.WARNING):
        fake_telegram.feed_update(broken)
        fake_telegram.feed_update({"callback_query": {"id": "1", "data": "x"}})
        await _ask_help(fake_telegram)
    assert any("could not be parsed" in r.message for r in caplog.records)
    await _ask_help(fake_telegram)


def test_parse_update_never_raises() -> None:
    from telegram import Bot

    bot = Bot("1:x")
    assert parse_update({"message": {}}, bot) is None  # type: ignore[arg-type]
    assert parse_update("nonsense", bot) is None  # type: ignore[arg-type]
    update = parse_update({"update_id": 5, "message": {"message_id": 1}}, bot)  # type: ignore[arg-type]
    assert update is not None and update.update_id == 5 and update.message is None


def test_file_url_points_at_the_same_server() -> None:
    assert file_url("http://127.0.0.1:8081/bot") == "http://127.0.0.1:8081/file/bot"
    assert file_url("https://api.telegram.org/bot") == "https://api.telegram.org/file/bot"


async def test_polling_survives_a_429_and_a_5xx(polling: TelegramFrontEnd,
                                                fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("getUpdates", status=502)
    fake_telegram.fail_next("sendMessage", status=429, retry_after=1)
    await _ask_help(fake_telegram)
    assert [c.fault for c in fake_telegram.calls_to("sendMessage")][-2:] == [429, None]


async def test_downloads_use_the_configured_server(polling: TelegramFrontEnd,
                                                   fake_telegram: FakeTelegram) -> None:
    file_id = fake_telegram.add_file(b"%PDF-1.4 boleta", file_path="documents/boleta.pdf")
    file = await polling.application.bot.get_file(file_id)
    assert file.file_path is not None and file.file_path.startswith(fake_telegram.root_url)
    assert bytes(await file.download_as_bytearray()) == b"%PDF-1.4 boleta"


# --- webhook -------------------------------------------------------------------------
@pytest.fixture
async def webhook(services: Services, team: Team, fake_telegram: FakeTelegram,
                  settings: Settings) -> AsyncIterator[TelegramFrontEnd]:
    settings.telegram_webhook_url = "https://atiende.example.cl/telegram/webhook"
    settings.telegram_webhook_secret = "s3cret-token_1"
    front = wired(services, TelegramFrontEnd(services))
    await front.start()
    try:
        yield front
    finally:
        await front.stop()


async def test_webhook_mode_checks_the_secret_on_every_request(
        webhook: TelegramFrontEnd, fake_telegram: FakeTelegram) -> None:
    assert fake_telegram.webhook["url"] == "https://atiende.example.cl/telegram/webhook"
    assert fake_telegram.webhook["secret_token"] == "s3cret-token_1"
    app = Starlette(routes=webhook.routes())
    update = tu.make_message_update(CARLA, CARLA, "/ayuda")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        url = "/telegram/webhook"
        assert (await client.post(url, json=update)).status_code == 403
        bad = {SECRET_HEADER: "wrong"}
        assert (await client.post(url, json=update, headers=bad)).status_code == 403
        good = {SECRET_HEADER: "s3cret-token_1"}
        assert (await client.post(url, content=b"{not json", headers=good)).status_code == 400
        assert (await client.post(url, json=update, headers=good)).status_code == 200
        if CORPUS.is_dir():  # a real, odd update too, when the shared corpus is here
            odd = json.loads((CORPUS / "telegram" / "tg_doc_audio.json").read_text())
            assert (await client.post(url, json=odd, headers=good)).status_code == 200
    await webhook.drain()
    replies = fake_telegram.calls_to("sendMessage")
    # /ayuda, and the refusal to the stranger of the old-format corpus update (repaired)
    expected = [CARLA, 1111111] if CORPUS.is_dir() else [CARLA]
    assert [c.params["chat_id"] for c in replies] == expected
    assert fake_telegram.calls_to("getUpdates") == []


async def test_stop_is_clean_and_idempotent(services: Services, team: Team,
                                            fake_telegram: FakeTelegram) -> None:
    front = wired(services, TelegramFrontEnd(services, poll_timeout=1))
    await front.start()
    started = asyncio.get_running_loop().time()
    await front.stop()
    await front.stop()
    assert asyncio.get_running_loop().time() - started < 5
    assert not front.application.running


async def test_the_bot_username_for_invite_links(settings: Settings,
                                                 fake_telegram: FakeTelegram) -> None:
    """``atiende equipo invitar`` prints a t.me link with the bot's @username (getMe)."""
    assert await bot_username(settings) == fake_telegram.bot["username"]
    assert fake_telegram.calls_to("getMe")

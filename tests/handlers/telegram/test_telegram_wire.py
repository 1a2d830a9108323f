"""The Bot API's HTTP client (``handlers.telegram.wire``), over real sockets to the fake.

A call without files goes as one JSON body (keyboards as objects, numbers as numbers);
an upload stays multipart with its file name as written; a call the server never
answers ends as PTB's ``TimedOut`` and a refused connection as ``NetworkError``, which
is what the retries (``transport.RetryingRequest``) and the rate limiter act on.
"""

from __future__ import annotations

import socket

import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut

from handlers.telegram.transport import BotApiRequest
from tests.servers import TIMEOUT, FakeTelegram

CHAT = 1001


def _bot(fake: FakeTelegram, request: BotApiRequest, base_url: str | None = None) -> Bot:
    return Bot(fake.token, base_url=base_url or fake.base_url, request=request)


async def test_a_call_goes_as_json_and_an_upload_as_multipart(
        fake_telegram: FakeTelegram) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("✓ Reclamo", callback_data="t:1:2:R")]])
    async with _bot(fake_telegram, BotApiRequest()) as bot:
        sent = await bot.send_message(CHAT, "<b>Ticket #1</b> · ñandú", parse_mode="HTML",
                                      reply_markup=keyboard)
        await bot.send_document(CHAT, InputFile(b"OggS...", filename="nota de voz.ogg"),
                                caption="audio")
    (message,) = fake_telegram.calls_to("sendMessage")
    assert message.headers["Content-Type"] == "application/json"
    assert message.params == {"chat_id": CHAT, "text": "<b>Ticket #1</b> · ñandú",
                              "parse_mode": "HTML", "reply_markup": {"inline_keyboard": [[
                                  {"text": "✓ Reclamo", "callback_data": "t:1:2:R"}]]}}
    assert sent.text == "Ticket #1 · ñandú" and sent.chat.id == CHAT
    assert fake_telegram.messages[(CHAT, sent.message_id)]["reply_markup"] == \
        keyboard.to_dict()
    (upload,) = fake_telegram.calls_to("sendDocument")
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert upload.files["document"].filename == "nota de voz.ogg"
    assert upload.files["document"].data == b"OggS..."
    assert upload.params["caption"] == "audio"


async def test_a_refusal_keeps_its_meaning(fake_telegram: FakeTelegram) -> None:
    async with _bot(fake_telegram, BotApiRequest()) as bot:
        sent = await bot.send_message(CHAT, "hola")
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("hola", chat_id=CHAT, message_id=sent.message_id)


async def test_an_unanswered_call_times_out(fake_telegram: FakeTelegram) -> None:
    fake_telegram.fail_next("sendMessage", TIMEOUT)
    async with _bot(fake_telegram, BotApiRequest(read_timeout=0.2)) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "hola")
        assert (await bot.send_message(CHAT, "otra vez")).text == "otra vez"  # pool usable


async def test_a_refused_connection_is_a_network_error(fake_telegram: FakeTelegram) -> None:
    with socket.socket() as free:  # a port nobody listens on
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    async with BotApiRequest() as request:
        with pytest.raises(NetworkError, match="aiohttp") as raised:
            await request.post(f"http://127.0.0.1:{port}/bot{fake_telegram.token}/getMe")
    assert not isinstance(raised.value, TimedOut)


def test_the_proxy_of_the_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.empresa.cl:3128")
    monkeypatch.setenv("NO_PROXY", "interno.empresa.cl")
    request = BotApiRequest()
    assert request.proxy_for("https://api.telegram.org/bot1:x/getMe") == \
        "http://proxy.empresa.cl:3128"
    assert request.proxy_for("https://interno.empresa.cl/bot1:x/getMe") is None
    assert request.proxy_for("http://127.0.0.1:8081/bot1:x/getMe") is None

"""The test servers, proven with the real client libraries over real sockets.

If these pass, a front-end test that fails is about our code, not about the fakes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import time
from email.message import EmailMessage
from urllib.parse import urlencode

import aiosmtplib
import httpx
import pytest
from aioimaplib import IMAP4
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
    Update,
)
from telegram.error import BadRequest, InvalidToken, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.servers import LATE, TIMEOUT
from tests.servers.fake_graph import FakeGraph, sign_whatsapp
from tests.servers.fake_slack import FakeSlack
from tests.servers.fake_telegram import FakeTelegram
from tests.servers.images import png
from tests.servers.imap import ImapAccount
from tests.servers.postgres import PostgresServer
from tests.servers.slack_signing import signed_headers
from tests.servers.smtp import SmtpServer
from tests.servers.telegram_updates import make_callback_update, make_message_update

KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("Tomar", callback_data="take:7")]])


def telegram_bot(fake: FakeTelegram) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


# --- Telegram ----------------------------------------------------------------------
async def test_telegram_send_edit_and_errors(fake_telegram: FakeTelegram) -> None:
    async with telegram_bot(fake_telegram) as bot:
        sent = await bot.send_message(
            42, "Ticket <b>#7</b>", parse_mode="HTML", reply_markup=KEYBOARD
        )
        again = await bot.send_message(42, "second")
        edited = await bot.edit_message_text(
            "Ticket #7 tomado", chat_id=42, message_id=sent.message_id
        )
        with pytest.raises(BadRequest, match="not modified"):
            await bot.edit_message_text("Ticket #7 tomado", chat_id=42, message_id=sent.message_id)
        with pytest.raises(BadRequest, match="parse entities"):
            await bot.send_message(42, "1 < 2", parse_mode="HTML")

    assert isinstance(edited, Message)
    assert (sent.message_id, again.message_id) == (1, 2)  # per-chat sequence
    assert sent.text == "Ticket #7" and sent.reply_markup == KEYBOARD
    assert edited.text == "Ticket #7 tomado" and edited.reply_markup is None
    call = fake_telegram.calls_to("sendMessage")[0]
    assert call.params["chat_id"] == 42  # form values JSON-decoded
    assert call.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "take:7"
    assert fake_telegram.last("editMessageText").status == 400
    assert [c.method for c in fake_telegram.calls][0] == "getMe"  # `async with bot`


async def test_telegram_faults_become_ptb_errors(fake_telegram: FakeTelegram) -> None:
    async with telegram_bot(fake_telegram) as bot:
        fake_telegram.fail_next("sendMessage", status=429, retry_after=3)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(1, "x")
        assert info.value.retry_after == 3
        fake_telegram.fail_next("sendMessage", status=500)
        with pytest.raises(NetworkError):
            await bot.send_message(1, "x")
        fake_telegram.fail_next("sendMessage", status=TIMEOUT)
        with pytest.raises(TimedOut):
            await bot.send_message(1, "x", read_timeout=0.2)
        fake_telegram.fail_next("sendMessage", status=LATE)  # done, but the reply never comes
        with pytest.raises(TimedOut):
            await bot.send_message(1, "late", read_timeout=0.2)
        assert fake_telegram.messages[(1, 1)]["text"] == "late"
        fake_telegram.rate_limit = (1, 60.0)  # one message per chat per minute
        await bot.send_message(2, "first")
        with pytest.raises(RetryAfter):
            await bot.send_message(2, "second")
        await bot.send_message(3, "other chat")
        fake_telegram.rate_limit = None
        fake_telegram.fault_rate, fake_telegram.fault_kinds = 1.0, (500,)
        with pytest.raises(NetworkError):
            await bot.send_chat_action(1, "typing")
        fake_telegram.fault_rate = 0.0
        await bot.send_message(1, "ok")
    faults = [c.fault for c in fake_telegram.calls_to("sendMessage")]
    assert faults == [429, 500, "timeout", "late", None, 429, None, None]
    with pytest.raises(InvalidToken):  # `async with` calls getMe: 401 Unauthorized
        async with Bot("1:wrong", base_url=fake_telegram.base_url):
            pass


async def test_telegram_files_and_commands(fake_telegram: FakeTelegram) -> None:
    async with telegram_bot(fake_telegram) as bot:
        doc = await bot.send_document(
            42, io.BytesIO(b"%PDF-1.4 boleta"), filename="boleta.pdf", caption="Adjunto"
        )
        assert doc.document is not None
        file = await bot.get_file(doc.document.file_id)
        assert await file.download_as_bytearray() == b"%PDF-1.4 boleta"
        photo = await bot.send_photo(42, png(8, 6))
        album = await bot.send_media_group(
            42, [InputMediaPhoto(photo.photo[-1].file_id), InputMediaPhoto(png(6, 8))]
        )
        await bot.set_my_commands([("ticket", "Nuevo reclamo"), ("estado", "Ver estado")])
        commands = await bot.get_my_commands()
    assert fake_telegram.last("sendDocument").files["document"].filename == "boleta.pdf"
    assert len({m.media_group_id for m in album}) == 1 and len(album) == 2
    assert album[0].photo[-1].file_id == photo.photo[-1].file_id  # file_id reused, not uploaded
    assert [c.command for c in commands] == ["ticket", "estado"]


async def test_telegram_get_updates_offsets(fake_telegram: FakeTelegram) -> None:
    async with telegram_bot(fake_telegram) as bot:
        fake_telegram.feed_message(7, 7, "/start")
        fake_telegram.feed_message(7, 7, "mi boleta no llegó")
        first = await bot.get_updates(timeout=5)
        started = time.monotonic()
        empty = await bot.get_updates(offset=first[-1].update_id + 1, timeout=5)
        waited = time.monotonic() - started
    messages = [u.message for u in first if u.message is not None]
    assert [m.text for m in messages] == ["/start", "mi boleta no llegó"]
    assert messages[0].entities[0].type == "bot_command"
    assert empty == () and fake_telegram.updates == []  # confirmed by the offset
    assert 0.5 < waited < 2.5  # long poll honoured, capped at 1 s


async def test_telegram_application_polling_and_process_update(
    fake_telegram: FakeTelegram,
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None
        await context.bot.send_message(update.effective_chat.id, "Hola", reply_markup=KEYBOARD)

    async def take(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.callback_query is not None
        await update.callback_query.answer("Tomado")

    app = (
        ApplicationBuilder()
        .token(fake_telegram.token)
        .base_url(fake_telegram.base_url)
        .base_file_url(fake_telegram.base_file_url)
        .build()
    )
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(take))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        fake_telegram.feed_message(7, 7, "/start")
        (reply,) = await fake_telegram.wait_for("sendMessage")
        fake_telegram.feed_callback(7, 7, reply.response["result"]["message_id"], "take:7")
        await fake_telegram.wait_for("answerCallbackQuery")
        await app.updater.stop()
        await app.stop()
        # the same builders work without HTTP, through the real dispatch
        await app.process_update(Update.de_json(make_message_update(8, 8, "/start"), app.bot))
        await app.process_update(Update.de_json(make_callback_update(8, 8, 1, "take:7"), app.bot))
    assert len(fake_telegram.calls_to("sendMessage")) == 2
    assert fake_telegram.last("answerCallbackQuery").params["text"] == "Tomado"


# --- Slack -------------------------------------------------------------------------
async def test_slack_messages_users_and_auth(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    fake_slack.add_user("U1", "ana@atiende.test", "ana")
    posted = await client.chat_postMessage(channel="C1", text="Nuevo ticket #7")
    reply = await client.chat_postMessage(channel="C1", text="visto", thread_ts=posted["ts"])
    await client.chat_update(channel="C1", ts=posted["ts"], text="Ticket #7 (tomado)")
    user = await client.users_info(user="U1")
    with pytest.raises(SlackApiError) as info:
        await client.users_info(user="U404")
    assert info.value.response["error"] == "user_not_found"
    assert reply["message"]["thread_ts"] == posted["ts"]
    assert user["user"]["profile"]["email"] == "ana@atiende.test"
    call = fake_slack.last("chat.postMessage")
    assert call.headers["Authorization"] == f"Bearer {fake_slack.token}"
    assert fake_slack.messages[("C1", posted["ts"])]["text"] == "Ticket #7 (tomado)"
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token="xoxb-other", base_url=fake_slack.api_url).auth_test()


async def test_slack_files_upload_v2(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    result = await client.files_upload_v2(
        channel="C1",
        content=b"a,b\n1,2\n",
        filename="r.csv",
        title="Reporte",
        initial_comment="Semanal",
    )
    (upload,) = fake_slack.uploads.values()
    assert upload.data == b"a,b\n1,2\n" and upload.channel_id == "C1"
    assert result["file"]["id"] == upload.id
    assert [c.method for c in fake_slack.calls][-3:] == [
        "files.getUploadURLExternal",
        "files.upload",
        "files.completeUploadExternal",
    ]


async def test_slack_429_retried_by_handler(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(
        token=fake_slack.token,
        base_url=fake_slack.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=0)
    result = await client.chat_postMessage(channel="C1", text="hola")
    assert result["ok"]
    assert [c.status for c in fake_slack.calls_to("chat.postMessage")] == [429, 200]


async def test_slack_signed_request_through_bolt(fake_slack: FakeSlack) -> None:
    secret = "slack-signing-secret"
    app = AsyncApp(
        signing_secret=secret,
        process_before_response=True,
        client=AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url),
    )

    @app.command("/ticket")
    async def ticket(ack, command, client) -> None:  # type: ignore[no-untyped-def]
        await ack()
        await client.chat_postMessage(channel=command["channel_id"], text=command["text"])

    body = urlencode(
        {
            "command": "/ticket",
            "text": "sin luz",
            "user_id": "U1",
            "channel_id": "C1",
            "team_id": "T0ATIENDE",
            "trigger_id": "1.2.3",
        }
    )
    good = await app.async_dispatch(
        AsyncBoltRequest(body=body, headers={**signed_headers(secret, body.encode())})
    )
    old = signed_headers(secret, body.encode(), timestamp=int(time.time()) - 600)
    stale = await app.async_dispatch(AsyncBoltRequest(body=body, headers={**old}))
    assert (good.status, stale.status) == (200, 401)
    assert fake_slack.last("chat.postMessage").params["text"] == "sin luz"
    assert fake_slack.calls[0].method == "auth.test"
    fresh = signed_headers(secret, body.encode())
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid(body, fresh["X-Slack-Request-Timestamp"], fresh["X-Slack-Signature"])
    assert signed_headers(secret, b"\xff")["X-Slack-Signature"].startswith("v0=")  # not UTF-8


# --- WhatsApp Graph ----------------------------------------------------------------
async def test_graph_messages_media_and_faults(fake_graph: FakeGraph) -> None:
    auth = {"Authorization": f"Bearer {fake_graph.access_token}"}
    fake_graph.add_media("778899", b"\x89PNG foto", "image/png")
    async with httpx.AsyncClient(headers=auth, timeout=5) as http:
        sent = await http.post(
            fake_graph.messages_url,
            json={
                "messaging_product": "whatsapp",
                "to": "+56911112222",
                "type": "text",
                "text": {"body": "Recibimos su reclamo"},
            },
        )
        template = await http.post(
            fake_graph.messages_url,
            json={
                "messaging_product": "whatsapp",
                "to": "56911112222",
                "type": "template",
                "template": {"name": "ticket_abierto", "language": {"code": "es"}},
            },
        )
        info = (await http.get(f"{fake_graph.api_url}/778899")).json()
        media = await http.get(info["url"])
        fake_graph.fail_next("messages", status=429)
        limited = await http.post(fake_graph.messages_url, json={})
    async with httpx.AsyncClient(timeout=5) as anonymous:
        refused = await anonymous.get(info["url"])
    body = sent.json()
    assert body["contacts"] == [{"input": "+56911112222", "wa_id": "56911112222"}]
    assert body["messages"][0]["id"].startswith("wamid.")
    assert template.json()["messages"][0]["message_status"] == "accepted"
    assert (
        media.content == b"\x89PNG foto"
        and info["sha256"] == hashlib.sha256(b"\x89PNG foto").hexdigest()
    )
    assert refused.status_code == 401
    assert limited.status_code == 429 and limited.json()["error"]["code"] == 130429
    assert [c.method for c in fake_graph.calls] == [
        "messages",
        "messages",
        "media.info",
        "media.download",
        "messages",
        "media.download",
    ]


def test_whatsapp_signature() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    header = sign_whatsapp("app-secret", body)
    expected = hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(header, f"sha256={expected}")
    assert sign_whatsapp("app-secret", body + b" ") != header


# --- SMTP --------------------------------------------------------------------------
async def test_smtp_capture_auth_and_faults(smtp_server: SmtpServer) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "soporte@atiende.test", "ana@x.test", "Reclamo Nº 7"
    mail.set_content("Hemos recibido su reclamo.")
    smtp_server.fail_next(times=1, code=451)
    with pytest.raises(aiosmtplib.SMTPDataError) as info:
        await aiosmtplib.send(mail, hostname=smtp_server.host, port=smtp_server.port)
    assert info.value.code == 451
    await aiosmtplib.send(
        mail,
        hostname=smtp_server.host,
        port=smtp_server.port,
        username=smtp_server.user,
        password=smtp_server.password,
    )
    (captured,) = await smtp_server.wait_for(1)
    assert captured.rcpt_tos == ["ana@x.test"] and captured.login == "atiende"
    assert captured.message["Subject"] == "Reclamo Nº 7"
    assert captured.message.get_content().strip() == "Hemos recibido su reclamo."


# --- IMAP (Dovecot) ----------------------------------------------------------------
RAW_MAIL = (
    b"From: ana@x.test\r\nTo: soporte@atiende.test\r\nSubject: Sin luz\r\n"
    b"Message-ID: <m1@x.test>\r\n\r\nDesde ayer.\r\n"
)


async def imap_login(account: ImapAccount) -> IMAP4:
    client = IMAP4(host=account.host, port=account.port, timeout=5)
    await client.wait_hello_from_server()
    assert (await client.login(account.user, account.password)).result == "OK"
    return client


@pytest.mark.imap
async def test_imap_fetch_unseen_and_mark_seen(imap_server: ImapAccount) -> None:
    await imap_server.append(RAW_MAIL)
    client = await imap_login(imap_server)
    try:
        assert (await client.select("INBOX")).result == "OK"
        unseen = await client.search("UNSEEN")
        assert unseen.lines[0] == b"1"
        fetched = await client.fetch("1", "(BODY.PEEK[])")  # PEEK: RFC822 would set \Seen
        assert bytes(fetched.lines[1]) == RAW_MAIL
        assert await imap_server.seen_count() == 0
        assert (await client.store("1", "+FLAGS", "(\\Seen)")).result == "OK"
        rfc822 = await client.fetch("1", "(RFC822)")
        assert bytes(rfc822.lines[1]) == RAW_MAIL
    finally:
        await client.logout()
    assert await imap_server.seen_count() == 1


@pytest.mark.imap
async def test_imap_idle_push(imap_server: ImapAccount) -> None:
    assert await imap_server.list_flags() == []  # a fresh mailbox per test
    client = await imap_login(imap_server)
    try:
        await client.select("INBOX")
        idle = await client.idle_start(timeout=10)
        started = time.monotonic()
        await imap_server.append(RAW_MAIL)
        push = await client.wait_server_push(timeout=3)
        assert b"1 EXISTS" in push and time.monotonic() - started < 2.5
        client.idle_done()
        await asyncio.wait_for(idle, 5)
    finally:
        await client.logout()


# --- PostgreSQL --------------------------------------------------------------------
@pytest.mark.postgres
async def test_postgres_fresh_database(postgres_url: str, postgres_server: PostgresServer) -> None:
    import asyncpg

    conn = await asyncpg.connect(postgres_url, timeout=10)
    try:
        assert await conn.fetchval("SELECT 1") == 1
        name = await conn.fetchval("SELECT current_database()")
        tables = await conn.fetchval("SELECT count(*) FROM pg_tables WHERE schemaname='public'")
    finally:
        await conn.close()
    assert name.startswith("atiende_test_") and tables == 0
    assert postgres_url.startswith("postgres://postgres@127.0.0.1:")

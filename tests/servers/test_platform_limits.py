"""The fakes refuse what the real platforms refuse, through the real client libraries:
any test whose code makes an invalid call then fails the way production would."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest

from tests.servers.fake_graph import FakeGraph
from tests.servers.fake_slack import FakeSlack
from tests.servers.fake_telegram import FakeTelegram
from tests.servers.images import png
from tests.servers.smtp import SmtpServer
from tests.servers.telegram_limits import image_size


def bot(fake: FakeTelegram) -> Bot:
    return Bot(fake.token, base_url=fake.base_url, base_file_url=fake.base_file_url)


# --- Telegram ----------------------------------------------------------------------
async def test_telegram_text_limits_count_after_entities(fake_telegram: FakeTelegram) -> None:
    async with bot(fake_telegram) as b:
        # 4,096 characters of text wrapped in tags: fine (tags are not counted) ...
        await b.send_message(1, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
        with pytest.raises(BadRequest, match="too long"):  # ... one more is not
            await b.send_message(1, "a" * 4097)
        with pytest.raises(BadRequest, match="too long"):  # emoji count twice (UTF-16)
            await b.send_message(1, "😀" * 2049)
        with pytest.raises(BadRequest, match="(?i)message_too_long"):
            await b.answer_callback_query("q1", text="x" * 201)
        await b.answer_callback_query("q2", text="x" * 200)


async def test_telegram_keyboards(fake_telegram: FakeTelegram) -> None:
    async with bot(fake_telegram) as b:
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await b.send_message(1, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Tomar", callback_data="t" * 65)]]))
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):  # bytes, not characters
            await b.send_message(1, "x", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("Tomar", callback_data="ñ" * 33)]]))
        rows = [[InlineKeyboardButton(f"{i}", callback_data=f"a:{i}")] for i in range(101)]
        with pytest.raises(BadRequest, match="(?i)reply_markup_too_long"):
            await b.send_message(1, "x", reply_markup=InlineKeyboardMarkup(rows))
        await b.send_message(1, "x", reply_markup=InlineKeyboardMarkup(rows[:100]))
    assert [c.status for c in fake_telegram.calls_to("sendMessage")] == [400, 400, 400, 200]


async def test_telegram_photos_and_empty_files(fake_telegram: FakeTelegram) -> None:
    assert image_size(png(200, 4500)) == (200, 4500)
    async with bot(fake_telegram) as b:
        await b.send_photo(1, png(800, 600))
        with pytest.raises(BadRequest, match="(?i)photo_invalid_dimensions"):  # ratio over 20
            await b.send_photo(1, png(200, 4500))
        with pytest.raises(BadRequest, match="(?i)non-empty"):
            await b.send_document(1, b"", filename="vacio.txt")
        with pytest.raises(BadRequest, match="(?i)image_process_failed"):
            await b.send_photo(1, b"not an image")
        await b.send_document(1, png(200, 4500), filename="captura.png")  # fine as a document


# --- Slack -------------------------------------------------------------------------
async def test_slack_block_kit_limits(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C1", text="t", blocks=[section])
    assert info.value.response["error"] == "invalid_blocks"
    assert "/blocks/0/text/text" in info.value.response["errors"][0]
    many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel="C1", text="t", blocks=many)
    options = [{"text": {"type": "plain_text", "text": f"P{i}"}, "value": str(i)}
               for i in range(101)]
    select = {"type": "actions", "elements": [{"type": "static_select", "action_id": "a",
                                               "options": options}]}
    with pytest.raises(SlackApiError, match="invalid_blocks"):
        await client.chat_postMessage(channel="C1", text="t", blocks=[select])
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T" * 25},
             "blocks": [{"type": "divider"}]}
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.views_open(trigger_id="t", view=modal)
    ok = await client.chat_postMessage(channel="C1", text="t", blocks=[
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3000}}])
    assert ok["ok"]


async def test_slack_refuses_an_empty_upload(fake_slack: FakeSlack) -> None:
    client = AsyncWebClient(token=fake_slack.token, base_url=fake_slack.api_url)
    with pytest.raises(SlackApiError, match="invalid_arguments"):
        await client.files_upload_v2(channel="C1", content=b"", filename="vacio.txt")
    assert fake_slack.uploads == {}


# --- WhatsApp ----------------------------------------------------------------------
async def _graph_post(graph: FakeGraph, kind: str, payload: dict, to: str = "56911112222",
                      ) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as http:
        return await http.post(graph.messages_url, headers={
            "Authorization": f"Bearer {graph.access_token}"}, json={
            "messaging_product": "whatsapp", "to": to, "type": kind, kind: payload})


def _button(ident: str, title: str) -> dict:
    return {"type": "reply", "reply": {"id": ident, "title": title}}


async def test_graph_refuses_what_the_cloud_api_refuses(fake_graph: FakeGraph) -> None:
    long_title = {"type": "button", "body": {"text": "¿Está resuelto?"},
                  "action": {"buttons": [_button("y", "Sí, está resuelto del todo")]}}
    assert (await _graph_post(fake_graph, "interactive", long_title)).status_code == 400
    long_body = {"type": "button", "body": {"text": "x" * 1025},
                 "action": {"buttons": [_button("y", "Sí")]}}
    assert (await _graph_post(fake_graph, "interactive", long_body)).status_code == 400
    assert (await _graph_post(fake_graph, "text", {"body": "x" * 4097})).status_code == 400
    template = {"name": "t", "language": {"code": "es"}, "components": [
        {"type": "body", "parameters": [{"type": "text", "text": "Ana\tPérez"}]}]}
    refused = await _graph_post(fake_graph, "template", template)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 132018
    ok = {"type": "button", "body": {"text": "¿Está resuelto?"},
          "action": {"buttons": [_button("y", "Sí"), _button("n", "No")]}}
    assert (await _graph_post(fake_graph, "interactive", ok)).status_code == 200


async def test_graph_window_closed_allows_only_templates(fake_graph: FakeGraph) -> None:
    fake_graph.close_window("56911112222")
    refused = await _graph_post(fake_graph, "text", {"body": "hola"})
    assert refused.json()["error"]["code"] == 131047
    template = {"name": "t", "language": {"code": "es"}}
    assert (await _graph_post(fake_graph, "template", template)).status_code == 200


# --- SMTP --------------------------------------------------------------------------
async def test_smtp_refuses_encoded_message_ids(smtp_server: SmtpServer) -> None:
    outlook = "<DM6PR11MB4153A1B2C3D4E5F60718293A4B5C6D7E8F9A0B1C2D3E4F5A6B7@DM6PR11MB4153.namprd11.prod.outlook.com>"
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "soporte@atiende.test", "ana@x.test", "Re"
    mail["In-Reply-To"] = outlook  # the email package folds this into an encoded-word
    mail.set_content("Hola")
    with pytest.raises(aiosmtplib.SMTPDataError) as info:
        await aiosmtplib.send(mail, hostname=smtp_server.host, port=smtp_server.port)
    assert info.value.code == 554 and "In-Reply-To" in info.value.message
    assert smtp_server.messages == [] and len(smtp_server.rejected) == 1

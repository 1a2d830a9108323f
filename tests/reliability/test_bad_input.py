"""Bad input: hostile and broken payloads at every parser and endpoint.

Every endpoint answers a clear 4xx or ignores the event (200); never a 5xx, never an
ERROR/traceback in the logs, and nothing half-stored: per request, tickets and
interactions grow by nothing or by exactly one message (and outbox rows stay unchanged).
Customer text with markup (``<b>``, ``</code>``, ``<!channel>``, ``<@U123>``, ``&``) or
template syntax (``{{ secret }}``, ``{% raw %}``) shows literally everywhere and pings
nobody. Hypothesis runs few examples so the file stays quick.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update

from bot.process.domain import Canal, Prioridad, TipoIncidencia
from bot.process.template_names import TemplateName
from bot.process.views import Actor
from db.models import Interaction, OutboxMessage, Ticket
from handlers.email.ingest import EmailIngestor
from handlers.telegram.transport import parse_update
from tests.conftest import CORPUS, requires_corpus
from tests.handlers.whatsapp.harness import corpus_files, load, text_payload
from tests.scenarios.desk import CARLA, Desk, block_actions, desk_no_imap
from tests.servers import telegram_updates as tu

__all__ = ["desk_no_imap"]

FEW = settings(max_examples=15, deadline=None, derandomize=True,
               suppress_health_check=[HealthCheck.function_scoped_fixture,
                                      HealthCheck.too_slow])
HOSTILE = "<b>hola</b> </code> *bold* <!channel> <@U123> & {{ secret }} {% raw %}x{% endraw %}"
TEN_MB = 10 * 1024 * 1024 + 1

SLACK_SHAPE = ("product bug: handlers/slack/http.py passes a signed body whose shape bolt "
               "cannot handle (event not an object, actions not a list, view_submission "
               "with unreadable private_metadata) and it becomes a 500 with a traceback; "
               "check the shape there and answer 400 (handlers/slack/modals.py meta() "
               "callers should refuse a missing 'n')")
SLACK_REF = ("product bug: handlers/slack/actions.py _ticket_ref trusts the action's value/"
             "block_id ('x:y', '') and raises ValueError: a 500 with a traceback; parse it "
             "defensively and ignore the click")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


class Counts:
    """Rows before a request, to check afterwards that nothing was half-stored."""

    async def take(self) -> Counts:
        self.tickets = await Ticket.all().count()
        self.interactions = await Interaction.all().count()
        self.outbox = await OutboxMessage.all().count()
        return self

    async def check(self) -> None:
        tickets = await Ticket.all().count() - self.tickets
        interactions = await Interaction.all().count() - self.interactions
        assert tickets in (0, 1) and interactions in (0, 1), (tickets, interactions)
        assert tickets <= interactions, "a ticket without its first message"
        assert await OutboxMessage.all().count() == self.outbox


def clean_logs(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [f"{r.name}: {r.getMessage()}" for r in bad]


def ok_or_4xx(status: int) -> None:
    assert status == 200 or 400 <= status < 500, status


# --- WhatsApp webhook -------------------------------------------------------------------
def _mutations() -> list[tuple[str, bytes]]:
    good = text_payload("wamid.M", "hola")
    value = good["entry"][0]["changes"][0]["value"]
    out: list[tuple[str, bytes]] = []
    raw = json.dumps(good).encode()
    out.append(("truncated", raw[: len(raw) // 2]))
    out.append(("invalid utf-8", b'{"object": "whatsapp_business_account", "x": "\xff\xfe"}'))
    out.append(("not an object", b"[1, 2, 3]"))
    out.append(("empty", b""))
    out.append(("entry not a list", json.dumps({**good, "entry": "x"}).encode()))
    for key, bad in (("messages", "x"), ("messages", [None]), ("messages", [{"id": 5}]),
                     ("contacts", 7), ("metadata", None)):
        mutated = copy.deepcopy(good)
        mutated["entry"][0]["changes"][0]["value"][key] = bad
        out.append((f"{key}={bad!r}", json.dumps(mutated).encode()))
    msg = value["messages"][0]
    for field in ("from", "id", "type", "text", "timestamp"):
        mutated = copy.deepcopy(good)
        del mutated["entry"][0]["changes"][0]["value"]["messages"][0][field]
        out.append((f"no {field}", json.dumps(mutated).encode()))
    for field, bad in (("text", "plain"), ("text", {"body": 5}), ("from", 123),
                       ("timestamp", "ayer"), ("type", None)):
        mutated = copy.deepcopy(good)
        mutated["entry"][0]["changes"][0]["value"]["messages"][0][field] = bad
        out.append((f"{field}={bad!r}", json.dumps(mutated).encode()))
    for kind in ("reaction", "order", "unsupported", "system", "ephemeral", "nuevo_tipo"):
        mutated = copy.deepcopy(good)
        m = mutated["entry"][0]["changes"][0]["value"]["messages"][0]
        m.update({"type": kind, "id": f"wamid.{kind}", kind: {"x": 1}})
        out.append((f"type {kind}", json.dumps(mutated).encode()))
    assert msg  # the template had a message
    return out


@pytest.mark.parametrize("name, body", _mutations(), ids=[n for n, _ in _mutations()])
async def test_whatsapp_broken_payloads(desk_no_imap: Desk, name: str, body: bytes,
                                        caplog: pytest.LogCaptureFixture) -> None:
    counts = await Counts().take()
    response = await desk_no_imap.whatsapp_post(body)
    ok_or_4xx(response.status_code)
    await counts.check()
    clean_logs(caplog)


async def test_whatsapp_ten_megabytes_refused(desk_no_imap: Desk,
                                              caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"object": "whatsapp_business_account", "pad": "' + b"a" * TEN_MB + b'"}'
    response = await desk_no_imap.whatsapp_post(body)
    assert response.status_code == 413
    assert await Ticket.all().count() == 0
    clean_logs(caplog)


@FEW
@given(body=st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
async def test_whatsapp_fuzzed_bodies(desk_no_imap: Desk, body: bytes) -> None:
    counts = await Counts().take()
    response = await desk_no_imap.whatsapp_post(body)
    ok_or_4xx(response.status_code)
    await counts.check()


@FEW
@given(value=json_values, where=st.sampled_from(["value", "message", "text"]))
async def test_whatsapp_fuzzed_fields(desk_no_imap: Desk, value: Any, where: str) -> None:
    payload = text_payload("wamid.F", "hola")
    v = payload["entry"][0]["changes"][0]["value"]
    if where == "value":
        v["messages"] = value
    elif where == "message":
        v["messages"][0]["interactive"] = value
        v["messages"][0]["type"] = "interactive"
    else:
        v["messages"][0]["text"] = {"body": value}
    counts = await Counts().take()
    ok_or_4xx((await desk_no_imap.whatsapp_post(payload)).status_code)
    await counts.check()


# --- Slack /slack/events ----------------------------------------------------------------
@pytest.mark.parametrize("body, ctype", [
    (b"\xff\xfe not utf-8", "application/json"),
    (b'{"type": "event_callback", "event": {', "application/json"),
    (b"payload=%7B%22type%22%3A", "application/x-www-form-urlencoded"),
    (b"payload=%FF%FE", "application/x-www-form-urlencoded"),
    (b"[]", "application/json"),
    (b"", "application/json"),
    (b'{"type": "event_callback", "event": {"type": "nuevo_evento"}}', "application/json"),
    pytest.param(b'{"type": "event_callback", "event": "x"}', "application/json"),
    pytest.param(b"payload=" + json.dumps({"type": "block_actions", "actions": "x"}).encode(),
                 "application/x-www-form-urlencoded"),
    pytest.param(b"payload=" + json.dumps({
        "type": "view_submission", "user": {"id": "UDIEGO"},
        "view": {"callback_id": "atiende_reply", "private_metadata": "{{"}}).encode(),
        "application/x-www-form-urlencoded"),
])
async def test_slack_broken_signed_bodies(desk_no_imap: Desk, body: bytes, ctype: str,
                                          caplog: pytest.LogCaptureFixture) -> None:
    counts = await Counts().take()
    response = await desk_no_imap.slack_send(body, ctype)
    ok_or_4xx(response.status_code)
    await counts.check()
    clean_logs(caplog)


async def test_slack_ten_megabytes(desk_no_imap: Desk, caplog: pytest.LogCaptureFixture) -> None:
    body = b'{"type": "event_callback", "pad": "' + b"a" * TEN_MB + b'"}'
    response = await desk_no_imap.slack_send(body, "application/json")
    ok_or_4xx(response.status_code)
    clean_logs(caplog)


async def test_slack_card_actions_with_forged_values(desk_no_imap: Desk,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    await desk.whatsapp_post(text_payload("wamid.B1", "hola"))
    before = (await desk.services.queries.get(1)).version
    card = await desk.slack_card(1)
    for action_id, extra in (("atiende_tipo", {"selected_option": {"value": "Inventado"}}),
                             ("atiende_prioridad", {"selected_option": None}),
                             ("atiende_asignar", {"selected_user": "UNOBODY"}),
                             ("atiende_proponer", {"value": "999:1"}),
                             ("atiende_proponer", {"value": "x:y"}),
                             ("atiende_responder", {"value": ""})):
        action = {"action_id": action_id, "block_id": "atiende_btn:zz", "type": "button",
                  "action_ts": "1", **extra}
        response = await desk.slack_interact(block_actions("UDIEGO", [action], card["ts"]))
        ok_or_4xx(response.status_code)
    assert (await desk.services.queries.get(1)).version == before
    clean_logs(caplog)


@FEW
@given(body=st.binary(max_size=200),
       ctype=st.sampled_from(["application/json", "application/x-www-form-urlencoded"]))
async def test_slack_fuzzed_signed_bodies(desk_no_imap: Desk, body: bytes, ctype: str) -> None:
    counts = await Counts().take()
    ok_or_4xx((await desk_no_imap.slack_send(body, ctype)).status_code)
    await counts.check()


# --- Telegram ---------------------------------------------------------------------------
@pytest.mark.parametrize("body", [b"{", b"\xff\xfe", b"[]", b"null", b'{"update_id": "x"}',
                                  b'{"update_id": 5, "message": "hola"}',
                                  b'{"update_id": 6, "message": {"text": "sin chat"}}',
                                  b'{"update_id": 7, "callback_query": {"data": "d:1:1"}}',
                                  b'{"update_id": 8, "nuevo_tipo": {}}'])
async def test_telegram_webhook_garbage(desk_no_imap: Desk, body: bytes,
                                        caplog: pytest.LogCaptureFixture) -> None:
    counts = await Counts().take()
    response = await desk_no_imap.telegram_post(body)
    ok_or_4xx(response.status_code)
    await counts.check()
    clean_logs(caplog)


@FEW
@given(data=st.dictionaries(st.sampled_from(["update_id", "message", "callback_query",
                                             "edited_message", "my_chat_member", "x"]),
                            json_values, max_size=4))
async def test_telegram_fuzzed_updates(desk_no_imap: Desk, data: dict[str, Any]) -> None:
    counts = await Counts().take()
    ok_or_4xx((await desk_no_imap.telegram_post(json.dumps(data).encode())).status_code)
    await counts.check()


@pytest.mark.parametrize("data", ["x", "t:1", "t:abc:def:R", "d:999:1", "am:1:1:99",
                                  "dq:1:1:99", "a" * 64, "r:1:-5", "h:1:1:1:1:1"])
async def test_telegram_forged_callback_data(desk_no_imap: Desk, data: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    """Garbage callback data from Carla herself, through ``Update.de_json`` and the app."""
    desk = desk_no_imap
    await desk.whatsapp_post(text_payload("wamid.T1", "hola"))
    version = (await desk.services.queries.get(1)).version
    update = tu.make_callback_update(CARLA, CARLA, 1, data)
    parsed = Update.de_json(copy.deepcopy(update), desk.telegram.application.bot)
    await desk.telegram.application.process_update(parsed)
    await desk.settle()
    assert parse_update(copy.deepcopy(update), desk.telegram.application.bot) is not None
    assert (await desk.services.queries.get(1)).version == version
    clean_logs(caplog)


# --- email ------------------------------------------------------------------------------
@FEW
@given(raw=st.binary(max_size=600))
async def test_email_fuzzed_bytes(services: Any, team: Any, raw: bytes) -> None:
    counts = await Counts().take()
    await EmailIngestor(services).ingest(raw)
    await counts.check()


BROKEN = ["flanker_missing_boundaries.eml", "flanker_missing_final_boundary.eml",
          "flanker_malformed_headers.eml", "flanker_spam_broken_headers.eml",
          "flanker_enclosed_bad_encoding.eml", "djhelpdesk_utf8_nondecodable.eml",
          "djmailbox_invalid_charset_name.eml", "mikelmail_bad_encoded_subject.eml",
          "mikelmail_empty_header_values.eml", "mailparser_bounce_malformed.eml",
          "flanker_no_content_type.eml"]


@requires_corpus
@pytest.mark.parametrize("name", BROKEN)
async def test_email_broken_mime(services: Any, team: Any, name: str,
                                 caplog: pytest.LogCaptureFixture) -> None:
    path = CORPUS / "email" / name
    counts = await Counts().take()
    await EmailIngestor(services).ingest(path.read_bytes())
    await counts.check()
    clean_logs(caplog)


@pytest.mark.parametrize("sender, subject", [
    ('"Ana\r\nBcc: evil@attacker.example" <ana@example.cl>', "Consulta"),
    ("Ana <ana@example.cl>", "Consulta\r\nBcc: evil@attacker.example"),
    ("=?utf-8?q?Ana=0D=0ABcc=3A_evil=40attacker=2Eexample?= <ana@example.cl>", "Consulta"),
    ("Ana <ana@example.cl>", "=?utf-8?q?Consulta=0D=0ABcc=3A_evil=40attacker=2Eexample?="),
])
async def test_header_injection_never_reaches_outgoing_mail(desk_no_imap: Desk, sender: str,
                                                            subject: str) -> None:
    desk = desk_no_imap
    raw = (f"From: {sender}\r\nTo: soporte@hostingandino.cl\r\nSubject: {subject}\r\n"
           "Message-ID: <inj@example.cl>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
           "Hola, una consulta.\r\n").encode()
    result = await EmailIngestor(desk.services).ingest(raw)
    number = result.ticket_number
    if number is None:  # the raw CRLF broke the From line itself: no sender, quarantined
        assert result.outcome == "quarantined" and await Ticket.all().count() == 0, result
        return
    await desk.services.tickets.reply(Actor.of(desk.team.sofia), number,
                                      template=TemplateName.ACKNOWLEDGEMENT)
    assert await desk.deliver() == 1
    [sent] = await desk.smtp.wait_for(1)
    assert sent.rcpt_tos == ["ana@example.cl"]  # the envelope: nobody else
    assert sent.message["Bcc"] is None and sent.message["Cc"] is None
    head = sent.raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert not line.lower().startswith((b"bcc:", b"cc:")), line
    for name in ("To", "Subject", "From"):  # a name/subject stays on its own header
        assert "\n" not in str(sent.message[name]) and "\r" not in str(sent.message[name])


# --- markup and template syntax in customer text ----------------------------------------
def mrkdwn_texts(node: Any, top: bool = True) -> list[str]:
    """Every string Slack parses as mrkdwn (mentions there notify people)."""
    out: list[str] = []
    if isinstance(node, dict):
        if top and isinstance(node.get("text"), str):
            out.append(node["text"])  # the message's own text (and the notification)
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            out.append(node["text"])
        for key, value in node.items():
            if key != "text" or not isinstance(value, str):
                out += mrkdwn_texts(value, top=False)
    elif isinstance(node, list):
        for item in node:
            out += mrkdwn_texts(item, top=False)
    elif isinstance(node, str) and top:
        out.append(node)
    return out


def plain_texts(node: Any) -> str:
    if isinstance(node, dict):
        own = node["text"] if node.get("type") == "plain_text" else ""
        return own + "\n" + "\n".join(plain_texts(v) for v in node.values())
    if isinstance(node, list):
        return "\n".join(plain_texts(v) for v in node)
    return ""


async def test_hostile_text_is_literal_everywhere(desk_no_imap: Desk,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    desk = desk_no_imap
    s = desk.services
    assert (await desk.whatsapp_post(text_payload("wamid.H1", HOSTILE, name="<b>Eva</b> &"))
            ).status_code == 200
    # Telegram (HTML): the fake parses entities like Telegram; the text shown is literal
    tg_card = await desk.tg_card(1)
    assert HOSTILE in tg_card["text"] and "<b>Eva</b> &" in tg_card["text"]
    assert not tg_card.get("entities") or all(
        e["type"] not in ("bold", "code") or HOSTILE not in tg_card["text"][
            e["offset"]: e["offset"] + e["length"]] for e in tg_card["entities"])
    # Slack: shown (plain_text as is, or mrkdwn escaped); no mrkdwn text pings anyone
    card = await desk.slack_card(1)
    assert HOSTILE in plain_texts(card["blocks"]) or "&lt;!channel&gt;" in str(card["blocks"])
    for call in desk.slack.calls_to("chat.postMessage") + desk.slack.calls_to("chat.update"):
        for text in mrkdwn_texts(call.params):
            assert "<!channel>" not in text and "<@U123>" not in text, text
    # the template is not evaluated in the customer's own words; our reply quotes nothing
    await s.tickets.classify(desk.team.admin, 1, tipo=TipoIncidencia.RECLAMO,
                             prioridad=Prioridad.MEDIA)
    await s.tickets.reply(desk.team.admin, 1, template=TemplateName.ACKNOWLEDGEMENT)
    await desk.deliver()
    sent = json.dumps(desk.graph.last("messages").params, ensure_ascii=False)
    assert "secret" not in sent or "{{ secret }}" in sent
    t = await s.queries.get(1)
    assert t.description == HOSTILE and t.channel is Canal.WHATSAPP
    failed = [c for c in desk.tg.calls if c.status >= 400 and c.fault is None]
    assert failed == [], [c.response for c in failed]
    clean_logs(caplog)


@requires_corpus
async def test_corpus_payload_kinds_are_handled_or_ignored(desk_no_imap: Desk,
                                                           caplog: pytest.LogCaptureFixture,
                                                           ) -> None:
    """Every WhatsApp corpus payload (statuses, media, unknown kinds): 200, no traceback."""
    for path in corpus_files():
        counts = await Counts().take()
        payload = load(path.name)
        response = await desk_no_imap.whatsapp_post(payload)
        ok_or_4xx(response.status_code)
        await counts.check()
    clean_logs(caplog)

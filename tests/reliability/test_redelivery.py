"""Everything delivered twice creates nothing twice.

Meta redelivers a webhook that got no 2xx, Slack retries an event (same ``event_id``,
``X-Slack-Retry-Num``), Telegram hands out an update again when the answer was lost
(same ``update_id``), an IMAP message is fetched again when the \\Seen flag did not
stick, and an administrator imports the same mailbox twice. Each case counts tickets,
interactions, outbox rows and card posts before and after the second delivery.
"""

from __future__ import annotations

import asyncio
import copy
import json
from typing import Any

import pytest

from bot.app.frontend import wired
from bot.process.domain import Canal, DeliveryStatus, Estado, InteractionKind
from bot.services import Services
from db.models import Interaction, OutboxMessage, Ticket
from handlers.email import EmailFrontEnd, EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail
from tests.handlers.slack.harness import (  # noqa: F401
    CHANNEL,
    SECRET,
    SlackRig,
    block_actions,
    card_action,
    rig,
)
from tests.handlers.telegram.harness import CARLA, Desk, desk_fixture, settings_fixture  # noqa: F401
from tests.handlers.whatsapp.harness import (  # noqa: F401
    WhatsAppHarness,
    status_payload,
    text_payload,
    whatsapp,
)
from tests.servers import FakeSlack, ImapAccount, signed_headers
from tests.servers import telegram_updates as tu


async def counts() -> dict[str, int]:
    return {"tickets": await Ticket.all().count(),
            "interactions": await Interaction.all().count(),
            "outbox": await OutboxMessage.all().count()}


# --- WhatsApp ---------------------------------------------------------------------------
async def test_whatsapp_message_twice(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    payload = text_payload("wamid.TWICE1", "No tengo internet desde ayer")
    first = await whatsapp.post(payload)
    before = await counts()
    second = await whatsapp.post(copy.deepcopy(payload))
    assert first.status_code == second.status_code == 200
    assert before["tickets"] == 1 and await counts() == before
    assert await Interaction.filter(external_id="wamid.TWICE1").count() == 1


async def test_whatsapp_batch_redelivered_with_one_new_message(
        whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    """Meta may batch a redelivered message with a new one: only the new one lands."""
    await whatsapp.post(text_payload("wamid.B1", "Hola"))
    batch = text_payload("wamid.B1", "Hola")
    value = batch["entry"][0]["changes"][0]["value"]
    value["messages"].append({**value["messages"][0], "id": "wamid.B2", "text": {"body": "¿?"}})
    assert (await whatsapp.post(batch)).status_code == 200
    assert await Interaction.filter(channel=Canal.WHATSAPP,
                                    kind=InteractionKind.INBOUND).count() == 2
    assert await Ticket.all().count() == 1


async def test_whatsapp_status_twice(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await whatsapp.post(text_payload("wamid.IN1", "Sin servicio"))
    await whatsapp.services.tickets.reply(team.admin, 1, text="Lo revisamos ahora.")
    assert await whatsapp.deliver() == 1
    wamid = next(iter(whatsapp.graph.sent))
    for status in ("delivered", "delivered", "read", "delivered", "failed", "failed"):
        extra: dict[str, Any] = {}
        if status == "failed":
            extra["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
        before = await counts()
        response = await whatsapp.post(status_payload(wamid, status, **extra))
        assert response.status_code == 200
        after = await counts()
        assert after["tickets"] == before["tickets"] and after["outbox"] == before["outbox"]
    # The failure is reported once however often Meta says it.
    reports = await Interaction.filter(ticket_id=1).exclude(
        kind__in=[InteractionKind.INBOUND, InteractionKind.OUTBOUND]).count()
    assert await Interaction.filter(ticket_id=1, kind=InteractionKind.NOTE).count() == 1
    reply = await Interaction.get(external_id=wamid)
    assert reply.delivery_status == DeliveryStatus.FAILED
    await whatsapp.post(status_payload(wamid, "failed", errors=[{"code": 131026}]))
    assert await Interaction.filter(ticket_id=1).exclude(
        kind__in=[InteractionKind.INBOUND, InteractionKind.OUTBOUND]).count() == reports
    assert len(whatsapp.graph.sent) == 1


# --- email ------------------------------------------------------------------------------
async def test_email_imported_twice(services: Services) -> None:
    ingestor = EmailIngestor(services)
    raw = mail(message_id="<imp-1@example.cl>")
    reply = mail(message_id="<imp-2@example.cl>", in_reply_to="<imp-1@example.cl>",
                 subject="Re: Consulta por hosting")
    first = [await ingestor.ingest(raw), await ingestor.ingest(reply)]
    before = await counts()
    again = [await ingestor.ingest(raw), await ingestor.ingest(reply)]
    assert [r.outcome for r in first] == ["created", "appended"]
    assert [r.outcome for r in again] == ["duplicate", "duplicate"]
    assert await counts() == before and before["tickets"] == 1


@pytest.mark.imap
async def test_email_fetched_twice_over_imap(services: Services,
                                             imap_server: ImapAccount) -> None:
    """The same message twice in the mailbox (a re-sent copy, or a \\Seen that never
    stuck): one interaction; both copies marked seen."""
    settings = services.settings.model_copy(update={
        "imap_host": imap_server.host, "imap_port": imap_server.port, "imap_tls": False,
        "imap_user": imap_server.user, "imap_password": imap_server.password,
        "imap_poll_seconds": 1.0})
    from bot.services import build_services

    imap_services = build_services(settings, services.clock)
    raw = mail(message_id="<imap-twice@example.cl>")
    await imap_server.append(raw)
    await imap_server.append(raw)
    front = wired(imap_services, EmailFrontEnd(imap_services))
    await front.start()
    try:
        for _ in range(100):  # bounded wait for the real server and reader
            if await imap_server.seen_count() == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await front.stop()
    assert await imap_server.seen_count() == 2
    assert await Interaction.filter(external_id="<imap-twice@example.cl>").count() == 1
    assert await Ticket.all().count() == 1


# --- Telegram ---------------------------------------------------------------------------
async def test_telegram_send_tap_redelivered(desk: Desk) -> None:  # noqa: F811
    """The 'Enviar' tap of a reply arrives twice (same update_id): one message queued."""
    number = await desk.customer_writes("No me llegó la boleta")
    card = await desk.card(number)
    await desk.tap(card["message_id"], "Responder")
    menu = desk.last_message()
    await desk.tap(menu["message_id"], "Acuse de recibo")
    shown = desk.fake.messages[(CARLA, menu["message_id"])]
    data = desk.button(menu["message_id"], "Enviar")
    update = tu.make_callback_update(CARLA, CARLA, menu["message_id"], data,
                                     message=copy.deepcopy(shown))
    await desk.deliver(update)
    before = await counts()
    cards = len(desk.fake.calls)
    await desk.deliver(copy.deepcopy(update))
    assert before["outbox"] == 1 and await counts() == before
    new_calls = [c.method for c in desk.fake.calls[cards:]]
    assert "sendMessage" not in new_calls, new_calls


async def test_telegram_triage_tap_redelivered(desk: Desk) -> None:  # noqa: F811
    number = await desk.customer_writes("Cobro doble")
    card = await desk.card(number)
    data = desk.button(card["message_id"], "Reclamo")
    update = tu.make_callback_update(CARLA, CARLA, card["message_id"], data,
                                     message=copy.deepcopy(card))
    await desk.deliver(update)
    before = await counts()
    version = (await desk.services.queries.get(number)).version
    await desk.deliver(copy.deepcopy(update))
    assert await counts() == before
    assert (await desk.services.queries.get(number)).version == version


# --- Slack ------------------------------------------------------------------------------
async def _slack_ticket(rig: SlackRig) -> int:  # noqa: F811
    customer = await rig.services.customers.find_or_create(email="ana@example.cl", name="Ana")
    result = await rig.services.intake.receive(__import__("bot.incoming.intake", fromlist=["x"])
                                               .IncomingMessage(
        channel=Canal.EMAIL, body="Consulta", external_id="<s1@example.cl>",
        email=customer.email, name="Ana", subject="Consulta"))
    await rig.front.drain()
    assert result.ticket is not None
    return result.ticket.number


async def _slack_retry(rig: SlackRig, event: dict[str, Any], event_id: str,  # noqa: F811
                       retry: int) -> int:
    body = json.dumps({"token": "x", "team_id": "T0ATIENDE", "api_app_id": "A0ATIENDE",
                       "event": event, "type": "event_callback", "event_id": event_id,
                       "event_time": 1}).encode()
    headers = signed_headers(SECRET, body, None, content_type="application/json")
    if retry:
        headers = {**headers, "X-Slack-Retry-Num": str(retry),
                   "X-Slack-Retry-Reason": "http_timeout"}
    response = await rig.http.post("/slack/events", content=body, headers=headers)
    await rig.front.drain()
    return response.status_code


async def test_slack_thread_event_retried(rig: SlackRig, team: Team,  # noqa: F811
                                          fake_slack: FakeSlack) -> None:
    number = await _slack_ticket(rig)
    ts = await rig.card_ts(number)
    event = {"type": "message", "channel": CHANNEL, "user": "USOFIA", "text": "llamé al cliente",
             "ts": "777.1", "thread_ts": ts, "channel_type": "channel"}
    assert await _slack_retry(rig, event, "EvR1", 0) == 200
    before = await counts()
    posts = len(fake_slack.calls_to("chat.postMessage"))
    for retry in (1, 2):
        assert await _slack_retry(rig, event, "EvR1", retry) == 200
    assert await counts() == before
    assert len(fake_slack.calls_to("chat.postMessage")) == posts
    notes = [i for i in await rig.services.queries.history(number)
             if i.kind is InteractionKind.NOTE]
    assert [n.body for n in notes] == ["llamé al cliente"]


async def test_slack_button_click_redelivered(rig: SlackRig, team: Team) -> None:  # noqa: F811
    """Diego proposes the solution; the customer says it is not solved ("Sigue
    pendiente"); then Diego's first click arrives again. Acting on it would send the customer a second conformity
    request: the click carries the card's version, so the copy changes nothing."""
    number = await _slack_ticket(rig)
    card = await rig.card(number)
    propose = card_action(card, "atiende_proponer")
    first = block_actions("UDIEGO", [propose], card["ts"])
    assert (await rig.interact(first)).status_code == 200
    assert (await rig.services.queries.get(number)).estado is Estado.PENDING_CONFORMITY
    ref = f"{number}:{(await rig.services.queries.get(number)).version}"
    reject = {"action_id": "atiende_rechazar", "block_id": f"atiende_conf:{ref}",
              "type": "button", "value": ref, "action_ts": "1.3"}  # "Sigue pendiente"
    assert (await rig.interact(block_actions("UDIEGO", [reject], card["ts"]))).status_code \
        == 200
    assert (await rig.services.queries.get(number)).estado is Estado.IN_PROGRESS
    before = await counts()
    version = (await rig.services.queries.get(number)).version

    assert (await rig.interact(copy.deepcopy(first))).status_code == 200

    assert (await rig.services.queries.get(number)).estado is Estado.IN_PROGRESS
    assert (await rig.services.queries.get(number)).version == version
    assert await counts() == before
    requests = [row for row in await OutboxMessage.all()
                if row.payload.get("kind") == "conformity_request"]
    assert len(requests) == 1  # the proposal happened exactly once
"""Outbound WhatsApp through the outbox and the fake Graph API: retries, permanent
failures, the 24-hour window, the automatic acknowledgement, and a crash between the
commit and the delivery."""

from __future__ import annotations

import httpx
import pytest

from bot.app.frontend import wired
from bot.outgoing.outbox import AmbiguousSendError, OutboundMessage, PermanentSendError
from bot.process.domain import DeliveryStatus, Estado, InteractionKind
from bot.process.errors import InvalidInput
from bot.process.template_names import TemplateName
from bot.services import build_services
from db.models import Interaction, OutboxMessage, Ticket
from handlers.whatsapp import build_front_end
from handlers.whatsapp.graph import GraphClient
from handlers.whatsapp.sender import WhatsAppSender
from tests.conftest import Team
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    APPROVED,
    WhatsAppHarness,
    text_payload,
    whatsapp,
)
from tests.servers import TIMEOUT


async def _ticket(wa: WhatsAppHarness) -> None:
    assert (await wa.post(text_payload("wamid.IN1", "hola"))).status_code == 200


async def _row() -> OutboxMessage:
    return await OutboxMessage.all().order_by("-id").first()  # type: ignore[return-value]


async def test_429_and_500_are_retried_then_sent_once(whatsapp: WhatsAppHarness,  # noqa: F811
                                                      team: Team) -> None:
    await _ticket(whatsapp)
    await whatsapp.services.tickets.reply(team.admin, 1, text="Lo revisamos.")
    whatsapp.graph.fail_next("messages", status=429)
    assert await whatsapp.deliver() == 0
    row = await _row()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 1 and "429" in row.last_error
    whatsapp.services.clock.advance(seconds=6)  # type: ignore[attr-defined]
    whatsapp.graph.fail_next("messages", status=500)
    assert await whatsapp.deliver() == 0
    whatsapp.services.clock.advance(seconds=31)  # type: ignore[attr-defined]
    assert await whatsapp.deliver() == 1
    assert await whatsapp.deliver() == 0
    assert len(whatsapp.graph.sent) == 1
    interaction = await Interaction.get(ticket_id=1, kind=InteractionKind.OUTBOUND)
    assert interaction.delivery_status == DeliveryStatus.SENT
    assert interaction.external_id in whatsapp.graph.sent
    body = whatsapp.graph.sent[interaction.external_id]
    assert body["type"] == "text" and body["text"]["body"] == "Lo revisamos."
    assert body["to"] == "56912345678"


async def test_permanent_failure_shows_on_the_ticket(whatsapp: WhatsAppHarness,  # noqa: F811
                                                     team: Team) -> None:
    await _ticket(whatsapp)
    await whatsapp.services.tickets.reply(team.admin, 1, text="Lo revisamos.")
    whatsapp.graph.fail_next("messages", status=400)
    assert await whatsapp.deliver() == 0
    row = await _row()
    assert row.status == DeliveryStatus.FAILED and row.attempts == 1
    assert "WhatsApp rechazó" in row.last_error
    whatsapp.services.clock.advance(hours=2)  # type: ignore[attr-defined]
    assert await whatsapp.deliver() == 0 and len(whatsapp.graph.calls_to("messages")) == 1
    interaction = await Interaction.get(ticket_id=1, kind=InteractionKind.OUTBOUND)
    assert interaction.delivery_status == DeliveryStatus.FAILED


async def test_sender_classifies_timeouts_and_limits(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    graph = GraphClient(whatsapp.graph.api_url, whatsapp.graph.phone_number_id,
                        whatsapp.graph.access_token, timeout=httpx.Timeout(0.3))
    sender = WhatsAppSender(graph, whatsapp.services.settings)
    base = dict(outbox_id=1, interaction_id=1, ticket_number=1, channel="whatsapp",
                recipient="56912345678", customer_name="Ana", subject="", text="hola",
                html="", whatsapp_text="hola", template=None, idempotency_key="atiende-1")
    try:
        whatsapp.graph.fail_next("messages", status=TIMEOUT)
        # A read timeout: Graph may have sent it, so it must not be retried blindly.
        with pytest.raises(AmbiguousSendError):
            await sender.send(OutboundMessage(**base))  # type: ignore[arg-type]
        with pytest.raises(PermanentSendError, match="4.096"):
            await sender.send(OutboundMessage(**{**base, "whatsapp_text": "x" * 4097}))  # type: ignore[arg-type]
        with pytest.raises(PermanentSendError):
            await sender.send(OutboundMessage(**{**base, "recipient": "ana@example.cl"}))  # type: ignore[arg-type]
        result = await sender.send(OutboundMessage(**{**base, "whatsapp_text": "y" * 4096}))  # type: ignore[arg-type]
        assert whatsapp.graph.sent[result.provider_id]["biz_opaque_callback_data"] == "atiende-1"  # type: ignore[index]
    finally:
        await graph.aclose()


async def test_crash_between_commit_and_delivery_sends_exactly_once(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _ticket(whatsapp)
    await whatsapp.services.tickets.reply(team.admin, 1, text="Le escribimos.")
    # "Crash": the row is committed, the worker never ran. A new process starts:
    restarted = build_services(whatsapp.services.settings, whatsapp.services.clock)
    front = wired(restarted, build_front_end(restarted))
    try:
        assert await restarted.outbox.deliver_due() == 1
        assert await restarted.outbox.deliver_due() == 0
        assert await whatsapp.deliver() == 0  # the old worker, if it woke up, sends nothing
    finally:
        await front.stop()
    assert len(whatsapp.graph.calls_to("messages")) == 1
    assert (await _row()).status == DeliveryStatus.SENT


async def test_24_hour_window(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _ticket(whatsapp)
    tickets = whatsapp.services.tickets
    whatsapp.services.clock.advance(hours=23, minutes=59)  # type: ignore[attr-defined]
    await tickets.reply(team.admin, 1, text="Aún dentro de la ventana.")
    whatsapp.services.clock.advance(minutes=2)  # type: ignore[attr-defined]
    with pytest.raises(InvalidInput, match="ventana de 24 horas"):
        await tickets.reply(team.admin, 1, text="Texto libre fuera de la ventana.")
    with pytest.raises(InvalidInput, match="ATIENDE_WHATSAPP_TEMPLATES"):
        await tickets.reply(team.admin, 1, template=TemplateName.INFO_REQUEST)
    draft = await whatsapp.services.replies.draft(team.admin, 1, TemplateName.STATUS_UPDATE)
    assert not draft.free_text_allowed and draft.whatsapp_template == APPROVED[
        "actualizacion_estado"]
    await tickets.reply(team.admin, 1, template=TemplateName.STATUS_UPDATE)
    assert await whatsapp.deliver() == 2
    free, template = [c.params for c in whatsapp.graph.calls_to("messages")]
    assert free["type"] == "text"
    assert template["type"] == "template"
    assert template["template"]["name"] == "atiende_actualizacion_estado"
    assert template["template"]["language"]["code"] == "es"
    params = [p["text"] for p in template["template"]["components"][0]["parameters"]]
    # every body parameter of the approved template: saludo, tipo_nombre, numero,
    # detalle, plazo_resolucion, firma ("Cliente" is no first name: neutral greeting)
    assert params[:4] == ["Hola.", "solicitud", "1", "-"]
    assert params[4].split()[0] in ("lunes", "martes", "miércoles", "jueves", "viernes")
    assert "Atención al Cliente" in params[5]
    # The customer writes again: the window reopens, free text goes out.
    await whatsapp.post(text_payload("wamid.IN2", "sigo esperando"))
    await tickets.reply(team.admin, 1, text="Ya casi.")
    assert await whatsapp.deliver() == 1


async def test_conformity_request_outside_the_window_is_the_template(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _ticket(whatsapp)
    whatsapp.services.clock.advance(days=2)  # type: ignore[attr-defined]
    await whatsapp.services.tickets.propose(team.admin, 1)
    assert await whatsapp.deliver() == 1
    sent = whatsapp.graph.last("messages").params
    assert sent["type"] == "template"
    assert sent["template"]["name"] == "atiende_solicitud_conformidad"


async def test_auto_ack_keeps_the_first_response_clock(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    whatsapp.services.settings.auto_ack_whatsapp = True
    await _ticket(whatsapp)
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.NEW and ticket.first_response_at is None
    assert await whatsapp.deliver() == 1
    sent = whatsapp.graph.last("messages").params
    assert sent["type"] == "text" and "1" in sent["text"]["body"]
    ack = await Interaction.get(ticket_id=1, kind=InteractionKind.OUTBOUND)
    assert ack.automatic and ack.template == TemplateName.ACKNOWLEDGEMENT.value
    assert (await Ticket.get(id=1)).first_response_at is None

"""The webhook over real HTTP: handshake, signatures, hostile bodies, duplicates,
statuses and the conformity buttons."""

from __future__ import annotations

import json

from bot.process.domain import Canal, DeliveryStatus, Estado, InteractionKind
from bot.process.events import EventKind, TicketEvent
from db.models import Attachment, Interaction, Ticket
from tests.conftest import Team
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    APP_SECRET,
    CUSTOMER,
    VERIFY_TOKEN,
    WhatsAppHarness,
    button_payload,
    image_payload,
    status_payload,
    text_payload,
    whatsapp,
)
from tests.servers import sign_whatsapp


async def _count() -> int:
    return await Interaction.all().count()


# --- handshake ------------------------------------------------------------------------
async def test_verification_handshake(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    ok = await whatsapp.http.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    bad = await whatsapp.http.get("/webhooks/whatsapp", params={
        "hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"})
    assert bad.status_code == 403 and "1" not in bad.text
    missing = await whatsapp.http.get("/webhooks/whatsapp")
    assert missing.status_code == 403


# --- signatures and hostile bodies ---------------------------------------------------
async def test_bad_or_missing_signature_stores_nothing(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    payload = text_payload("wamid.xyzxyz", "Body Text")
    assert (await whatsapp.post(payload, signature=None)).status_code == 401
    assert (await whatsapp.post(payload, secret="another-secret")).status_code == 401
    assert (await whatsapp.post(payload, signature="sha256=zz")).status_code == 401
    assert (await whatsapp.post(payload, signature="md5=abc")).status_code == 401
    body = json.dumps(payload).encode()
    tampered = body.replace(b"Body Text", b"Body Texx")
    assert (await whatsapp.post(tampered, signature=sign_whatsapp(APP_SECRET, body))
            ).status_code == 401
    assert await _count() == 0 and await Ticket.all().count() == 0


async def test_hostile_bodies_get_a_clear_4xx(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    assert (await whatsapp.post(b"{not json")).status_code == 400
    assert (await whatsapp.post(b"\xff\xfe\x00")).status_code == 400
    assert (await whatsapp.post(b"[1, 2]")).status_code == 400
    assert (await whatsapp.post({"object": "whatsapp_business_account", "entry": "x"})
            ).status_code == 400
    big = b'{"object": "whatsapp_business_account", "pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    assert (await whatsapp.post(big)).status_code == 413
    # Wrong types deep inside: ignored events, never a 500.
    weird = {"object": "whatsapp_business_account", "entry": [
        7, {"changes": "no"}, {"changes": [{"field": "messages", "value": []}]},
        {"changes": [{"field": "messages", "value": {
            "messages": [{"id": 5}, {"from": CUSTOMER}, "x",
                         {"id": "wamid.x", "from": "not-a-number", "type": "text"}],
            "statuses": [{"id": None, "status": "read"}, {"id": "w", "status": 3}]}}]},
    ]}
    response = await whatsapp.post(weird)
    # The one with an id is kept (quarantined: no usable sender), never dropped.
    assert response.status_code == 200 and response.json()["handled"] == 1
    [kept] = await whatsapp.services.inbox.list()
    assert kept.key == "whatsapp:wamid.x" and kept.status == "en cuarentena"
    other = await whatsapp.post({"object": "page", "entry": []})
    assert other.status_code == 200
    assert await _count() == 0


# --- customer messages ---------------------------------------------------------------
async def test_message_opens_a_ticket_and_joins_it_then(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    first = await whatsapp.post(text_payload("wamid.A1", "hola, me cobraron dos veces",
                                             name="Ana Pérez"))
    assert first.status_code == 200
    ticket = await Ticket.get(id=1).select_related("customer")
    assert ticket.channel == Canal.WHATSAPP and ticket.estado == Estado.NEW
    assert ticket.customer.phone == "+56912345678" and ticket.customer.name == "Ana Pérez"
    await whatsapp.post(text_payload("wamid.A2", "¿me pueden ayudar?"))
    assert await Ticket.all().count() == 1
    assert await Interaction.filter(ticket_id=1, kind=InteractionKind.INBOUND).count() == 2


async def test_duplicate_wamid_is_one_interaction(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    payload = text_payload("wamid.DUP", "hola")
    for _ in range(3):
        assert (await whatsapp.post(payload)).status_code == 200
    assert await Interaction.filter(external_id="wamid.DUP").count() == 1
    assert await Ticket.all().count() == 1


async def test_media_failure_is_retried_by_the_inbox_and_stored_once(
        whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    whatsapp.graph.add_media("65463453", b"\x89PNG foto", "image/jpeg")
    payload = image_payload()
    whatsapp.graph.fail_next("media.info", status=500)
    first = await whatsapp.post(payload)  # stored before any download: 200 at once
    assert first.status_code == 200 and "Traceback" not in first.text
    assert await _count() == 0  # the download failed: the inbox retries, with backoff
    assert (await whatsapp.post(payload)).status_code == 200  # Meta redelivers: nothing new
    [item] = await whatsapp.services.inbox.list()
    assert item.status == "pendiente" and item.attempts == 1
    whatsapp.services.clock.advance(minutes=1)  # type: ignore[attr-defined]
    await whatsapp.services.inbox.drain()
    assert (await whatsapp.post(payload)).status_code == 200
    row = await Interaction.get(external_id="wamid.xyzxyz")
    attachment = await Attachment.get(interaction_id=row.id)
    assert attachment.stored_path and attachment.size == len(b"\x89PNG foto")
    assert len(whatsapp.graph.calls_to("media.download")) == 1
    auth = whatsapp.graph.last("media.download").headers["Authorization"]
    assert auth == f"Bearer {whatsapp.graph.access_token}"


async def test_expired_media_still_lands_with_a_note(whatsapp: WhatsAppHarness) -> None:  # noqa: F811
    response = await whatsapp.post(image_payload())  # the fake has no such media
    assert response.status_code == 200
    row = await Interaction.get(external_id="wamid.xyzxyz")
    attachment = await Attachment.get(interaction_id=row.id)
    assert attachment.stored_path is None and "WhatsApp no entregó" in attachment.note


# --- statuses ---------------------------------------------------------------------------
async def _replied(wa: WhatsAppHarness, team: Team) -> str:
    await wa.post(text_payload("wamid.IN1", "hola"))
    await wa.services.tickets.reply(team.admin, 1, text="Buenas tardes, lo revisamos.")
    assert await wa.deliver() == 1
    return (await Interaction.get(ticket_id=1, kind=InteractionKind.OUTBOUND)).external_id


async def test_statuses_move_forward_only(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    wamid = await _replied(whatsapp, team)
    assert wamid in whatsapp.graph.sent
    for status, expected in (("delivered", DeliveryStatus.DELIVERED),
                             ("read", DeliveryStatus.READ), ("sent", DeliveryStatus.READ)):
        assert (await whatsapp.post(status_payload(wamid, status))).status_code == 200
        row = await Interaction.get(external_id=wamid)
        assert row.delivery_status == expected


async def test_failed_status_tells_the_team_once(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    wamid = await _replied(whatsapp, team)
    events: list[TicketEvent] = []

    async def listen(event: TicketEvent) -> None:
        events.append(event)

    whatsapp.services.bus.subscribe(listen)
    failed = status_payload(wamid, "failed", errors=[
        {"code": 131026, "title": "Message undeliverable"}])
    for _ in range(2):
        assert (await whatsapp.post(failed)).status_code == 200
    assert (await Interaction.get(external_id=wamid)).delivery_status == DeliveryStatus.FAILED
    notes = await Interaction.filter(ticket_id=1, kind=InteractionKind.NOTE)
    assert len(notes) == 1 and "131026" in notes[0].body
    assert [e.kind for e in events].count(EventKind.DELIVERY) == 1


# --- conformity buttons -------------------------------------------------------------------
async def _pending(wa: WhatsAppHarness, team: Team) -> None:
    await wa.post(text_payload("wamid.IN1", "no tengo internet"))
    await wa.services.tickets.assign(team.admin, 1, team.diego.id)
    await wa.services.tickets.propose(team.actor(team.diego), 1, detalle="Reiniciamos su equipo.")
    assert await wa.deliver() == 1
    sent = whatsapp_last_body(wa)
    assert sent["type"] == "interactive"
    ids = [b["reply"]["id"] for b in sent["interactive"]["action"]["buttons"]]
    assert ids == ["conf:yes:1", "conf:no:1"]


def whatsapp_last_body(wa: WhatsAppHarness) -> dict:  # type: ignore[type-arg]
    return wa.graph.last("messages").params


async def test_yes_button_resolves(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _pending(whatsapp, team)
    whatsapp.services.clock.advance(minutes=4)  # type: ignore[attr-defined]
    tap = button_payload("wamid.TAP1", "conf:yes:1", "Sí, está resuelto")
    assert (await whatsapp.post(tap)).status_code == 200
    assert (await whatsapp.post(tap)).status_code == 200  # redelivered: changes nothing
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.RESOLVED
    assert ticket.resolved_at == whatsapp.services.clock.now()
    assert await Interaction.filter(external_id="wamid.TAP1").count() == 1
    assert await Interaction.filter(ticket_id=1, field="Fecha_Resolucion").count() == 1


async def test_no_button_goes_back_to_in_progress(whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _pending(whatsapp, team)
    tap = button_payload("wamid.TAP2", "conf:no:1", "No, sigue pendiente")
    assert (await whatsapp.post(tap)).status_code == 200
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.IN_PROGRESS and ticket.resolved_at is None


async def test_a_button_naming_someone_elses_ticket_changes_nothing(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _pending(whatsapp, team)
    tap = button_payload("wamid.EVIL", "conf:yes:1", "Sí, está resuelto", sender="56987654321")
    assert (await whatsapp.post(tap)).status_code == 200
    assert (await Ticket.get(id=1)).estado == Estado.PENDING_CONFORMITY
    evil = await Interaction.get(external_id="wamid.EVIL")
    assert evil.ticket_id != 1  # type: ignore[attr-defined]


async def test_typed_yes_or_no_answers_the_conformity_request(
        whatsapp: WhatsAppHarness, team: Team) -> None:  # noqa: F811
    await _pending(whatsapp, team)
    await whatsapp.post(text_payload("wamid.T1", "Una consulta más: ¿y la factura?"))
    assert (await Ticket.get(id=1)).estado == Estado.PENDING_CONFORMITY  # unclear: lands only
    await whatsapp.post(text_payload("wamid.T2", "Sí, ya funciona. Gracias!"))
    ticket = await Ticket.get(id=1)
    assert ticket.estado == Estado.RESOLVED and ticket.customer_confirmed_at is not None

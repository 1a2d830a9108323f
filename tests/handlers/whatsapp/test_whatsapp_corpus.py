"""Every payload of ``shared/corpus/whatsapp`` posted, signed, to the real web server,
and handled as its kind asks: messages become interactions, media is downloaded
through the fake Graph API and stored, statuses move our messages' delivery status,
reactions/edits/revokes/unsupported types are recorded, nothing is dropped silently."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from bot.process.domain import Canal, DeliveryStatus, InteractionKind, Rol
from bot.process.views import Actor
from db.models import Attachment, Interaction
from handlers.whatsapp.payload import MEDIA_TYPES, QUIET_TYPES
from tests.handlers.whatsapp.harness import (  # noqa: F401 (fixture)
    WhatsAppHarness,
    corpus_files,
    load,
    text_payload,
    whatsapp,
)

STATUS = {"sent": DeliveryStatus.SENT, "delivered": DeliveryStatus.DELIVERED,
          "read": DeliveryStatus.READ, "failed": DeliveryStatus.FAILED}


def _values(payload: dict[str, Any]) -> list[dict[str, Any]]:
    return [c["value"] for e in payload["entry"] for c in e["changes"]]


def _media_ids(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(media id, mime type) of a message, an edited message's new media included."""
    found = []
    for msg in (message, message.get("edit", {}).get("message", {})):
        part = msg.get(msg.get("type", ""), {})
        if msg.get("type") in MEDIA_TYPES and isinstance(part, dict) and part.get("id"):
            found.append((str(part["id"]), part.get("mime_type", "application/octet-stream")))
    return found


async def _outbound_with_wamid(wa: WhatsAppHarness, wamid: str, phone: str) -> int:
    """One of our replies, delivered, whose wamid the status refers to."""
    services = wa.services
    customer = await services.customers.find_or_create(phone=phone, name="Cliente")
    view = await services.tickets.open(Actor.system("WhatsApp"), customer_id=customer.id,
                                       channel=Canal.WHATSAPP, description="hola")
    admin = await services.team.add("Carla", Rol.ADMIN)
    await services.tickets.reply(Actor.of(admin), view.number, text="Le respondemos.")
    assert await wa.deliver() == 1
    row = await Interaction.get(ticket_id=view.number, kind=InteractionKind.OUTBOUND)
    await Interaction.filter(id=row.id).update(external_id=wamid)
    return row.id


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: getattr(p, "stem", "no-corpus"))
async def test_corpus_payload_is_handled(whatsapp: WhatsAppHarness, path: Path) -> None:  # noqa: F811
    payload = load(path.name)
    values = _values(payload)
    messages = [m for v in values for m in v.get("messages", [])]
    statuses = [s for v in values for s in v.get("statuses", [])]
    message_ids = {m["id"] for m in messages}
    contents: dict[str, bytes] = {}
    for message in messages:
        for media_id, mime in _media_ids(message):
            contents[media_id] = f"bytes of {media_id} from {path.stem}".encode()
            whatsapp.graph.add_media(media_id, contents[media_id], mime)
    if any(m.get("type") in QUIET_TYPES for m in messages):
        # A reaction, a deletion, a notice: they refer to an earlier conversation.
        await whatsapp.post(text_payload("wamid.earlier", "mensaje anterior",
                                         sender="972987654321"))
    ours: dict[str, int] = {}
    for status in statuses:
        if status["id"] not in message_ids:
            ours[status["id"]] = await _outbound_with_wamid(whatsapp, status["id"],
                                                            "972987654321")

    response = await whatsapp.post(payload)

    assert response.status_code == 200, response.text
    for message in messages:
        row = await Interaction.get_or_none(channel=Canal.WHATSAPP, external_id=message["id"])
        assert row is not None, f"{message['type']} {message['id']} not recorded"
        assert row.kind == InteractionKind.INBOUND and row.body.strip()
        if message["type"] in ("unsupported", "revoke", "reaction", "edit", "system"):
            assert row.body.startswith("["), row.body  # says what arrived
        for media_id, _ in _media_ids(message):
            if message["id"] in {m["id"] for m in messages if m is not message}:
                continue  # same wamid twice in one payload: the second is a duplicate
            attachment = await Attachment.get(interaction_id=row.id)
            assert attachment.stored_path is not None
            assert Path(attachment.stored_path).read_bytes() == contents[media_id]
            assert attachment.sha256 == hashlib.sha256(contents[media_id]).hexdigest()
    for wamid, interaction_id in ours.items():
        status = next(s for s in statuses if s["id"] == wamid)
        row = await Interaction.get(id=interaction_id)
        assert row.delivery_status == STATUS[status["status"]]

"""What a verified webhook payload does: every message and status is stored in the inbox
(keyed by its wamid, before any media download), then the inbox worker translates each
into one call of the core: a message into an ``IncomingMessage`` for the intake (which
decides ticket, conformity answer, third parties), a status into a delivery report.

A message that can never be handled (no usable sender) is quarantined, not dropped; a
transient failure (database, Graph media download) is retried by the worker with
backoff, so the webhook's 200 never waits for Graph.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

from bot.incoming.inbox_items import InboxEntry, PermanentInboxError, Processor
from bot.incoming.intake import IncomingMessage
from bot.people.customers import normalise_phone
from bot.process.domain import Canal, DeliveryStatus
from bot.process.errors import DomainError
from bot.services import Services
from bot.storage.attachments import NewAttachment, safe_filename

from . import buttons
from .graph import GraphClient, GraphError, MediaTooLarge
from .payload import MEDIA_TYPES, MediaRef, parse_message

log = logging.getLogger(__name__)

STATUSES = {"sent": DeliveryStatus.SENT, "delivered": DeliveryStatus.DELIVERED,
            "read": DeliveryStatus.READ, "failed": DeliveryStatus.FAILED}


MESSAGE_KIND = "whatsapp_message"
STATUS_KIND = "whatsapp_status"


class WhatsAppInbound:
    def __init__(self, services: Services, graph: GraphClient) -> None:
        self._services = services
        self._graph = graph

    def processors(self) -> dict[str, Processor]:
        """What the inbox worker calls for the kinds the webhook stores."""
        return {MESSAGE_KIND: self.process_message, STATUS_KIND: self.process_status}

    async def handle_payload(self, payload: dict[str, Any]) -> int:
        """Store every message and status of every entry in the inbox (keyed by the wamid:
        a redelivery stores nothing); the worker does the rest, for most of them in the
        same commit as the storing (``InboxWorker.accept(at_once=True)``)."""
        stored = 0
        inbox = self._services.inbox
        for entry in _items(payload.get("entry")):
            for change in _items(entry.get("changes")):
                value = change.get("value")
                if change.get("field") != "messages" or not isinstance(value, dict):
                    log.info("whatsapp change ignored field=%s", change.get("field"))
                    continue
                contacts = _items(value.get("contacts"))
                for message in _items(value.get("messages")):
                    wamid = message.get("id")
                    if not isinstance(wamid, str) or not wamid.strip():
                        log.warning("whatsapp message without id ignored")
                        continue
                    # Media is downloaded from Meta first: stored now, processed after.
                    # Anything else is database work only: stored and processed together.
                    await inbox.accept(Canal.WHATSAPP, MESSAGE_KIND, f"whatsapp:{wamid}",
                                       payload={"message": message, "contacts": contacts},
                                       summary=f"+{message.get('from', '?')} · "
                                               f"{message.get('type', '?')}",
                                       at_once=message.get("type") not in MEDIA_TYPES)
                    stored += 1
                for status in _items(value.get("statuses")):
                    wamid, word = status.get("id"), status.get("status")
                    if not isinstance(wamid, str) or not wamid or word not in STATUSES:
                        log.info("whatsapp status ignored status=%s", word)
                        continue
                    await inbox.accept(Canal.WHATSAPP, STATUS_KIND,
                                       f"whatsapp-status:{wamid}:{word}",
                                       payload={"status": status}, summary=f"estado {word}",
                                       at_once=True)
                    stored += 1
        return stored  # the worker of this process has them already (``accept``)

    # --- customer messages --------------------------------------------------------------
    async def process_message(self, entry: InboxEntry) -> int | None:
        """One stored message -> one ``IncomingMessage`` -> the intake's one door."""
        message = entry.payload.get("message")
        parsed = parse_message(message) if isinstance(message, dict) else None
        if parsed is None:
            raise PermanentInboxError("mensaje de WhatsApp sin id ni remitente")
        phone, name = _sender(parsed.sender, _items(entry.payload.get("contacts")))
        if phone is None:
            raise PermanentInboxError(f"mensaje de WhatsApp sin remitente utilizable "
                                      f"({parsed.wa_type})")
        answer = buttons.parse(parsed.button_id)
        intake = self._services.intake
        attachments: tuple[NewAttachment, ...] = ()
        if parsed.media is not None and not await intake.known(Canal.WHATSAPP, parsed.wamid):
            attachments = await self._attachments(parsed.media)
        refs = tuple(str(r) for r in (parsed.meta.get("reply_to"), parsed.meta.get("edited"),
                                      parsed.meta.get("reaction_to")) if r)
        incoming = IncomingMessage(
            channel=Canal.WHATSAPP, body=parsed.body, external_id=parsed.wamid, phone=phone,
            name=name, join_open=True, automatic=parsed.quiet, refs=refs,
            ticket_number=answer.ticket if answer else None,
            answer=answer.accepted if answer else None,
            typed_answer=parsed.wa_type == "text", attachments=attachments,
            meta={**parsed.meta, **({"button_id": parsed.button_id} if parsed.button_id else {})})
        result = await intake.receive(incoming)
        log.info("whatsapp message type=%s wamid=%s ticket=%s%s", parsed.wa_type, parsed.wamid,
                 f"#{result.ticket.number}" if result.ticket else "-",
                 " (duplicate)" if result.duplicate else "")
        return result.ticket.number if result.ticket else None

    async def _attachments(self, media: MediaRef | None) -> tuple[NewAttachment, ...]:
        if media is None:
            return ()
        store = self._services.attachments
        limit = self._services.settings.mail_max_attachment_bytes
        name = _filename(media)
        try:
            info = await self._graph.media_info(media.media_id)
            mime = media.mime_type or info.mime_type or "application/octet-stream"
            if info.file_size is not None and info.file_size > limit:
                raise MediaTooLarge(info.file_size)
            data = await self._graph.download(info.url, limit)
        except MediaTooLarge as exc:
            return (NewAttachment(name, media.mime_type, exc.size, "", None,
                                  note=f"No se guardó: {exc.size:,} bytes supera el máximo de "
                                       f"{limit:,} bytes.".replace(",", ".")),)
        except GraphError as exc:
            if exc.transient:
                raise  # Meta redelivers; the message is stored with its file next time
            log.warning("whatsapp media %s not available: %s", media.media_id, exc)
            code = exc.code or exc.status
            return (NewAttachment(name, media.mime_type, 0, "", None,
                                  note=f"WhatsApp no entregó el archivo ({code}): "
                                       f"{exc.message}"),)
        return (store.store(data, name, mime),)

    # --- statuses of our messages ---------------------------------------------------------
    async def process_status(self, entry: InboxEntry) -> int | None:
        status = entry.payload.get("status")
        if not isinstance(status, dict):
            raise PermanentInboxError("estado de WhatsApp ilegible")
        wamid, new = str(status.get("id")), STATUSES[str(status.get("status"))]
        if not await self._services.intake.delivery_status(Canal.WHATSAPP, wamid, new,
                                                           _reason(status)):
            log.info("whatsapp status for a message that is not ours wamid=%s", wamid)
        else:
            log.info("whatsapp status %s wamid=%s", new.value, wamid)
        return None


def _reason(status: dict[str, Any]) -> str:
    """WhatsApp's reason for a failed message, as the team reads it."""
    errors = _items(status.get("errors"))
    return "; ".join(f"{e.get('title') or e.get('message')} ({e.get('code')})"
                     for e in errors) or "sin detalle"


def _items(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _sender(sender: str, contacts: list[dict[str, Any]]) -> tuple[str | None, str]:
    """The customer's number and profile name. ``from`` is the number; a payload whose
    ``from`` is not one (seen in Meta's samples) falls back to its only contact."""
    by_id = {str(c.get("wa_id")): c for c in contacts if c.get("wa_id")}
    candidates = [(sender, by_id.get(sender, {}))]
    if len(contacts) == 1:
        candidates.append((str(contacts[0].get("wa_id") or ""), contacts[0]))
    for number, contact in candidates:
        if not number.isdigit():
            continue
        try:
            phone = normalise_phone(number)
        except DomainError:
            continue
        profile = contact.get("profile")
        name = profile.get("name") if isinstance(profile, dict) else ""
        return phone, name.strip()[:200] if isinstance(name, str) else ""
    return None, ""


def _filename(media: MediaRef) -> str:
    if media.filename:
        return safe_filename(media.filename)
    ext = mimetypes.guess_extension((media.mime_type or "").split(";")[0].strip()) or ""
    if media.mime_type.startswith("audio/ogg"):
        ext = ".ogg"
    return safe_filename(f"whatsapp-{media.kind}-{media.media_id}{ext}")

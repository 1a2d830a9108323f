"""What a verified webhook payload does: customer messages land on tickets, conformity
taps confirm or reject, statuses move our messages' delivery status.

Every entry and every change is handled. A message that cannot be handled (no id, no
usable sender) is logged and skipped; a transient failure (database, Graph media
download) propagates, so the webhook answers 503 and Meta delivers the payload again:
what was already stored is recognised by its wamid and not stored twice.
"""

from __future__ import annotations

import logging
import mimetypes
from typing import Any

from bot.attachments import NewAttachment, safe_filename
from bot.conformity import apply_answer
from bot.customers import normalise_phone
from bot.domain import Canal, DeliveryStatus, Estado
from bot.errors import DomainError
from bot.intake import IncomingMessage
from bot.outbox import update_delivery_status
from bot.services import Services
from bot.views import Actor

from . import buttons
from .graph import GraphClient, GraphError, MediaTooLarge
from .payload import MediaRef, parse_message

log = logging.getLogger(__name__)

STATUSES = {"sent": DeliveryStatus.SENT, "delivered": DeliveryStatus.DELIVERED,
            "read": DeliveryStatus.READ, "failed": DeliveryStatus.FAILED}
ACTOR = "WhatsApp"


class WhatsAppInbound:
    def __init__(self, services: Services, graph: GraphClient) -> None:
        self._services = services
        self._graph = graph

    async def handle_payload(self, payload: dict[str, Any]) -> int:
        """Handle every change of every entry; returns how many items were handled."""
        handled = 0
        for entry in _items(payload.get("entry")):
            for change in _items(entry.get("changes")):
                value = change.get("value")
                if change.get("field") != "messages" or not isinstance(value, dict):
                    log.info("whatsapp change ignored field=%s", change.get("field"))
                    continue
                handled += await self._handle_value(value)
        return handled

    async def _handle_value(self, value: dict[str, Any]) -> int:
        handled = 0
        contacts = _items(value.get("contacts"))
        for message in _items(value.get("messages")):
            handled += await self.handle_message(message, contacts)
        for status in _items(value.get("statuses")):
            handled += await self.handle_status(status)
        return handled

    # --- customer messages --------------------------------------------------------------
    async def handle_message(self, message: dict[str, Any],
                             contacts: list[dict[str, Any]]) -> int:
        parsed = parse_message(message)
        if parsed is None:
            log.warning("whatsapp message without id or sender ignored")
            return 0
        phone, name = _sender(parsed.sender, contacts)
        if phone is None:
            log.warning("whatsapp message with no usable sender ignored wamid=%s type=%s",
                        parsed.wamid, parsed.wa_type)
            return 0
        answer = buttons.parse(parsed.button_id)
        attachments = await self._attachments(parsed.media)
        incoming = IncomingMessage(
            channel=Canal.WHATSAPP, body=parsed.body, external_id=parsed.wamid, phone=phone,
            name=name, join_open=True, automatic=parsed.quiet,
            ticket_number=await self._own_ticket(answer, phone), attachments=attachments,
            meta={**parsed.meta, **({"button_id": parsed.button_id} if parsed.button_id else {})})
        result = await self._services.intake.receive(incoming)
        log.info("whatsapp message type=%s wamid=%s ticket=%s%s", parsed.wa_type, parsed.wamid,
                 f"#{result.ticket.number}" if result.ticket else "-",
                 " (duplicate)" if result.duplicate else "")
        if answer is not None and result.ticket is not None and \
                result.ticket.number == answer.ticket:
            await self._conformity(answer)
        elif answer is None and not result.duplicate and parsed.wa_type == "text":
            # Outside the window the request went as a template without buttons: the
            # customer types "Sí" (or "no, sigue igual").
            await apply_answer(self._services.tickets, result, parsed.body, Canal.WHATSAPP,
                               name)
        return 1

    async def _own_ticket(self, answer: buttons.ConformityAnswer | None,
                          phone: str) -> int | None:
        """A conformity tap lands on the ticket it names, if that ticket is this
        customer's (a button id is ours, but never trust it to reach someone else's)."""
        if answer is None:
            return None
        try:
            ticket = await self._services.queries.get(answer.ticket)
        except DomainError:
            return None
        return answer.ticket if ticket.customer.phone == phone else None

    async def _conformity(self, answer: buttons.ConformityAnswer) -> None:
        """Confirm or reject, if the ticket still waits for it: a redelivered tap, or one
        on an old request, changes nothing."""
        ticket = await self._services.queries.get(answer.ticket)
        if ticket.estado is not Estado.PENDING_CONFORMITY:
            log.info("conformity tap ignored ticket=#%s estado=%s", ticket.number,
                     ticket.estado.value)
            return
        actor = Actor.system(ACTOR)
        try:
            if answer.accepted:
                await self._services.tickets.confirm(actor, answer.ticket)
            else:
                await self._services.tickets.reject(
                    actor, answer.ticket, reason="el cliente indicó por WhatsApp que sigue "
                                                 "pendiente")
        except DomainError as exc:  # changed meanwhile: the tap is on the ticket anyway
            log.info("conformity tap not applied ticket=#%s: %s", answer.ticket, exc)

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
    async def handle_status(self, status: dict[str, Any]) -> int:
        wamid, word = status.get("id"), status.get("status")
        new = STATUSES.get(word) if isinstance(word, str) else None
        if not isinstance(wamid, str) or not wamid or new is None:
            log.info("whatsapp status ignored status=%s", word)
            return 0
        if new is DeliveryStatus.FAILED:
            if not await self._services.delivery.failed(Canal.WHATSAPP, wamid,
                                                        _reason(status), ACTOR):
                log.info("whatsapp status for a message that is not ours wamid=%s", wamid)
                return 0
            return 1
        interaction_id = await update_delivery_status(Canal.WHATSAPP, wamid, new)
        if interaction_id is None:
            log.info("whatsapp status for a message that is not ours wamid=%s", wamid)
            return 0
        log.info("whatsapp status %s wamid=%s", new.value, wamid)
        return 1


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

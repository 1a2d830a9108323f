"""The WhatsApp channel's ``Sender`` for the outbox.

The core decides *what* may go (inside the 24-hour window: free text or the conformity
buttons; outside it: only an approved template, named in ``whatsapp_template``); this
module only says it the Cloud API's way and classifies failures: throughput limits,
5xx and timeouts raise for a retry with backoff, anything Graph will refuse again
(re-engagement 131047, invalid number, rejected template) is a ``PermanentSendError``
that the outbox shows on the ticket and reports to the team.
"""

from __future__ import annotations

import logging

from bot.outgoing.outbox import AmbiguousSendError, OutboundMessage, PermanentSendError, SendResult
from bot.process.settings import Settings

from . import buttons
from .graph import GraphClient, GraphError

log = logging.getLogger(__name__)

MAX_TEXT = 4096
MAX_INTERACTIVE_BODY = 1024


class WhatsAppSender:
    """Sends one outbox row; returns the wamid, which status webhooks refer to."""

    def __init__(self, graph: GraphClient, settings: Settings) -> None:
        self._graph = graph
        self._language = settings.whatsapp_template_language

    async def send(self, message: OutboundMessage) -> SendResult:
        to = message.recipient.lstrip("+")
        if not to.isdigit():
            raise PermanentSendError(f"«{message.recipient}» no es un número de WhatsApp.")
        try:
            wamid = await self._dispatch(to, message)
        except GraphError as exc:
            if exc.ambiguous:  # never risk a second copy: the outbox tells the team
                raise AmbiguousSendError(_explain(exc)) from exc
            if exc.transient:
                raise  # the outbox retries with backoff
            raise PermanentSendError(_explain(exc)) from exc
        log.info("whatsapp message sent ticket=#%s kind=%s", message.ticket_number,
                 "template" if message.whatsapp_template else message.kind)
        return SendResult(provider_id=wamid)

    async def _dispatch(self, to: str, message: OutboundMessage) -> str:
        reference = message.idempotency_key
        if message.whatsapp_template:  # outside the window: the approved template only
            # The conformity request's approved template carries the Sí/No quick replies;
            # their payloads name the ticket, so a tap answers it like the free buttons.
            replies = ((buttons.yes_id(message.ticket_number),
                        buttons.no_id(message.ticket_number))
                       if message.kind == "conformity_request" else ())
            return await self._graph.send_template(
                to, message.whatsapp_template, self._language, message.template_params,
                reference=reference, quick_replies=replies)
        text = (message.whatsapp_text or message.text).strip()
        if not text:
            raise PermanentSendError("El mensaje para WhatsApp está vacío.")
        if message.kind == "conformity_request":
            return await self._graph.send_buttons(
                to, _fit(text, MAX_INTERACTIVE_BODY),
                [(buttons.yes_id(message.ticket_number), buttons.YES_LABEL),
                 (buttons.no_id(message.ticket_number), buttons.NO_LABEL)],
                reference=reference)
        if message.kind == "csat_request" and message.extra.get("rows"):
            return await self._graph.send_list(
                to, _fit(text, MAX_INTERACTIVE_BODY), "Calificar",
                [(str(rid), str(title)) for rid, title in message.extra["rows"]],
                reference=reference)
        if len(text) > MAX_TEXT:
            # Splitting would make a retry resend the first part: tell the team instead.
            raise PermanentSendError(
                f"El mensaje tiene {len(text):,} caracteres y WhatsApp admite hasta "
                f"{MAX_TEXT:,}: acórtelo y vuelva a enviarlo.".replace(",", "."))
        return await self._graph.send_text(to, text, reference=reference)


def _fit(text: str, limit: int) -> str:
    """The interactive body's limit: cut at a line break when possible, mark the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if "\n" in cut[limit // 2:]:
        cut = cut[: cut.rindex("\n")]
    return cut.rstrip() + "…"


def _explain(exc: GraphError) -> str:
    """Spanish for the team: why WhatsApp refused, and what to do."""
    if exc.code == 131047:
        return ("WhatsApp rechazó el mensaje: pasaron más de 24 horas desde el último "
                "mensaje del cliente (131047). Envíe una plantilla aprobada.")
    if exc.code in (131026, 131030):
        return f"WhatsApp no puede entregar mensajes a este número ({exc.code}): {exc.message}"
    if exc.code is not None and 132000 <= exc.code < 133000:
        return f"WhatsApp rechazó la plantilla ({exc.code}): {exc.message}"
    return f"WhatsApp rechazó el mensaje ({exc.code or exc.status}): {exc.message}"

"""WhatsApp Business (Cloud API): webhook in, outbox sender out.

``build_front_end(services)`` offers the sender for ``Canal.WHATSAPP``, the inbox
processors of what the webhook stores, and the webhook routes to the shared web server (``handlers/web.py``); it starts nothing of
its own: the outbox worker and the web server run the rest.
"""

from __future__ import annotations

import logging

from starlette.routing import BaseRoute

from bot.app.frontend import Offers
from bot.process.domain import Canal
from bot.services import Services

from .graph import GraphClient
from .inbound import WhatsAppInbound
from .sender import WhatsAppSender
from .webhook import WhatsAppWebhook

log = logging.getLogger(__name__)

__all__ = ["WhatsAppFrontEnd", "build_front_end"]


class WhatsAppFrontEnd:
    name = "whatsapp"

    def __init__(self, services: Services, graph: GraphClient) -> None:
        settings = services.settings
        self._settings = settings
        self.graph = graph
        self.sender = WhatsAppSender(graph, settings)
        self.inbound = WhatsAppInbound(services, graph)
        self.webhook = WhatsAppWebhook(self.inbound, settings.whatsapp_app_secret,
                                       settings.whatsapp_verify_token)
        self.offers = Offers(senders={Canal.WHATSAPP: self.sender},
                             processors=self.inbound.processors())

    def routes(self) -> list[BaseRoute]:
        return list(self.webhook.routes())

    async def start(self) -> None:
        settings = self._settings
        if not settings.whatsapp_app_secret:
            log.error("ATIENDE_WHATSAPP_APP_SECRET is empty: every WhatsApp webhook will be "
                      "refused (401) until it is set")
        if not settings.whatsapp_verify_token:
            log.warning("ATIENDE_WHATSAPP_VERIFY_TOKEN is empty: Meta's verification "
                        "handshake will be refused")

    async def stop(self) -> None:
        await self.graph.aclose()


def build_front_end(services: Services) -> WhatsAppFrontEnd:
    settings = services.settings
    graph = GraphClient(settings.whatsapp_api_url, settings.whatsapp_phone_number_id,
                        settings.whatsapp_token)
    return WhatsAppFrontEnd(services, graph)

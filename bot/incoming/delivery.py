"""A channel tells us one of our messages did not reach the customer.

WhatsApp reports it as a ``failed`` status, email as a bounce (a DSN naming our
Message-ID). Either way: the outbound interaction is marked *fallido*, the ticket gets
one note with the channel's reason (once, however often the report is redelivered),
and the chat front ends get the delivery event so the team sees it on the card.
"""

from __future__ import annotations

import logging

from bot.outgoing.outbox import update_delivery_status
from bot.process.domain import Canal, DeliveryStatus
from bot.process.events import EventBus, EventKind, TicketEvent
from bot.process.views import Actor
from bot.storage.kv import KeyValueStore
from bot.tickets.queries import TicketQueries
from bot.tickets.service import TicketService

log = logging.getLogger(__name__)


class DeliveryReports:
    def __init__(self, tickets: TicketService, queries: TicketQueries, bus: EventBus,
                 kv: KeyValueStore) -> None:
        self._tickets = tickets
        self._queries = queries
        self._bus = bus
        self._kv = kv

    async def failed(self, channel: Canal, provider_id: str, reason: str,
                     source: str) -> bool:
        """Record a failure report; False when ``provider_id`` is not one of ours."""
        interaction_id = await update_delivery_status(channel, provider_id,
                                                      DeliveryStatus.FAILED)
        if interaction_id is None:
            return False
        if not await self._kv.add_if_absent(f"{channel.value}.failed", provider_id, True):
            return True  # reported already: a redelivered status or a second bounce
        interaction = await self._queries.interaction(interaction_id)
        actor = Actor.system(source)
        await self._tickets.note(actor, interaction.ticket_number,
                                 f"{source} no pudo entregar un mensaje al cliente: {reason}.")
        ticket = await self._queries.get(interaction.ticket_number)
        await self._bus.publish(TicketEvent(EventKind.DELIVERY, ticket, actor, interaction))
        log.warning("delivery failed ticket=#%s channel=%s interaction=%s",
                    interaction.ticket_number, channel.value, interaction_id)
        return True

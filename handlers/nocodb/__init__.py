"""NocoDB: the company's Clientes, Tickets and Interacciones tables, kept in step.

``build_front_end(services)`` builds the HTTP client, the pusher (queue -> NocoDB) and
the puller (webhooks + reconciliation -> tickets); ``start()`` runs both loops in the
background and ``routes()`` gives the shared web server ``/webhooks/nocodb``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.routing import BaseRoute

from bot.events import TicketEvent
from bot.frontend import Offers
from bot.nocodb.alerts import team_alert
from bot.nocodb.pull import Puller
from bot.nocodb.push import Pusher
from bot.services import Services

from .api import HttpNocoApi
from .webhook import NocoWebhook

log = logging.getLogger(__name__)

__all__ = ["NocoFrontEnd", "build_front_end"]


class NocoFrontEnd:
    name = "nocodb"

    def __init__(self, services: Services, api: HttpNocoApi) -> None:
        settings = services.settings
        self.api = api
        alert = team_alert(services.notifiers, services.team)
        self.pusher = Pusher(api, settings, services.clock, alert)
        self.puller = Puller(api, services, self.pusher, alert)
        self.webhook = NocoWebhook(self.puller, settings.nocodb_webhook_secret)
        self._reconcile_seconds = settings.nocodb_reconcile_seconds
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.offers = Offers(subscribers=(self._on_event,))  # a committed change: push now

    async def _on_event(self, event: TicketEvent) -> None:
        self.pusher.wake()  # the change is committed and queued: push it now

    def routes(self) -> list[BaseRoute]:
        return list(self.webhook.routes())

    async def start(self) -> None:
        if not self.webhook.has_secret:
            log.error("ATIENDE_NOCODB_WEBHOOK_SECRET is empty: NocoDB's webhooks will be "
                      "refused (401); edits arrive only by the periodic reconciliation")
        self._stop.clear()
        self._tasks = [asyncio.create_task(self.pusher.run(self._stop), name="nocodb-push"),
                       asyncio.create_task(self._reconcile(), name="nocodb-reconcile")]

    async def _reconcile(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._reconcile_seconds)
            if self._stop.is_set():
                return
            try:
                await self.puller.reconcile()
            except Exception:
                log.exception("nocodb reconciliation failed")

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, 10)
        await self.api.aclose()


def build_front_end(services: Services) -> NocoFrontEnd:
    settings = services.settings
    return NocoFrontEnd(services, HttpNocoApi(settings.nocodb_url, settings.nocodb_token))

"""NocoDB: the company's Clientes, Tickets and Interacciones tables, kept in step.

``build_front_end(services)`` builds the HTTP client, the pusher (queue -> NocoDB) and
the puller (webhooks + reconciliation -> tickets); ``start()`` runs both loops in the
background and ``routes()`` gives the shared web server ``/webhooks/nocodb``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from starlette.routing import BaseRoute

from bot.app.frontend import Offers
from bot.nocodb.alerts import team_alert
from bot.nocodb.pull import Puller
from bot.nocodb.push import Pusher
from bot.process.events import TicketEvent
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
        self._handed_over = False  # the sync loops run under the root's lease
        self.offers = Offers(subscribers=(self._on_event,))  # a committed change: push now

    async def _on_event(self, event: TicketEvent) -> None:
        self.pusher.wake()  # the change is committed and queued: push it now

    def routes(self) -> list[BaseRoute]:
        return list(self.webhook.routes())

    def exclusive_jobs(self) -> dict[str, Callable[[asyncio.Event], Awaitable[None]]]:
        """Pushing and reconciling run on one instance at a time (two pushers could each
        insert the same new row): hand them to the composition root, which runs them
        under a lease (``start()`` then leaves them)."""
        self._handed_over = True
        return {"nocodb-sync": self._sync}

    async def _sync(self, stop: asyncio.Event) -> None:
        await asyncio.gather(self.pusher.run(stop), self._reconcile(stop))

    async def start(self) -> None:
        if not self.webhook.has_secret:
            log.error("ATIENDE_NOCODB_WEBHOOK_SECRET is empty: NocoDB's webhooks will be "
                      "refused (401); edits arrive only by the periodic reconciliation")
        self._stop.clear()
        if not self._handed_over:  # alone (a test, a one-off run): run them here
            self._tasks = [asyncio.create_task(self._sync(self._stop), name="nocodb-sync")]

    async def _reconcile(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._reconcile_seconds)
            if stop.is_set():
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

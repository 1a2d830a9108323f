"""The Telegram front end: builds the PTB application, registers the handlers, runs it
inside the already running event loop (polling or webhook), and stops it cleanly.

``build_front_end(services)`` is what the composition root calls. Configuration:
``ATIENDE_TELEGRAM_TOKEN``; ``ATIENDE_TELEGRAM_API_URL`` for another Bot API server
(files are fetched from the same one); ``ATIENDE_TELEGRAM_WEBHOOK_URL`` (+ ``_SECRET``)
for webhook mode, where ``routes()`` goes on the shared web server.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import warnings
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes, Defaults

from bot.app.frontend import Offers
from bot.services import Services
from handlers.telegram import registry
from handlers.telegram.common import Desk, DeskContext
from handlers.telegram.events import CardEvents
from handlers.telegram.notifier import TelegramNotifier
from handlers.telegram.persistence import KvPersistence
from handlers.telegram.transport import (
    BotApiRequest,
    DeskBot,
    RetryingRequest,
    file_url,
    parse_update,
)
from handlers.web import BodyRejected, parse_json, read_body, rejected

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org/bot"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few KB (files are fetched separately); anything larger is not Telegram.
MAX_UPDATE_BYTES = 1024 * 1024

COMMANDS = [
    BotCommand("nuevo", "Crear un ticket"),
    BotCommand("tickets", "Tickets abiertos (filtros: estado, míos, vencidos)"),
    BotCommand("ticket", "Tarjeta e historial de un ticket: /ticket 12"),
    BotCommand("buscar", "Buscar tickets por texto"),
    BotCommand("cliente", "Datos y tickets de un cliente: /cliente correo, teléfono o RUT"),
    BotCommand("cliente_editar", "Editar un dato de un cliente: /cliente_editar 12 rut 12.345.678-5"),
    BotCommand("fusionar", "Unir dos clientes que son la misma persona: /fusionar A B"),
    BotCommand("expediente", "Expediente de un ticket: /expediente 12"),
    BotCommand("datos_cliente", "Datos personales de un cliente (exportar)"),
    BotCommand("anonimizar", "Anonimizar los datos de un cliente"),
    BotCommand("reporte", "Plazos, volúmenes y satisfacción: /reporte semana|mes|AAAA-MM"),
    BotCommand("cancelar", "Salir de la conversación en curso"),
    BotCommand("ayuda", "Qué puedo hacer aquí"),
]


class DeskApplication(Application[Any, Any, Any, Any, Any, Any]):
    """PTB's ``Application`` that writes the persistence after every update, so a
    conversation in progress survives even an abrupt stop."""

    async def process_update(self, update: object) -> None:
        await super().process_update(update)
        if self.persistence is not None:
            await self.update_persistence()


class TelegramFrontEnd:
    """The running bot (``bot.app.frontend.FrontEnd``)."""

    name = "telegram"

    def __init__(self, services: Services, *, poll_timeout: float = 25.0,
                 fetch_updates: bool = True) -> None:
        settings = services.settings
        self.services = services
        self.desk = Desk(services)
        self.poll_timeout = poll_timeout
        self.fetch_updates = fetch_updates  # False: the caller feeds process_update (tests)
        self._polling_handed_over = False  # True: polling runs under a lease (exclusive_jobs)
        self.webhook_url = settings.telegram_webhook_url
        self.webhook_secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
        base_url = settings.telegram_api_url or DEFAULT_API_URL
        bot = DeskBot(
            settings.telegram_token, base_url=base_url, base_file_url=file_url(base_url),
            request=RetryingRequest(connection_pool_size=16, connect_timeout=10.0,
                                    read_timeout=20.0, write_timeout=30.0),
            get_updates_request=BotApiRequest(connection_pool_size=2),
            defaults=Defaults(parse_mode=ParseMode.HTML,
                              link_preview_options=LinkPreviewOptions(is_disabled=True)),
            rate_limiter=AIORateLimiter(max_retries=5))
        builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
            ApplicationBuilder().application_class(DeskApplication).bot(bot)
            .persistence(KvPersistence(services.kv))
            .context_types(ContextTypes(context=DeskContext)))
        if self.webhook_url:
            builder = builder.updater(None)  # updates come through routes()
        self.application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
        self.cards = CardEvents(self.desk, self.application.bot)
        self.notifier = TelegramNotifier(self.application.bot)
        with warnings.catch_warnings():
            # PTB warns that a ConversationHandler with per_message=False does not track
            # buttons per message: that is intended (one conversation per person).
            warnings.filterwarnings("ignore", message=".*per_message.*")
            registry.register(self.application, self.desk)
        self.offers = Offers(subscribers=(self.cards.publish,), notifier=self.notifier,
                             settle=self.cards.drain)

    # --- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        """Connect (getMe), load persisted state, register the commands, start fetching."""
        app = self.application
        await app.initialize()
        await app.bot.set_my_commands(COMMANDS)
        self.notifier.admin = await self.services.team.admin()
        self.cards.start()
        await app.start()
        if not self.fetch_updates:
            pass
        elif self.webhook_url:
            await app.bot.set_webhook(self.webhook_url, secret_token=self.webhook_secret,
                                      allowed_updates=Update.ALL_TYPES)
        elif not self._polling_handed_over:
            await self._start_polling()
        self.notifier.running = True
        log.info("telegram: running as @%s (%s)", app.bot.username,
                 "webhook" if self.webhook_url else "polling")

    def exclusive_jobs(self) -> dict[str, Callable[[asyncio.Event], Awaitable[None]]]:
        """Long polling may run on one instance only (Telegram refuses a second
        ``getUpdates``): hand it to the composition root, which runs it under a lease.
        Cards, buttons and reminders keep working on every instance."""
        if self.webhook_url or not self.fetch_updates:
            return {}
        self._polling_handed_over = True
        return {"telegram-polling": self._poll_until}

    async def _start_polling(self) -> None:
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            poll_interval=0.0, timeout=int(self.poll_timeout),
            allowed_updates=Update.ALL_TYPES, error_callback=self._polling_error)

    async def _poll_until(self, stop: asyncio.Event) -> None:
        """Poll while this instance holds the lease (``start()`` has run)."""
        updater = self.application.updater
        assert updater is not None
        await self._start_polling()
        try:
            await stop.wait()
        finally:
            if updater.running:
                await updater.stop()

    async def stop(self) -> None:
        """Stop fetching, finish the update and card queues, save state, disconnect."""
        app = self.application
        self.notifier.running = False
        if app.updater is not None and app.updater.running:
            await app.updater.stop()
        if app.running:
            await app.stop()
        await self.cards.stop()
        if app._initialized:  # noqa: SLF001 (PTB has no public flag for it)
            await app.shutdown()

    async def drain(self) -> None:
        """Wait until fetched updates and queued card edits are done (tests use it)."""
        if self.application.running:
            await self.application.update_queue.join()
        await self.cards.drain()

    @staticmethod
    def _polling_error(exc: Exception) -> None:
        log.warning("telegram: polling failed, retrying: %s", exc)

    # --- webhook ----------------------------------------------------------------------
    def routes(self) -> list[Route]:
        """The webhook endpoint for the shared web server (webhook mode only)."""
        if not self.webhook_url:
            return []
        path = urlparse(self.webhook_url).path or "/telegram"
        return [Route(path, self._webhook, methods=["POST"])]

    async def _webhook(self, request: Request) -> Response:
        """Telegram's POST: secret token checked, body capped and parsed, the update
        handled, and only then the 200: an update lost in a crash is sent again."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.webhook_secret.encode()):
            return rejected(request, 403, "telegram webhook: wrong or missing secret token",
                            log)
        try:
            data = parse_json(await read_body(request, MAX_UPDATE_BYTES))
        except BodyRejected as exc:
            return rejected(request, exc.status, f"telegram webhook: {exc.reason}", log)
        update = parse_update(data, self.application.bot)
        if update is not None:  # through the update processor: one update at a time
            app = self.application
            await app.update_processor.process_update(update, app.process_update(update))
        return Response(status_code=200)


def build_front_end(services: Services) -> TelegramFrontEnd:
    """The Telegram front end for ``atiende run`` (``ATIENDE_TELEGRAM_TOKEN`` is set)."""
    return TelegramFrontEnd(services)

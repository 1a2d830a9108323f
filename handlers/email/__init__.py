"""The email channel: IMAP in, SMTP out, and ``atiende mail import``.

``build_front_end`` offers the SMTP sender (so replies and conformity requests on
email tickets go out) and the inbox processor of stored mail, and runs the IMAP reader
when those settings are present. ``import_path`` is the CLI's entry for history migrations.
The IMAP and SMTP clients are imported when a front end is built, not with the package:
``atiende mail import`` needs neither, and pays for no mail library at start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.app.frontend import Offers
from bot.process.domain import Canal
from bot.services import Services
from bot.storage.kv import KeyValueStore
from handlers.email.importer import ImportReport, import_path
from handlers.email.ingest import EmailIngestor, IngestResult

if TYPE_CHECKING:
    from handlers.email.smtp import SmtpSender

log = logging.getLogger(__name__)

__all__ = ["EmailFrontEnd", "EmailIngestor", "ImportReport", "IngestResult",
           "build_front_end", "import_path"]


class EmailFrontEnd:
    """Runs the IMAP reader in the background; the SMTP sender lives in the outbox."""

    name = "email"

    def __init__(self, services: Services, sender: SmtpSender | None = None) -> None:
        from handlers.email.imap import ImapReader

        self.services = services
        self.ingestor = EmailIngestor(services)
        self.offers = Offers(senders={Canal.EMAIL: sender} if sender is not None else {},
                             processors=self.ingestor.processors())
        # The reader only stores (then records its progress); the inbox worker processes.
        self.reader = ImapReader(services.settings, self.ingestor.accept,
                                 KeyValueProgress(services.kv), self._process_stored) \
            if services.settings.imap_enabled else None
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._reader_handed_over = False  # True: the reader runs under a lease

    def exclusive_jobs(self) -> dict[str, Callable[[asyncio.Event], Awaitable[None]]]:
        """Reading the mailbox may run on one instance only: hand the reader to the
        composition root, which runs it under a lease (``start()`` then leaves it)."""
        if self.reader is None:
            return {}
        self._reader_handed_over = True
        return {"email-imap": self.reader.run}

    async def _process_stored(self) -> None:
        """Without the app's inbox worker (a test, a one-off run), process here."""
        if not self.services.inbox.running:
            await self.services.inbox.drain()

    async def start(self) -> None:
        if self._reader_handed_over:
            return
        if self.reader is not None and self._task is None:
            self._stop.clear()
            self._task = asyncio.create_task(self.reader.run(self._stop), name="email-imap")

    async def stop(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is None:
            return
        try:
            await asyncio.wait_for(task, 10)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class KeyValueProgress:
    """The IMAP reader's place (UIDVALIDITY, last UID), kept in the database."""

    NAMESPACE = "imap.progress"

    def __init__(self, kv: KeyValueStore) -> None:
        self._kv = kv

    async def load(self, key: str) -> dict[str, int] | None:
        value = await self._kv.get(self.NAMESPACE, key[:200])
        return value if isinstance(value, dict) else None

    async def save(self, key: str, value: dict[str, int]) -> None:
        await self._kv.set(self.NAMESPACE, key[:200], value)


def build_front_end(services: Services) -> EmailFrontEnd:
    """The email channel; once connected, the outbox can deliver email rows (including
    ones queued before a crash) as soon as it runs."""
    from handlers.email.smtp import SmtpSender

    sender = SmtpSender(services.settings, services.clock, services.message_ids) \
        if services.settings.smtp_enabled else None
    return EmailFrontEnd(services, sender)

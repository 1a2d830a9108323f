"""The console as a front end like the others: built, connected, started, stopped.

It offers a printing ``Sender`` for each customer channel nobody configured (so a
reply shows on the terminal instead of going nowhere) and reads standard input in a
daemon thread, so a blocked read never delays shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading

from bot.app.frontend import Offers
from bot.process.domain import Canal
from bot.process.settings import Settings
from bot.process.views import MemberView
from bot.services import Services
from handlers.console.console import Console, ConsoleSender, Write


def printable_channels(settings: Settings) -> list[Canal]:
    """The customer channels the console may print instead of sending: only those with
    no setting at all. A configured channel's messages stay queued for the process that
    sends on it (``atiende run``), even beside a console on the same database: printing
    one and marking it sent would tell the team the customer got what they never did."""
    configured = {
        Canal.EMAIL: settings.smtp_enabled or settings.imap_enabled,
        Canal.WHATSAPP: bool(settings.whatsapp_token or settings.whatsapp_phone_number_id),
    }
    return [channel for channel, on in configured.items() if not on]


class ConsoleFrontEnd:
    """The administrator's terminal chat; ``finished`` is set on /salir or end of input."""

    name = "console"

    def __init__(self, services: Services, member: MemberView, write: Write, *,
                 read_stdin: bool = True) -> None:
        self.services = services
        self.write = write
        self.console = Console(services, member, write)
        sender = ConsoleSender(write)
        self.offers = Offers(senders={c: sender for c in printable_channels(services.settings)})
        self._read_stdin = read_stdin
        self._runner: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Say which configured channels keep their messages queued, then take input."""
        outbox = self.services.outbox
        queued = [c for c in (Canal.EMAIL, Canal.WHATSAPP) if not outbox.has_sender(c)]
        if queued:
            verb = "está configurado" if len(queued) == 1 else "están configurados"
            self.write(f"{' y '.join(c.label for c in queued)} {verb}: lo que responda por "
                       "ahí queda en cola y lo envía `atiende run`.")
        if self._read_stdin:
            self._feed_stdin()
        self._runner = asyncio.create_task(self.console.run(), name="console")

    async def finished(self) -> None:
        """Until the person leaves (/salir) or input ends."""
        if self._runner is not None:
            await asyncio.shield(self._runner)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner

    def _feed_stdin(self) -> None:
        loop = asyncio.get_running_loop()
        feed = self.console.feed

        def reader() -> None:
            for line in sys.stdin:
                loop.call_soon_threadsafe(feed, line.rstrip("\n"))
            loop.call_soon_threadsafe(feed, None)

        threading.Thread(target=reader, name="console-stdin", daemon=True).start()

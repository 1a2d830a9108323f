"""Process the inbox with a file-size limit (``RLIMIT_FSIZE``): the disk is "full" for
any file over ``limit`` bytes (test helper for ``test_inbox_disk_full``)."""

from __future__ import annotations

import asyncio
import resource
import signal
import sys

from bot.app.frontend import wired
from bot.process.settings import load_settings
from bot.services import build_services
from db.connection import close_database, open_database
from handlers.email import EmailFrontEnd


async def main(limit: int) -> None:
    settings = load_settings()
    await open_database(settings.effective_database_url)
    try:
        services = build_services(settings)
        wired(services, EmailFrontEnd(services))  # the email processor, as `atiende run`
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write over the limit: EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        try:
            await services.inbox.drain(rounds=3)
        except Exception as exc:  # the database itself could not write: still kept
            print(f"drain failed: {type(exc).__name__}: {exc}", flush=True)
    finally:
        await close_database()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))

"""``atiende run`` with a deterministic SIGKILL at one point of the inbox (test helper).

``python -m tests.reliability.inbox_child after-commit``: the process dies right after a
webhook's inbox row committed (for a text, stored and processed in one commit), before
the HTTP 200 leaves. ``after-ack``: it dies when the worker is about to process a stored
item, after the 200 went out (media: stored first, processed after). ``mid-processing``:
it dies while a text is being processed, its intake's writes made but not committed.
Everything else is the real ``atiende run`` (same settings from the environment).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from typing import Any

from bot.incoming import inbox_store
from bot.incoming.inbox import InboxWorker
from bot.incoming.inbox_items import InboxEntry
from bot.process.settings import load_settings


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(mode: str) -> None:
    if mode == "after-commit":
        accept = InboxWorker.accept

        async def accept_then_die(self: InboxWorker, *args: Any, **kwargs: Any) -> Any:
            accepted = await accept(self, *args, **kwargs)
            if accepted.new:
                _die()
            return accepted

        InboxWorker.accept = accept_then_die  # type: ignore[method-assign]
    elif mode == "after-ack":
        async def die_before_processing(self: InboxWorker, *args: Any, **kwargs: Any) -> int:
            await asyncio.sleep(0.5)  # the 200 has left (written before the worker ran)
            _die()
            return 0

        InboxWorker._process_entry = die_before_processing  # type: ignore[method-assign]
    elif mode == "mid-processing":
        store_processed = inbox_store.store_processed

        async def die_before_commit(item: Any, processor: Any, *args: Any) -> Any:
            async def then_die(entry: InboxEntry) -> int | None:
                await processor(entry)  # the message and its ticket written, not committed
                _die()
                return None

            return await store_processed(item, then_die, *args)

        inbox_store.store_processed = die_before_commit  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    _arm(sys.argv[1])
    from bot.app.event_loop import run as run_on
    from bot.app.run import run

    settings = load_settings()
    run_on(run(settings), settings.event_loop)

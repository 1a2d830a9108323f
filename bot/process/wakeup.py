"""The background workers' nap: sleep until woken, stopped, or the idle tick.

The inbox and outbox workers each do a pass, then wait for whichever comes first: a
``wake()`` after a commit (work is ready now), the process stopping, or ``idle_seconds``
(work another process stored, a retry come due). One helper, so both wait the same way
and never leave a pending waiter behind.
"""

from __future__ import annotations

import asyncio


async def sleep_until_woken(wake: asyncio.Event, stop: asyncio.Event,
                            idle_seconds: float) -> bool:
    """Wait for ``wake``, ``stop`` or the timeout; True when ``wake`` was set."""
    waiter = asyncio.ensure_future(wake.wait())
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({waiter, stopper}, timeout=idle_seconds,
                           return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()
        stopper.cancel()
    return wake.is_set()

"""Which asyncio event loop every ``atiende`` command runs on.

uvloop (libuv, in C) by default where it is installed: every database statement on
SQLite is a hop to aiosqlite's thread and back, every webhook a few loop turns, and
the standard loop spends most of a WhatsApp message's CPU scheduling those hops
(bench/README.md, §2h). ``ATIENDE_EVENT_LOOP=asyncio`` keeps the standard loop (for
a debugger or a platform without uvloop); the test suite runs on the same choice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal, TypeVar

log = logging.getLogger(__name__)

LoopName = Literal["uvloop", "asyncio"]
T = TypeVar("T")


def loop_factory(name: LoopName) -> Callable[[], asyncio.AbstractEventLoop]:
    """The factory of the loop called ``name``; the standard loop when uvloop is asked
    for but not installed (Windows has no uvloop), said once in the log."""
    if name == "uvloop":
        try:
            import uvloop
        except ImportError:
            log.warning("ATIENDE_EVENT_LOOP=uvloop but uvloop is not installed: "
                        "the standard asyncio loop runs instead")
        else:
            return uvloop.new_event_loop
    return asyncio.new_event_loop


def run(main: Coroutine[Any, Any, T], name: LoopName) -> T:
    """``asyncio.run`` on the chosen loop."""
    with asyncio.Runner(loop_factory=loop_factory(name)) as runner:
        return runner.run(main)

"""Savepoints that an optimistic batch can do without.

A unit of work runs in a transaction of its own, or, inside a caller's transaction, in a
savepoint: a failure rolls back its writes alone, and the caller goes on. Each savepoint
is two more round trips (``SAVEPOINT``, ``RELEASE``), on SQLite two hops to the
aiosqlite thread. A caller that stores many items in one transaction and, should any of
them fail, rolls the whole transaction back and stores each item again on its own (see
``bot/incoming/inbox_store.py``) needs none of them: inside ``optimistic()``,
``savepoint()`` opens nothing, and a failure that leaves one (even one its caller then
catches, such as a stale ticket tried again) marks the batch failed, so the caller
knows to roll back and redo, whatever was caught in between.

Only the task that opened the batch runs without savepoints: a task it starts (whose
context is a copy) gets real ones.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from tortoise.transactions import in_transaction


class Optimistic:
    """One optimistic batch: ``failed`` is the first failure inside it, if any."""

    def __init__(self) -> None:
        self.task = asyncio.current_task()
        self.failed: BaseException | None = None


_BATCH: ContextVar[Optimistic | None] = ContextVar("optimistic_batch", default=None)


@asynccontextmanager
async def optimistic() -> AsyncIterator[Optimistic]:
    """Run the block without savepoints; the caller must hold a transaction, and roll it
    back when the batch ``failed``."""
    batch = Optimistic()
    token = _BATCH.set(batch)
    try:
        yield batch
    except BaseException as exc:
        batch.failed = batch.failed or exc
        raise
    finally:
        _BATCH.reset(token)


def savepoint() -> Any:
    """``in_transaction()`` (a transaction, or a savepoint when nested), or, inside this
    task's optimistic batch, nothing but a watch for failures."""
    batch = _BATCH.get()
    if batch is None or batch.task is not asyncio.current_task():
        return in_transaction()
    return _Watch(batch)


class _Watch:
    """Stands in for a savepoint: enters nothing, and a failure marks the batch."""

    def __init__(self, batch: Optimistic) -> None:
        self._batch = batch

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> bool:
        if exc is not None and self._batch.failed is None:
            self._batch.failed = exc
        return False

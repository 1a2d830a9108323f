"""Fresh PostgreSQL databases for every test, made ahead of time on a helper thread.

``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE`` each cost tens of milliseconds on
the server (a checkpoint, a directory copy or removal). Made one by one inside each test's
set-up and tear-down that is most of the PostgreSQL half's overhead; a helper thread with
its own event loop keeps a few copies ready and drops the used ones while tests run, so a
test usually takes a ready database at no cost.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .postgres import PostgresServer

_STOP = object()


class TemplateCopies:
    """Copies of ``template`` on ``server``: ``take()`` one, ``give_back()`` it to be dropped."""

    def __init__(self, server: PostgresServer, template: str, *, ahead: int = 2) -> None:
        self._server = server
        self._template = template
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._jobs: queue.Queue[object] = queue.Queue()
        self._ahead = ahead
        self._thread = threading.Thread(target=self._work, name="pg-template-copies",
                                        daemon=True)

    def start(self) -> TemplateCopies:
        for _ in range(self._ahead):
            self._jobs.put("create")
        self._thread.start()
        return self

    def take(self, timeout: float = 60.0) -> str:
        """A ready database's URL (blocking: call it through ``asyncio.to_thread``)."""
        self._jobs.put("create")  # replace the one taken
        got = self._ready.get(timeout=timeout)
        if isinstance(got, BaseException):
            raise RuntimeError(f"could not copy the template database: {got}") from got
        return got

    def give_back(self, url: str) -> None:
        """Drop ``url`` in the background (sessions left open are ended by force)."""
        self._jobs.put(url)

    def close(self) -> None:
        """Drop what is ready and what was given back; wait for the thread."""
        self._jobs.put(_STOP)
        self._thread.join(timeout=60)

    def _work(self) -> None:
        asyncio.run(self._loop())

    async def _loop(self) -> None:
        while True:
            job = await asyncio.to_thread(self._jobs.get)
            if job is _STOP:
                break
            try:
                if job == "create":
                    self._ready.put(await self._server.create_database(template=self._template))
                else:
                    await self._server.drop_database(str(job))
            except Exception as exc:  # handed to the test that waits, never swallowed
                if job == "create":
                    self._ready.put(exc)
        while not self._ready.empty():
            leftover = self._ready.get_nowait()
            if isinstance(leftover, str):
                await self._server.drop_database(leftover)

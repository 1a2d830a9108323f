"""Translating the next batches of an import in a helper process.

An import is one process busy on one core: per mail, parsing and writing its files is a
third of the work, the database work the rest. Translating a mail needs its bytes and a
few settings only (``Translator``), so a helper process does it for the batches ahead
while this process stores the current one: the two overlap on a machine with two cores.

The helper only ever returns what this process would have worked out itself. Whatever
it cannot translate, this process reads again and reports as ever; should the helper
die, the import goes on without it. It is forked (cheap, and it starts with everything
imported already) where the platform forks; elsewhere there is no helper.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, Iterator
from concurrent.futures import Future, ProcessPoolExecutor

from handlers.email.translate import MailIn, Translated, Translator

log = logging.getLogger(__name__)

# Batches handed to the helper ahead of the one being stored: enough to keep it busy,
# few enough that little is read ahead of a crash (the files stay where they are).
DEPTH = 2
ORPHAN_CHECK_SECONDS = 0.5

Batch = list[tuple[str, bytes]]  # (source, raw bytes)
Prepared = tuple[str, str, Translated] | None  # (inbox key, summary, translation)


def prepare(translator: Translator, raws: list[bytes]) -> list[Prepared]:
    """Runs in the helper: each mail read and translated, None for any it cannot."""
    out: list[Prepared] = []
    for raw in raws:
        try:
            mail = translator.read(raw)
            out.append((mail.key, mail.summary, translator.translate(raw, mail.head)))
        except Exception:  # this process reads it again, and reports why
            out.append(None)
    return out


def can_fork() -> bool:
    return sys.platform == "linux" and "fork" in multiprocessing.get_all_start_methods()


async def translated_ahead(translator: Translator, batches: Iterator[Batch]
                           ) -> AsyncGenerator[tuple[Batch, list[MailIn | None] | None], None]:
    """Each batch, with its mails as the helper read and translated them (None where it
    could not), or None for a batch this process must read itself: the first one (the
    helper is starting), and every one after the helper failed."""
    first = next(batches, None)
    if first is None:
        return
    pool: ProcessPoolExecutor | None = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork"), initializer=_helper_starts,
        initargs=(os.getpid(),))
    queue: deque[tuple[Batch, Future[list[Prepared]] | None]] = deque()

    def submit() -> None:
        batch = next(batches, None)
        if batch is not None:
            queue.append((batch, None if pool is None else
                          pool.submit(prepare, translator, [raw for _, raw in batch])))

    try:
        for _ in range(DEPTH):
            submit()
        yield first, None
        while queue:
            batch, future = queue.popleft()
            submit()
            prepared: list[Prepared] | None = None
            try:
                if future is not None:
                    prepared = await asyncio.wrap_future(future)
            except Exception as exc:  # the helper died: this process goes on alone
                log.warning("mail import: the helper process failed (%s); going on without it",
                            type(exc).__name__)
                if pool is not None:
                    pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                left = [(b, None) for b, _ in queue]
                queue.clear()
                queue.extend(left)
            yield batch, None if prepared is None else _mails(batch, prepared)
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _helper_starts(importer: int) -> None:
    """The helper is forked from a process running an event loop: it must not write to
    the loop's signal pipe, and Ctrl-C is for the importer, which stops the helper. An
    importer killed outright cannot stop it: the helper leaves when it is orphaned."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_leave_when_orphaned, args=(importer,), daemon=True).start()


def _leave_when_orphaned(importer: int) -> None:
    while os.getppid() == importer:
        time.sleep(ORPHAN_CHECK_SECONDS)
    signal.raise_signal(signal.SIGTERM)  # the default action: gone, nothing run on the way


def _mails(batch: Batch, prepared: list[Prepared]) -> list[MailIn | None]:
    return [None if p is None else MailIn(raw, None, p[0], p[1], p[2])
            for (_, raw), p in zip(batch, prepared, strict=True)]

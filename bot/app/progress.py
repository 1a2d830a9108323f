"""Progress of long commands: one helper, so every long command looks the same.

On a terminal a bar with count, rate and time left (``tqdm``); when standard error is
not a terminal (CI, a pipe, a log collector) a plain line every few seconds, because a
redrawn bar would fill a log with carriage returns; nothing with ``--quiet``. The
command prints its own one-line summary afterwards. While a bar is drawn, log lines
meant for the terminal are written above it instead of through it.

Usage, in a command::

    with progress("Importando correos", total=len(items), unit="correos",
                  quiet=args.quiet) as bar:
        for item in items:
            ...
            bar.advance()

or, around any iterable: ``for row in track(rows, "Exportando", total=len(rows))``.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from contextlib import ExitStack, contextmanager
from typing import Any, TextIO, TypeVar

T = TypeVar("T")

LINE_SECONDS = 5.0  # how often a plain line is written when not on a terminal


class Progress:
    """What a long loop reports: ``advance()`` per item done; ``total`` may be learnt late."""

    def __init__(self, label: str, total: int | None, *, stream: TextIO, mode: str,
                 unit: str, interval: float, clock: Callable[[], float]) -> None:
        self.label, self.unit, self.mode = label, unit, mode
        self.done = 0
        self._total = total
        self._stream, self._interval, self._clock = stream, interval, clock
        self._started = self._last_line = clock()
        self._bar: Any = None  # tqdm has no type hints
        if mode == "bar":
            from tqdm import tqdm

            # a terminal that reports no size (some ptys: 0x0) would hide the bar
            size: dict[str, Any] = ({"dynamic_ncols": True} if _width(stream)
                                    else {"ncols": 80, "nrows": 24})
            self._bar = tqdm(total=total, desc=label, unit=f" {unit}", file=stream,
                             leave=False, mininterval=0.2, **size)

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, value: int | None) -> None:
        self._total = value
        if self._bar is not None:
            self._bar.total = value
            self._bar.refresh()

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "lines" and self._clock() - self._last_line >= self._interval:
            self._last_line = self._clock()
            self._stream.write(self.line() + "\n")
            self._stream.flush()

    def line(self) -> str:
        """``Importando correos: 500/2000 (25 %), 41,3 correos/s, quedan ~36 s``."""
        elapsed = max(self._clock() - self._started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done}"
        if self._total:
            text += f"/{self._total} ({self.done * 100 // self._total} %)"
        text += f", {rate:.1f} {self.unit}/s".replace(".", ",", 1)
        if self._total and rate > 0:
            text += f", quedan ~{_duration(max(self._total - self.done, 0) / rate)}"
        return text

    def close(self) -> None:
        if self._bar is not None:
            self._bar.refresh()  # the final count, even if the last updates were throttled
            self._bar.close()
            self._bar = None


@contextmanager
def progress(label: str, total: int | None = None, *, unit: str = "elementos",
             quiet: bool = False, stream: TextIO | None = None,
             interval: float = LINE_SECONDS,
             clock: Callable[[], float] = time.monotonic) -> Iterator[Progress]:
    """A progress display for one long piece of work, on standard error by default."""
    out = stream if stream is not None else sys.stderr
    mode = "off" if quiet else ("bar" if _is_terminal(out) else "lines")
    bar = Progress(label, total, stream=out, mode=mode, unit=unit, interval=interval,
                   clock=clock)
    with ExitStack() as stack:
        if mode == "bar":
            stack.enter_context(_logs_above_bar(out))
        try:
            yield bar
        finally:
            bar.close()


def track(items: Iterable[T], label: str, total: int | None = None, *,
          unit: str = "elementos", quiet: bool = False, stream: TextIO | None = None,
          interval: float = LINE_SECONDS,
          clock: Callable[[], float] = time.monotonic) -> Iterator[T]:
    """``items`` one by one, advancing a ``progress`` display (same options)."""
    if total is None and isinstance(items, Sized):
        total = len(items)
    with progress(label, total, unit=unit, quiet=quiet, stream=stream, interval=interval,
                  clock=clock) as bar:
        for item in items:
            yield item
            bar.advance()


class _AboveBar:
    """A stream for a terminal log handler: each line is written above the bar."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        from tqdm import tqdm

        tqdm.write(text.rstrip("\n"), file=self.stream)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


@contextmanager
def _logs_above_bar(out: TextIO) -> Iterator[None]:
    """Terminal log handlers (not the log file) write through ``tqdm.write`` meanwhile."""
    swapped: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in logging.getLogger().handlers:
        if (isinstance(handler, logging.StreamHandler)
                and not isinstance(handler, logging.FileHandler)
                and handler.stream in (out, sys.stderr, sys.stdout)):
            swapped.append((handler, handler.setStream(_AboveBar(handler.stream))))
    try:
        yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or stream-like object
        return False


def _width(stream: TextIO) -> int:
    try:
        return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
        return 0


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"

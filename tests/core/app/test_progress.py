"""The progress helper of long commands: a bar on a terminal, plain lines in a pipe,
nothing with --quiet, and terminal log lines written above the bar."""

from __future__ import annotations

import io
import logging

from bot.app import logs
from bot.app.progress import progress, track


class FakeTerminal(io.StringIO):
    """What tqdm sees as a terminal: ``isatty()`` is true."""

    def isatty(self) -> bool:
        return True


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_a_bar_with_count_rate_and_time_left() -> None:
    out = FakeTerminal()
    with progress("Importando correos", unit="correos", stream=out) as bar:
        bar.total = 40  # learnt once the messages are listed
        for _ in range(40):
            bar.advance()
    text = out.getvalue()
    assert bar.mode == "bar"
    assert "Importando correos" in text and "40/40" in text
    assert "correos/s" in text and "<" in text  # rate, and elapsed<left
    assert "\r" in text  # redrawn in place


def test_in_a_pipe_a_plain_line_every_few_seconds() -> None:
    out, clock = io.StringIO(), Ticks()
    with progress("Exportando tickets", 100, unit="tickets", stream=out, interval=5.0,
                  clock=clock) as bar:
        for _ in range(100):
            clock.now += 0.2  # 50 items per 10 s: one line every 25 items
            bar.advance()
    lines = out.getvalue().splitlines()
    assert bar.mode == "lines" and "\r" not in out.getvalue()
    assert len(lines) == 4, lines
    assert lines[0] == "Exportando tickets: 25/100 (25 %), 5,0 tickets/s, quedan ~15 s"
    assert lines[-1].startswith("Exportando tickets: 100/100 (100 %)")


def test_quiet_shows_nothing_and_track_still_yields_everything() -> None:
    out = FakeTerminal()
    assert list(track(range(7), "Copiando", quiet=True, stream=out)) == list(range(7))
    assert out.getvalue() == ""
    seen = list(track(["a", "b"], "Copiando", stream=out))
    assert seen == ["a", "b"] and "2/2" in out.getvalue()  # the length is the total


def test_terminal_log_lines_go_above_the_bar_and_info_only_to_the_file(tmp_path,
                                                                      monkeypatch) -> None:
    out = FakeTerminal()
    monkeypatch.setattr("sys.stderr", out)
    log_file = logs.configure("INFO", "text", log_file=tmp_path / "atiende.log")
    log = logging.getLogger("bot.test_progress")
    try:
        with progress("Importando correos", 3, unit="correos") as bar:
            log.info("ticket opened ticket=#1")
            log.warning("a mail without a date")
            bar.advance(3)
    finally:
        logging.getLogger().handlers.clear()
    assert log_file is not None
    written = log_file.read_text(encoding="utf-8")
    assert "ticket opened ticket=#1" in written and "a mail without a date" in written
    terminal = out.getvalue()
    assert "ticket opened" not in terminal  # INFO only in the file
    # the warning is one short line, on a line of its own (the bar cleared first)
    assert "\nWARNING bot.test_progress: a mail without a date\n" in terminal.replace("\r", "\n")

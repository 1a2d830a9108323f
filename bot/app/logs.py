"""Logging: one line per event, readable on a terminal, or JSON lines by setting.

Services log ticket number, who and what, never a customer's full message at INFO.

Two set-ups. The service (``atiende run`` with a chat configured) logs to standard
error, where a supervisor collects it. Everything a person runs in a terminal (the
console, long commands) logs to ``atiende.log`` in the data directory, rotated, so log
lines never interleave with the conversation or a progress bar; only warnings and errors
(or, with ``--verbose``, every line) also appear on the terminal, one short line each.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_FILE = "atiende.log"
LOG_FILE_BYTES = 5 * 1024 * 1024
LOG_FILE_BACKUPS = 3
TERMINAL_LINE = 300  # characters of one brief terminal line
FILE_ONLY = "file_only"  # ``extra={FILE_ONLY: True}``: to the log file, not the terminal


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


class BriefFormatter(logging.Formatter):
    """One short line for the terminal; the traceback stays in the log file."""

    def format(self, record: logging.LogRecord) -> str:
        text = f"{record.levelname} {record.name}: {record.getMessage()}"
        first = text.splitlines()[0] if text else text
        return first if len(first) <= TERMINAL_LINE else first[:TERMINAL_LINE - 1] + "…"


def _not_file_only(record: logging.LogRecord) -> bool:
    return not getattr(record, FILE_ONLY, False)


def _formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s",
                             "%Y-%m-%d %H:%M:%S")


def configure(level: str | int = "INFO", fmt: str = "text", *, log_file: Path | None = None,
              terminal_level: str | int = logging.WARNING) -> Path | None:
    """Install the handlers on the root logger (replacing any earlier ones).

    Without ``log_file`` every record at ``level`` goes to standard error in ``fmt``.
    With it, records go to that file (rotated) in ``fmt`` and those at
    ``terminal_level`` or above also to standard error, briefly. Returns the log file
    actually used (``None`` when it cannot be written: then standard error only).
    """
    file_level = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    handlers: list[logging.Handler] = []
    if log_file is not None:
        try:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            to_file = RotatingFileHandler(log_file, maxBytes=LOG_FILE_BYTES,
                                          backupCount=LOG_FILE_BACKUPS, encoding="utf-8",
                                          delay=True)
        except OSError:
            log_file = None
        else:
            to_file.setFormatter(_formatter(fmt))
            to_file.setLevel(file_level)
            terminal = logging.StreamHandler(sys.stderr)
            terminal.setFormatter(BriefFormatter())
            terminal.setLevel(terminal_level)
            terminal.addFilter(_not_file_only)
            handlers = [to_file, terminal]
    if log_file is None:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(_formatter(fmt))
        handlers = [stream]
    root = logging.getLogger()
    for old in root.handlers:
        old.close()
    root.handlers[:] = handlers
    root.setLevel(min(h.level or file_level for h in handlers))
    # Libraries' request-by-request chatter stays out of the event log.
    for noisy in ("httpx", "httpcore", "aiosqlite", "tortoise", "telegram.ext.Updater",
                  "apscheduler", "slack_bolt", "slack_sdk", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, file_level))
    return log_file

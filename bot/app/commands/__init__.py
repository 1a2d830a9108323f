"""Sub-commands of ``atiende`` that live beside their own area.

Each module in this package exposes ``register(sub) -> dict[str, Command]``: it adds its
parsers to the ``atiende`` sub-parser set and returns the coroutine for each top-level
name it added. ``bot.app.cli`` discovers the modules by name, so adding a command never edits
the central parser (and two areas never touch the same lines).

Every parser gets ``--quiet`` and ``--verbose`` (``args.quiet``, ``args.verbose``) and
the exit codes in its ``--help``. A command returns 0 when done and 1 when it failed
(raising ``DomainError`` prints its text and exits 1); ``UsageError`` exits 2. Long work
goes through ``bot.app.progress``; status lines through ``say`` (silent with ``--quiet``).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TextIO

from bot.process.errors import DomainError
from bot.process.settings import Settings

if TYPE_CHECKING:
    from bot.services import Services

Command = Callable[[argparse.Namespace, Settings], Coroutine[Any, Any, int]]

DONE, FAILED, USAGE, INTERRUPTED = 0, 1, 2, 130
EXIT_CODES = ("Códigos de salida: 0 hecho; 1 falló (el motivo, en una línea); "
              "2 uso o configuración incorrectos; 130 interrumpido.")


class UsageError(DomainError):
    """The command line names something wrong (a missing file, a missing option): exit 2."""


async def with_services(settings: Settings,
                        work: Callable[[Services], Awaitable[int]]) -> int:
    """Open the database, build the services, run ``work`` with them, close it."""
    from bot.services import build_services
    from db.connection import database

    async with database(settings.effective_database_url):
        return await work(build_services(settings))


def say(args: argparse.Namespace, text: str, *, file: TextIO | None = None) -> None:
    """A status or summary line for the person at the terminal, not data a script reads
    (those are printed as they are): silent with ``--quiet``. ``file=sys.stderr`` when
    standard output carries the data (``export`` to standard output)."""
    if not getattr(args, "quiet", False):
        print(text, file=file or sys.stdout, flush=True)


def register_all(sub: Any) -> dict[str, Command]:
    """Import every module of this package and let it add its sub-commands."""
    commands: dict[str, Command] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        commands.update(module.register(sub))
    return commands

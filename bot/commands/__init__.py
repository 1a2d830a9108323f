"""Sub-commands of ``atiende`` that live beside their own area.

Each module in this package exposes ``register(sub) -> dict[str, Command]``: it adds its
parsers to the ``atiende`` sub-parser set and returns the coroutine for each top-level
name it added. ``bot.cli`` discovers the modules by name, so adding a command never edits
the central parser (and two areas never touch the same lines).
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Awaitable, Callable
from typing import Any

from bot.settings import Settings

Command = Callable[[argparse.Namespace, Settings], Awaitable[int]]


def register_all(sub: Any) -> dict[str, Command]:
    """Import every module of this package and let it add its sub-commands."""
    commands: dict[str, Command] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        commands.update(module.register(sub))
    return commands

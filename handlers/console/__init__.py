"""The console front end: a terminal chat as the administrator."""

from handlers.console.console import Console, ConsoleSender

__all__ = ["Console", "ConsoleSender"]

"""The console front end: a terminal chat as the administrator."""

from handlers.console.console import Console, ConsoleSender
from handlers.console.frontend import ConsoleFrontEnd, printable_channels

__all__ = ["Console", "ConsoleFrontEnd", "ConsoleSender", "printable_channels"]

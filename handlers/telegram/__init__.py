"""The Telegram front end: the administrator (and linked agents) run the desk from a phone.

``build_front_end(services)`` returns the running bot for ``bot.app.run``; see ``app.py``.
"""

from handlers.telegram.app import TelegramFrontEnd, build_front_end

__all__ = ["TelegramFrontEnd", "build_front_end"]

"""Slack front end: the team works tickets in a channel (slack-bolt ``AsyncApp``).

``build_front_end(services)`` is what ``bot.app.run`` calls when ``ATIENDE_SLACK_BOT_TOKEN``
is set; it offers the Slack ``Notifier`` and the card poster (``offers``), which
``bot.app.frontend.connect`` wires.
"""

from __future__ import annotations

from bot.services import Services
from handlers.slack.app import SlackFrontEnd, build


def build_front_end(services: Services) -> SlackFrontEnd:
    return build(services, pace_seconds=services.settings.slack_post_interval_seconds)


__all__ = ["SlackFrontEnd", "build_front_end"]

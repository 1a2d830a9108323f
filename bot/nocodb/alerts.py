"""Telling the team about NocoDB: through the chat front ends' ``Notifier``s."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.people.team import TeamService
from bot.process.notify import Audience, Digest, Notifier

log = logging.getLogger(__name__)

Alert = Callable[[str, str], Awaitable[None]]


def team_alert(notifiers: Sequence[Notifier], team: TeamService) -> Alert:
    """An ``alert(title, text)`` that reaches the support channel and the administrator."""

    async def alert(title: str, text: str) -> None:
        admin = await team.admin()
        digests = [Digest(Audience.CHANNEL, None, title, summary=text)]
        if admin is not None:
            digests.append(Digest(Audience.ADMIN, admin, title, summary=text))
        reached = False
        for notifier in list(notifiers):
            for digest in digests:
                try:
                    if notifier.can_reach(digest):
                        await notifier.deliver(digest)
                        reached = True
                except Exception:  # one chat down must not hide the alert from the others
                    log.exception("nocodb alert failed notifier=%s", notifier.name)
        log.warning("nocodb alert (%s): %s: %s", "sent" if reached else "no chat", title, text)

    return alert

"""Telling the team that an inbound message is quarantined, with one tap to retry.

Apart from the inbox worker (``inbox.py``): the worker decides *that* an item is
quarantined; this says it to people, on the support channel (Slack) and to the
administrator (Telegram), through whichever front end can reach each audience.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.incoming.inbox_items import RETRY_ACTION, InboxEntry
from bot.process.notify import Audience, Digest, DigestAction, Notifier

log = logging.getLogger(__name__)


async def tell_team(notifiers: Sequence[Notifier], row: InboxEntry, error: str) -> None:
    """One notice per audience, by the first front end that reaches it; a failed notice
    is a warning (the item is kept and listed by ``atiende inbox`` either way)."""
    text = (f"Un mensaje entrante ({row.channel.label}) no se pudo procesar y "
            f"quedó en cuarentena (#{row.id}): {row.summary or row.key}. "
            f"Error: {error[:300]}")
    action = DigestAction("🔁 Reintentar", RETRY_ACTION, row.id)
    for audience in (Audience.CHANNEL, Audience.ADMIN):
        digest = Digest(audience, None, "Mensaje en cuarentena", summary=text,
                        actions=(action,))
        for notifier in notifiers:
            if not notifier.can_reach(digest):
                continue
            try:
                await notifier.deliver(digest)
            except Exception:
                log.warning("quarantine notice not delivered via %s", notifier.name,
                            exc_info=True)
            break

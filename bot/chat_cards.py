"""Where each ticket's card lives in each chat, so changes edit it in place.

Front ends (Telegram, Slack) record the message that shows a ticket's card, and look
it up to edit it or to post in its thread. Platform ids are kept as strings.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError

from bot.clock import Clock
from db.models import ChatCard


@dataclass(frozen=True)
class CardRef:
    platform: str
    ticket_number: int
    chat_id: str
    message_id: str
    thread_id: str | None = None


def _ref(row: ChatCard) -> CardRef:
    return CardRef(row.platform, row.ticket_id, row.chat_id, row.message_id,
                   row.thread_id)


class ChatCardStore:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def get(self, platform: str, ticket_number: int, chat_id: str) -> CardRef | None:
        row = await ChatCard.get_or_none(platform=platform, ticket_id=ticket_number,
                                         chat_id=str(chat_id))
        return _ref(row) if row else None

    async def for_ticket(self, platform: str, ticket_number: int) -> list[CardRef]:
        rows = await ChatCard.filter(platform=platform, ticket_id=ticket_number).order_by("id")
        return [_ref(r) for r in rows]

    async def by_message(self, platform: str, chat_id: str, message_id: str) -> CardRef | None:
        """Which ticket a chat message (or a thread root) shows: for replies to a card."""
        row = await ChatCard.get_or_none(platform=platform, chat_id=str(chat_id),
                                         message_id=str(message_id))
        if row is None:
            row = await ChatCard.get_or_none(platform=platform, chat_id=str(chat_id),
                                             thread_id=str(message_id))
        return _ref(row) if row else None

    async def save(self, ref: CardRef) -> CardRef:
        """Insert or move the card (a re-posted card replaces the old reference)."""
        row = await ChatCard.get_or_none(platform=ref.platform, ticket_id=ref.ticket_number,
                                         chat_id=str(ref.chat_id))
        if row is None:
            try:
                row = await ChatCard.create(platform=ref.platform, ticket_id=ref.ticket_number,
                                            chat_id=str(ref.chat_id),
                                            message_id=str(ref.message_id),
                                            thread_id=ref.thread_id, created_at=self._clock.now())
                return _ref(row)
            except IntegrityError:
                row = await ChatCard.get(platform=ref.platform, ticket_id=ref.ticket_number,
                                         chat_id=str(ref.chat_id))
        row.message_id = str(ref.message_id)
        row.thread_id = ref.thread_id
        await row.save(update_fields=["message_id", "thread_id"])
        return _ref(row)

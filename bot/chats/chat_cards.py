"""Where each ticket's card lives in each chat, so changes edit it in place.

Front ends (Telegram, Slack) record the message that shows a ticket's card, and look
it up to edit it or to post in its thread. Platform ids are kept as strings.

A redraw needs the ticket's cards and the customer's latest words (what a card quotes);
``for_redraw`` reads both in one statement, written once per SQL dialect: every button
press ends in a redraw, and two Tortoise queries cost it about twice as much.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise import connections
from tortoise.exceptions import IntegrityError

from bot.process.clock import Clock
from bot.process.domain import InteractionKind
from db.models import ChatCard


@dataclass(frozen=True)
class CardRef:
    platform: str
    ticket_number: int
    chat_id: str
    message_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class RedrawNeeds:
    """What redrawing a ticket's cards reads: where they are and what they quote."""

    refs: list[CardRef]
    words: str | None  # the customer's latest non-empty message (None: none yet)


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

    async def for_redraw(self, platform: str, ticket_number: int) -> RedrawNeeds:
        """``for_ticket`` plus the customer's latest words, in one statement."""
        db = connections.get("default")
        sql = _REDRAW_SQL[db.capabilities.dialect]
        _, rows = await db.execute_query(sql, [ticket_number, InteractionKind.INBOUND.value,
                                               False, platform, ticket_number])
        words = rows[0]["words"] if rows else None
        refs = [CardRef(platform, ticket_number, row["chat_id"], row["message_id"],
                        row["thread_id"]) for row in rows if row["chat_id"] is not None]
        return RedrawNeeds(refs, words)

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


# One row per card, each with the customer's latest non-empty inbound words (the same
# rule as ``TicketQueries.last_customer_message``); one row of NULL cards when the ticket
# has none, so the words come back either way.
_REDRAW = """
SELECT card.chat_id AS chat_id, card.message_id AS message_id, card.thread_id AS thread_id,
       (SELECT said.body FROM interacciones said
         WHERE said.ticket_id = {0} AND said.kind = {1} AND said.automatic = {2}
           AND said.body <> ''
         ORDER BY said.id DESC LIMIT 1) AS words
FROM (SELECT 1 AS one) anchor
LEFT JOIN chat_cards card ON card.platform = {3} AND card.ticket_id = {4}
ORDER BY card.id
"""
_REDRAW_SQL = {"sqlite": _REDRAW.format(*["?"] * 5),
               "postgres": _REDRAW.format(*(f"${i}" for i in range(1, 6)))}

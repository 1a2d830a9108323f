"""The user side of Telegram: Update dicts as the Bot API delivers them.

Feed them to ``FakeTelegram.feed_update`` (polling) or to
``Application.process_update(Update.de_json(data, app.bot))``. They carry the fields
python-telegram-bot 22 requires (``from.is_bot``, ``chat.type``, ``chat_instance``,
``bot_command`` entities), because PTB silently drops an update it cannot parse
and polling then stalls on it.
"""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

#: The bot the fakes impersonate unless told otherwise (id = the token's number).
DEFAULT_TOKEN = "123456789:AAtest-token-for-atiende"
BOT_ID = 123456789
BOT_USERNAME = "atiende_test_bot"

_update_ids = itertools.count(100_000)
_message_ids = itertools.count(500_000)
_callback_ids = itertools.count(1)
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,32}(@[A-Za-z0-9_]{5,32})?")


def next_update_id() -> int:
    """A fresh, increasing update_id (process-wide, so offsets keep working)."""
    return next(_update_ids)


def bot_user(bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> dict[str, Any]:
    """The ``User`` object of the bot itself."""
    return {"id": bot_id, "is_bot": True, "first_name": "Atiende Test", "username": username}


def user_object(user_id: int, first_name: str | None = None) -> dict[str, Any]:
    """A human ``User``; names derive from the id so assertions can predict them."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name or f"User{user_id}",
        "username": f"user{user_id}",
        "language_code": "es",
    }


def chat_object(chat_id: int | str) -> dict[str, Any]:
    """A ``Chat`` whose type follows Telegram's id conventions: positive ids are
    private chats, ``-100…`` supergroups, other negatives groups, ``@name`` channels."""
    if isinstance(chat_id, str):
        name = chat_id.lstrip("@")
        return {"id": -1_009_000_000_000, "type": "channel", "title": name, "username": name}
    if chat_id > 0:
        return {
            "id": chat_id,
            "type": "private",
            "first_name": f"User{chat_id}",
            "username": f"user{chat_id}",
        }
    if str(chat_id).startswith("-100"):
        return {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
    return {"id": chat_id, "type": "group", "title": f"Group {chat_id}"}


def minimal_bot_message(chat_id: int | str, message_id: int) -> dict[str, Any]:
    """A bot message known only by its id (what a test has when it did not send it)."""
    return {
        "message_id": message_id,
        "from": bot_user(),
        "chat": chat_object(chat_id),
        "date": int(time.time()),
        "text": "…",
    }


def as_reply_target(message: dict[str, Any]) -> dict[str, Any]:
    """A message as embedded in ``reply_to_message`` (Telegram nests one level only)."""
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def command_entities(text: str | None) -> list[dict[str, Any]]:
    """``bot_command`` entity for a leading ``/command`` (what makes CommandHandler fire)."""
    match = _COMMAND.match(text or "")
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": match.end()}]


def make_message(
    user_id: int,
    chat_id: int | str,
    text: str | None,
    *,
    message_id: int | None = None,
    reply_to: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A ``Message`` sent by a user; ``fields`` adds/overrides keys (photo, caption...)."""
    message: dict[str, Any] = {
        "message_id": message_id if message_id is not None else next(_message_ids),
        "from": user_object(user_id),
        "chat": chat_object(chat_id),
        "date": int(time.time()),
    }
    if text is not None:
        message["text"] = text
        if entities := command_entities(text):
            message["entities"] = entities
    if reply_to is not None:
        message["reply_to_message"] = reply_to
    message.update(fields)
    return message


def make_message_update(
    user_id: int,
    chat_id: int | str,
    text: str | None,
    reply_to_message_id: int | None = None,
    *,
    message_id: int | None = None,
    update_id: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An Update with a user's message; ``reply_to_message_id`` makes it a reply to a
    (minimal) bot message with that id. ``FakeTelegram.feed_message`` fills the real one."""
    reply_to = None
    if reply_to_message_id is not None:
        reply_to = minimal_bot_message(chat_id, reply_to_message_id)
    message = make_message(
        user_id, chat_id, text, message_id=message_id, reply_to=reply_to, **fields
    )
    return {"update_id": update_id or next_update_id(), "message": message}


def make_callback_update(
    user_id: int,
    chat_id: int | str,
    message_id: int,
    data: str,
    *,
    message: dict[str, Any] | None = None,
    update_id: int | None = None,
) -> dict[str, Any]:
    """An Update for a press on an inline button of bot message ``message_id``.

    ``message`` is the full bot message (``FakeTelegram.feed_callback`` passes the one
    it sent); without it a minimal one is made. PTB needs a non-zero ``date`` there, or
    the message becomes an ``InaccessibleMessage``.
    """
    if message is None:
        message = minimal_bot_message(chat_id, message_id)
    query = {
        "id": str(next(_callback_ids)),
        "from": user_object(user_id),
        "chat_instance": f"ci{chat_id}",
        "data": data,
        "message": message,
    }
    return {"update_id": update_id or next_update_id(), "callback_query": query}

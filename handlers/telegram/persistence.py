"""python-telegram-bot's persistence, kept in our database (``services.kv``).

Conversation states (``/nuevo``, the text a button asked for) and ``user_data`` (the
answers gathered so far) survive a restart; so would PTB's callback-data cache if
``arbitrary_callback_data`` were turned on (our buttons carry their own data). Values
are stored as JSON: handlers keep ``user_data`` to plain str/int/None values.
"""

from __future__ import annotations

import json
from copy import deepcopy
from typing import Any

from telegram.ext import BasePersistence, PersistenceInput

from bot.storage.kv import KeyValueStore

NS = "telegram"
# PTB's own shapes (telegram.ext._utils.types is private, so spelled out here).
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]
ConversationKey = tuple[int | str, ...]
ConversationDict = dict[ConversationKey, object]


class KvPersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """A ``BasePersistence`` over the key-value store.

    ``user_data`` and conversation states are kept (bot and chat data are unused here);
    the application writes after every update (see ``app.DeskApplication``), so a write
    that would store what is stored already is skipped: a button tap that leaves
    ``user_data`` as it was costs no database write."""

    def __init__(self, kv: KeyValueStore, namespace: str = NS,
                 update_interval: float = 60) -> None:
        super().__init__(store_data=PersistenceInput(bot_data=False, chat_data=False,
                                                     user_data=True, callback_data=True),
                         update_interval=update_interval)
        self.kv = kv
        self.ns = namespace
        # what the store holds, as this process last read or wrote it (JSON text; None:
        # no row). This process is the only writer (see ``refresh_user_data``).
        self._stored: dict[tuple[str, str], str | None] = {}
        self._loaded: set[str] = set()  # namespaces read whole: a missing key has no row

    def _space(self, what: str) -> str:
        return f"{self.ns}.{what}"

    async def _load_ids(self, what: str) -> dict[int, dict[Any, Any]]:
        loaded = {int(k): v for k, v in (await self.kv.all(self._space(what))).items()}
        for key, value in loaded.items():
            self._stored[(what, str(key))] = json.dumps(value)
        self._loaded.add(what)
        return loaded

    # --- user, chat, bot data ------------------------------------------------------
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        return await self._load_ids("user_data")

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        return await self._load_ids("chat_data")

    async def get_bot_data(self) -> dict[Any, Any]:
        return dict(await self.kv.get(self._space("bot_data"), "bot_data", {}))

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        await self._put("user_data", str(user_id), data)

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        await self._put("chat_data", str(chat_id), data)

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        await self.kv.set(self._space("bot_data"), "bot_data", _json(data))

    async def _put(self, what: str, key: str, data: dict[Any, Any]) -> None:
        text = json.dumps(data) if data else None
        known = (what, key) in self._stored or what in self._loaded
        if known and self._stored.get((what, key)) == text:
            return  # unchanged since this process last read or wrote it
        if data:
            await self.kv.set(self._space(what), key, _json(data))
        else:
            await self.kv.delete(self._space(what), key)
        self._stored[(what, key)] = text

    async def drop_user_data(self, user_id: int) -> None:
        await self.kv.delete(self._space("user_data"), str(user_id))
        self._stored[("user_data", str(user_id))] = None

    async def drop_chat_data(self, chat_id: int) -> None:
        await self.kv.delete(self._space("chat_data"), str(chat_id))
        self._stored[("chat_data", str(chat_id))] = None

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Nothing to do: this process is the only writer."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Nothing to do: this process is the only writer."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Nothing to do: this process is the only writer."""

    # --- callback data and conversations -----------------------------------------
    async def get_callback_data(self) -> CDCData | None:
        stored = await self.kv.get(self._space("callback_data"), "cache")
        if not stored:
            return None
        buttons, queries = stored
        return [(key, stamp, dict(data)) for key, stamp, data in buttons], dict(queries)

    async def update_callback_data(self, data: CDCData) -> None:
        await self.kv.set(self._space("callback_data"), "cache", _json(deepcopy(data)))

    async def get_conversations(self, name: str) -> ConversationDict:
        stored = await self.kv.all(self._space(f"conv.{name}"))
        return {tuple(json.loads(key)): value["state"] for key, value in stored.items()
                if isinstance(value, dict) and "state" in value}

    async def update_conversation(self, name: str, key: ConversationKey,
                                  new_state: object | None) -> None:
        space, k = self._space(f"conv.{name}"), json.dumps(list(key))
        if new_state is None:
            await self.kv.delete(space, k)
        else:
            await self.kv.set(space, k, {"state": _json(new_state)})

    async def flush(self) -> None:
        """Every write already went to the database."""


def _json(value: Any) -> Any:
    """A JSON-safe copy (tuples become lists; anything else odd fails loudly here)."""
    return json.loads(json.dumps(value))

"""The HTTP side of the bot: retries, rate limits, and updates PTB cannot parse.

- ``RetryingRequest`` retries a call that failed on the network (connection error,
  timeout, 5xx) with a short back-off; Telegram's 429 is handled by PTB's
  ``AIORateLimiter`` (``max_retries``), so nothing is lost to either.
- ``DeskBot.get_updates`` parses each update on its own: an update PTB cannot parse
  (old or odd payloads) becomes an empty ``Update`` with its ``update_id``, so polling
  confirms it and moves on instead of asking for it again forever.
- ``DeskBot.edit_text`` edits a message without reading it back: PTB's
  ``edit_message_text`` turns Telegram's answer into a ``Message`` with its keyboard,
  which every card redraw (each button press ends in one) would build and throw away.
- A malformed answer of the Bot API (not JSON, nested too deep, not an object, no list
  of updates) is a ``TelegramError``: polling logs one warning line and retries with its
  back-off, instead of PTB logging the whole body with a traceback, or stopping.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as dtm
import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import JSONDict, ODVInput
from telegram.error import NetworkError, TelegramError
from telegram.ext import ExtBot
from telegram.request import RequestData

from bot.process.settings import Settings
from handlers.telegram.wire import AiohttpRequest

log = logging.getLogger(__name__)

RETRY_DELAYS = (0.5, 1.0, 2.0)


class BotApiRequest(AiohttpRequest):
    """The Bot API's client (``wire.AiohttpRequest``) whose answer parsing fails with a one-line ``TelegramError``."""

    @staticmethod
    def parse_json_payload(payload: bytes) -> JSONDict:
        try:
            data = json.loads(payload.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            raise TelegramError(f"malformed Bot API response: {len(payload)} bytes that are "
                                "not JSON") from None
        if not isinstance(data, dict):
            raise TelegramError(f"malformed Bot API response: a JSON {type(data).__name__}, "
                                "not an object")
        return data


class RetryingRequest(BotApiRequest):
    """The Bot API's client that retries network failures (never a Bad Request)."""

    def __init__(self, *args: Any, delays: Sequence[float] = RETRY_DELAYS,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._delays = tuple(delays)

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = DEFAULT_NONE,
                         write_timeout: ODVInput[float] = DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = DEFAULT_NONE,
                         ) -> tuple[int, bytes]:
        """One Bot API call (a POST), sent again after a network failure or a 5xx answer;
        any other answer (a Bad Request, a 429 for the rate limiter) goes back as it is.
        (PTB's ``post`` is final, so the retry wraps the HTTP exchange underneath it.)"""
        for delay in (*self._delays, None):
            try:
                code, payload = await super().do_request(
                    url, method, request_data, read_timeout=read_timeout,
                    write_timeout=write_timeout, connect_timeout=connect_timeout,
                    pool_timeout=pool_timeout)
            except NetworkError as exc:  # TimedOut included
                if delay is None or method != "POST":
                    raise
                reason = str(exc)
            else:
                if code < HTTPStatus.INTERNAL_SERVER_ERROR or delay is None or method != "POST":
                    return code, payload
                reason = f"HTTP {code}"
            log.warning("telegram: %s failed (%s); retrying in %.1f s",
                        url.rsplit("/", 1)[-1], reason, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def parse_update(data: object, bot: ExtBot[Any]) -> Update | None:
    """An ``Update`` from raw JSON, never raising: what PTB cannot parse becomes an empty
    update (same ``update_id``) that no handler takes; None without an ``update_id``."""
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        log.warning("telegram: dropped an update without update_id: %.200r", data)
        return None
    try:
        return Update.de_json(data, bot)
    except Exception as exc:  # PTB raises TypeError/KeyError/ValueError on odd payloads
        error = exc
    try:  # payloads in the old documented format lack fields PTB requires
        update = Update.de_json(_repaired(copy.deepcopy(data)), bot)
        log.info("telegram: update %s parsed after filling in missing fields (%s)",
                 data["update_id"], error)
        return update
    except Exception:
        log.warning("telegram: update %s could not be parsed (%s: %s); skipped",
                    data["update_id"], type(error).__name__, error)
    update = Update(update_id=data["update_id"])
    update.set_bot(bot)
    return update


def _repaired(value: Any) -> Any:
    """Fill in what old payloads omit: ``is_bot`` of users, a chat's ``type``, a
    callback's ``chat_instance``, a file's ``file_unique_id``; a user wrongly carrying
    ``type`` loses it."""
    if isinstance(value, list):
        return [_repaired(v) for v in value]
    if not isinstance(value, dict):
        return value
    fixed = {k: _repaired(v) for k, v in value.items()}
    for key in ("from", "user", "forward_from", "new_chat_member", "left_chat_member"):
        person = fixed.get(key)
        if isinstance(person, dict) and "first_name" in person:
            person.setdefault("is_bot", False)
            person.pop("type", None)
    chat = fixed.get("chat")
    if isinstance(chat, dict) and "type" not in chat and isinstance(chat.get("id"), int):
        chat["type"] = "private" if chat["id"] > 0 else "group"
    if "data" in fixed and "from" in fixed and "id" in fixed:  # a callback query
        fixed.setdefault("chat_instance", "")
    if "file_id" in fixed:
        fixed.setdefault("file_unique_id", fixed["file_id"])
    return fixed


class DeskBot(ExtBot[int]):
    """``ExtBot`` whose polling survives updates the library cannot parse, and whose
    edits need not come back as messages."""

    async def edit_text(self, chat_id: int | str, message_id: int, text: str,
                        reply_markup: InlineKeyboardMarkup | dict[str, Any] | None = None,
                        ) -> None:
        """``edit_message_text`` with the same request (the defaults' parse mode and link
        previews, the rate limiter, the same errors), minus parsing the answer: callers
        only need to know it worked. ``reply_markup`` may be the keyboard as plain JSON data."""
        await self._post("editMessageText", {
            "chat_id": chat_id, "message_id": message_id, "text": text,
            "parse_mode": DEFAULT_NONE, "link_preview_options": DEFAULT_NONE,
            "reply_markup": reply_markup})

    async def get_updates(
        self,
        offset: int | None = None,
        limit: int | None = None,
        timeout: float | dtm.timedelta | None = None,  # noqa: ASYNC109 (PTB signature)
        allowed_updates: Sequence[str] | None = None,
        *,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
        api_kwargs: JSONDict | None = None,
    ) -> tuple[Update, ...]:
        wait = timeout.total_seconds() if isinstance(timeout, dtm.timedelta) else (timeout or 0)
        base = (self._request[0].read_timeout if isinstance(read_timeout, DefaultValue)
                else read_timeout) or 0
        data: JSONDict = {"timeout": int(wait), "offset": offset, "limit": limit,
                          "allowed_updates": allowed_updates}
        try:
            raw = await self._post("getUpdates", data, read_timeout=base + wait,
                                   write_timeout=write_timeout,
                                   connect_timeout=connect_timeout,
                                   pool_timeout=pool_timeout, api_kwargs=api_kwargs)
        except KeyError:  # {"ok": true} without "result"
            raise TelegramError("malformed getUpdates response: no result") from None
        if not isinstance(raw, list):
            raise TelegramError(f"malformed getUpdates response: result is a "
                                f"{type(raw).__name__}, not a list")
        usable = [item for item in raw if isinstance(item, dict)
                  and isinstance(item.get("update_id"), int)]
        if raw and not usable:  # nothing to confirm: let polling back off, not spin
            raise TelegramError(f"malformed getUpdates response: {len(raw)} item(s) "
                                "without update_id")
        if len(usable) < len(raw):
            log.warning("telegram: getUpdates returned %d item(s) without update_id; skipped",
                        len(raw) - len(usable))
        updates = []
        for item in usable:
            update = parse_update(item, self)
            if update is not None:
                self.insert_callback_data(update)
                updates.append(update)
        return tuple(updates)


def file_url(base_url: str) -> str:
    """The file-download URL of the same Bot API server: ``…/bot`` -> ``…/file/bot``."""
    head, sep, tail = base_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else base_url.rstrip("/") + "/file/bot"


async def bot_username(settings: Settings) -> str:
    """The bot's @username (``getMe``), for invite links printed by the command line."""
    base_url = settings.telegram_api_url or "https://api.telegram.org/bot"
    async with Bot(settings.telegram_token, base_url=base_url) as bot:
        return bot.username

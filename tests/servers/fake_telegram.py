"""A fake Telegram Bot API on 127.0.0.1, for python-telegram-bot over real HTTP.

Point PTB at it with ``Bot(fake.token, base_url=fake.base_url,
base_file_url=fake.base_file_url)`` or the same two calls on ``ApplicationBuilder``.
It answers with the Bot API's own result shapes, so PTB parses them into real
``Message`` objects, and it reproduces the errors our code must survive: 429 with
``retry_after`` (PTB raises ``RetryAfter``), 5xx (``NetworkError``), timeouts, "message
is not modified", HTML that does not parse, 409 for getUpdates while a webhook is set.

Unknown messages are accepted leniently (editing a message the fake never sent creates
it), so tests may start from ``make_callback_update`` alone.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterable
from typing import Any

from aiohttp import web

from . import telegram_limits as limits
from . import telegram_updates as tu
from ._httpfake import ApiError, Call, HttpFake, UploadedFile, read_params
from ._telegram_wire import decode_form, parse_html
from .telegram_files import FileStore

POLL_CAP_SECONDS = 1.0
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


class FakeTelegram(HttpFake):
    """Bot API fake: ``calls``/``wait_for`` to assert, ``feed_*`` to play the user."""

    def __init__(self, token: str = tu.DEFAULT_TOKEN, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token
        bot_id = token.split(":", 1)[0]
        self.bot = tu.bot_user(int(bot_id) if bot_id.isdigit() else tu.BOT_ID)
        #: sent (and fed) messages by (chat_id, message_id)
        self.messages: dict[tuple[int | str, int], dict[str, Any]] = {}
        self.files = FileStore()
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {}
        self.updates: list[dict[str, Any]] = []
        self._next_message_id: dict[int | str, int] = {}
        self._media_groups = 0
        self._poke = asyncio.Event()
        self._poll_generation = 0
        self.poll_conflicts = 0  # long polls ended by a concurrent getUpdates (409)

    @property
    def base_url(self) -> str:
        """For ``base_url(...)``: ``http://127.0.0.1:PORT/bot`` (PTB appends the token)."""
        return f"{self.root_url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``base_file_url(...)``: ``http://127.0.0.1:PORT/file/bot``."""
        return f"{self.root_url}/file/bot"

    def _routes(self) -> Iterable[web.RouteDef]:
        return [
            web.route("*", "/bot{token}/{method}", self._api),
            web.get("/file/bot{token}/{path:.+}", self._download),
        ]

    def _on_stop(self) -> None:
        self._poke.set()

    def _rate_key(self, method: str, params: dict[str, Any]) -> str | None:
        """Telegram limits sends per chat (about 1/s; 20/min in groups)."""
        if method.startswith(("send", "editMessage", "copyMessage", "forwardMessage")):
            return f"chat:{params.get('chat_id')}"
        return None

    # --- the user side -----------------------------------------------------------
    def feed_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (an ``update_id`` is added if missing)."""
        update.setdefault("update_id", tu.next_update_id())
        for kind in ("message", "edited_message"):
            if kind in update:
                msg = update[kind]
                self.messages[(msg["chat"]["id"], msg["message_id"])] = msg
        self.updates.append(update)
        self._poke.set()
        return update

    def feed_message(
        self,
        user_id: int,
        chat_id: int | str,
        text: str | None,
        reply_to_message_id: int | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Queue a user's message; ids follow this chat's sequence, replies embed the
        real replied-to message."""
        reply_to = None
        if reply_to_message_id is not None:
            known = self.messages.get((chat_id, reply_to_message_id))
            reply_to = (
                tu.as_reply_target(known)
                if known
                else tu.minimal_bot_message(chat_id, reply_to_message_id)
            )
        message = tu.make_message(
            user_id,
            chat_id,
            text,
            message_id=self.next_message_id(chat_id),
            reply_to=reply_to,
            **fields,
        )
        return self.feed_update({"message": message})

    def feed_callback(
        self, user_id: int, chat_id: int | str, message_id: int, data: str
    ) -> dict[str, Any]:
        """Queue a press on an inline button of a message the bot sent."""
        message = self.messages.get((chat_id, message_id))
        return self.feed_update(
            tu.make_callback_update(user_id, chat_id, message_id, data, message=message)
        )

    def next_message_id(self, chat_id: int | str) -> int:
        """Allocate the next message_id of a chat (ids are per chat, like Telegram)."""
        self._next_message_id[chat_id] = self._next_message_id.get(chat_id, 0) + 1
        return self._next_message_id[chat_id]

    def add_file(
        self, data: bytes, *, file_path: str | None = None, mime_type: str | None = None
    ) -> str:
        """Make a file downloadable through getFile; returns its file_id."""
        return self.files.add(data, file_path=file_path, mime_type=mime_type).file_id

    # --- HTTP --------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        raw, files = await read_params(request)
        params = raw if request.content_type == "application/json" else decode_form(raw)
        try:
            limits.check_keyboard(params.get("reply_markup"))
        except limits.Refused as refused:
            response = self._error_response(400, str(refused))
            return self._finish(Call(method, params, files, dict(request.headers)), response)
        if request.match_info["token"] != self.token:  # like Telegram: 401, PTB: InvalidToken
            response = self._error_response(401, "Unauthorized")
            return self._finish(Call(method, params, files, dict(request.headers)), response)
        handler = getattr(self, f"_m_{method}", None)

        async def run() -> web.StreamResponse:
            result = await handler(params, files) if handler else True
            return web.json_response({"ok": True, "result": result})

        return await self._serve(request, method, params, files, run)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        stored = self.files.by_path(path)
        if request.match_info["token"] != self.token or stored is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(body=stored.data, content_type="application/octet-stream")

    def _error_response(self, status: int, description: str, **extra: Any) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if extra:
            body["parameters"] = extra
        return web.json_response(body, status=status)

    def _fault_response(self, method: str, status: int, retry_after: int) -> web.Response:
        if status == 429:
            return self._error_response(
                429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
            )
        if status >= 500:
            return self._error_response(status, "Internal Server Error")
        return self._error_response(status, f"Bad Request: injected fault on {method}")

    # --- helpers -----------------------------------------------------------------
    @staticmethod
    def _need(params: dict[str, Any], *names: str) -> None:
        for name in names:
            if params.get(name) in (None, ""):
                raise ApiError(400, f"Bad Request: {name} is empty")

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        """Store and return a new bot message in ``params['chat_id']``."""
        self._need(params, "chat_id")
        chat_id = params["chat_id"]
        message: dict[str, Any] = {
            "message_id": self.next_message_id(chat_id),
            "from": self.bot,
            "chat": tu.chat_object(chat_id),
            "date": int(time.time()),
            **content,
        }
        reply = params.get("reply_parameters") or {}
        reply_id = reply.get("message_id") or params.get("reply_to_message_id")
        if reply_id and (chat_id, reply_id) in self.messages:
            message["reply_to_message"] = tu.as_reply_target(self.messages[(chat_id, reply_id)])
        if isinstance(params.get("message_thread_id"), int):
            message["message_thread_id"] = params["message_thread_id"]
        self._apply_markup(message, params)
        self.messages[(chat_id, message["message_id"])] = message
        return message

    @staticmethod
    def _apply_markup(message: dict[str, Any], params: dict[str, Any]) -> None:
        """Telegram echoes inline keyboards only; an edit without one removes it."""
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)

    @staticmethod
    def _text(params: dict[str, Any], key: str, limit: int) -> str:
        """The text Telegram stores; its limit applies after entities parsing."""
        text = str(params.get(key) or "")
        if params.get("parse_mode") == "HTML":
            try:
                text = parse_html(text)
            except ValueError as err:
                raise ApiError(400, f"Bad Request: can't parse entities: {err}") from None
        if limits.units(text) > limit:
            raise ApiError(
                400, f"Bad Request: message {'text' if key == 'text' else key} is too long"
            )
        return text

    def _edited(
        self, params: dict[str, Any], field: str | None, value: str | None
    ) -> dict[str, Any] | bool:
        """Apply an edit; like Telegram, refuse one that changes nothing."""
        if params.get("inline_message_id"):
            return True
        self._need(params, "chat_id", "message_id")
        key = (params["chat_id"], int(params["message_id"]))
        target = self.messages.get(key)
        known = target is not None
        if target is None:  # lenient: a message the fake never sent (see module doc)
            target = self.messages[key] = {
                "message_id": key[1],
                "from": self.bot,
                "chat": tu.chat_object(key[0]),
                "date": int(time.time()),
            }
        before = (target.get(field) if field else None, target.get("reply_markup"))
        if field is not None:
            target[field] = value
        self._apply_markup(target, params)
        after = (target.get(field) if field else None, target.get("reply_markup"))
        if known and after == before:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message "
                "content and reply markup are exactly the same as a current content "
                "and reply markup of the message",
            )
        target["edit_date"] = int(time.time())
        return target

    async def _send_media(
        self, params: dict[str, Any], files: dict[str, UploadedFile], kind: str
    ) -> dict[str, Any]:
        self._need(params, "chat_id")
        value = files.get(kind) or params.get(kind)
        if value in (None, ""):
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        stored = self.files.resolve(value, files, kind)
        self._check_file(stored.data, kind, fresh=_is_upload(value, stored.file_id))
        content: dict[str, Any] = {kind: stored.as_media(kind)}
        if params.get("caption"):
            content["caption"] = self._text(params, "caption", 1024)
        return self._message(params, **content)

    @staticmethod
    def _check_file(data: bytes, kind: str, *, fresh: bool) -> None:
        """An uploaded file as Telegram checks it (a file_id sent again was checked)."""
        if not fresh:
            return
        try:
            limits.check_photo(data) if kind == "photo" else limits.check_upload(data)
        except limits.Refused as refused:
            raise ApiError(400, str(refused)) from None

    # --- methods (``_m_<name>`` answers method <name>) ----------------------------
    async def _m_getMe(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        return {
            **self.bot,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _m_sendMessage(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self._need(p, "chat_id", "text")
        text = self._text(p, "text", 4096)
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        content: dict[str, Any] = {"text": text}
        if entities := tu.command_entities(text):
            content["entities"] = entities
        return self._message(p, **content)

    async def _m_editMessageText(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self._need(p, "text")
        return self._edited(p, "text", self._text(p, "text", 4096))

    async def _m_editMessageCaption(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        return self._edited(p, "caption", self._text(p, "caption", 1024))

    async def _m_editMessageReplyMarkup(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        return self._edited(p, None, None)

    async def _m_deleteMessage(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self._need(p, "chat_id", "message_id")
        self.messages.pop((p["chat_id"], int(p["message_id"])), None)
        return True

    async def _m_answerCallbackQuery(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self._need(p, "callback_query_id")
        if limits.units(str(p.get("text") or "")) > limits.ANSWER_TEXT_MAX:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        return True

    async def _m_sendChatAction(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self._need(p, "chat_id", "action")
        return True

    async def _m_sendPhoto(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        return await self._send_media(p, f, "photo")

    async def _m_sendDocument(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        return await self._send_media(p, f, "document")

    async def _m_sendMediaGroup(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self._need(p, "chat_id", "media")
        media = p["media"]
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise ApiError(400, "Bad Request: media group must contain 2-10 items")
        self._media_groups += 1
        group_id = f"{13_000_000 + self._media_groups}"
        sent = []
        for item in media:
            kind = "photo" if item.get("type") == "photo" else "document"
            stored = self.files.resolve(item.get("media"), f, kind)
            self._check_file(stored.data, kind, fresh=_is_upload(item.get("media"),
                                                                 stored.file_id))
            if item.get("caption"):
                self._text(item, "caption", limits.CAPTION_MAX)
            content = {kind: stored.as_media(kind), "media_group_id": group_id}
            if item.get("caption"):
                content["caption"] = item["caption"]
            sent.append(self._message({**p, "reply_markup": None}, **content))
        return sent

    async def _m_getFile(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        stored = self.files.get(str(p.get("file_id", "")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        return stored.as_file()

    async def _m_setMyCommands(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        commands = p.get("commands") or []
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command", ""))):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise ApiError(400, "Bad Request: command description is empty or too long")
        self.commands[self._commands_key(p)] = list(commands)
        return True

    async def _m_getMyCommands(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        return self.commands.get(self._commands_key(p), [])

    async def _m_deleteMyCommands(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self.commands.pop(self._commands_key(p), None)
        return True

    @staticmethod
    def _commands_key(p: dict[str, Any]) -> str:
        scope = p.get("scope") or {"type": "default"}
        return json.dumps([scope, p.get("language_code") or ""], sort_keys=True)

    async def _m_setWebhook(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        url = str(p.get("url") or "")
        if url and not url.startswith("https://"):
            raise ApiError(
                400, "Bad Request: bad webhook: An HTTPS URL must be provided for webhook"
            )
        self.webhook = {k: v for k, v in p.items() if k != "certificate"} if url else {}
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _m_deleteWebhook(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        self.webhook = {}
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def _m_getWebhookInfo(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        info = {
            "url": self.webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        for key in ("max_connections", "allowed_updates", "ip_address"):
            if key in self.webhook:
                info[key] = self.webhook[key]
        return info

    async def _m_getUpdates(self, p: dict[str, Any], f: dict[str, UploadedFile]) -> Any:
        if self.webhook.get("url"):
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active;"
                " use deleteWebhook to delete the webhook first",
            )
        offset, limit = int(p.get("offset") or 0), int(p.get("limit") or 100)
        if offset > 0:  # confirms (forgets) every update below offset
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        wait = min(float(p.get("timeout") or 0), POLL_CAP_SECONDS)
        deadline = time.monotonic() + wait
        # Like Telegram: a new getUpdates ends a long poll still waiting with 409 (two
        # bot instances polling one token fight like this); ``poll_conflicts`` counts it.
        self._poll_generation += 1
        mine = self._poll_generation
        self._poke.set()
        while not self.updates and not self._stopping.is_set():
            if mine != self._poll_generation:
                self.poll_conflicts += 1
                raise ApiError(409, "Conflict: terminated by other getUpdates request; make "
                                    "sure that only one bot instance is running")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._poke.clear()
            try:
                await asyncio.wait_for(self._poke.wait(), remaining)
            except TimeoutError:
                break
        pending = self.updates[offset:] if offset < 0 else self.updates
        return pending[:limit]


def _is_upload(value: Any, file_id: str) -> bool:
    """True for bytes sent now (a part or ``attach://``), not a file_id or URL resent."""
    return not (isinstance(value, str) and (value == file_id or value.startswith("http")))

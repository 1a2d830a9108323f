"""A fake Slack Web API on 127.0.0.1, for slack-sdk / slack-bolt over real HTTP.

``AsyncWebClient(token=fake.token, base_url=fake.api_url)``: ``api_url`` ends in
``/api/`` (slack-sdk joins method names onto it, so the slash matters). Answers are
Slack's shapes (``ok``/``error``, HTTP 200 even for API errors); the fake checks the
bot token (``not_authed``/``invalid_auth``) like Slack, and injected 429s carry a
``Retry-After`` header that slack-sdk's ``AsyncRateLimitErrorRetryHandler`` honours.

``files_upload_v2`` works end to end: getUploadURLExternal hands out an upload URL on
this server, the bytes POSTed there land in ``uploads``, completeUploadExternal shares.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import block_kit
from ._httpfake import ApiError, HttpFake, UploadedFile, read_params
from .fake_socket_mode import SocketMode

DEFAULT_TOKEN = "xoxb-0000-atiende-test"
TEAM_ID, BOT_USER_ID, BOT_ID = "T0ATIENDE", "U0ATBOT", "B0ATBOT"
TEAM_URL = "https://atiende-test.slack.com/"
#: form fields that carry JSON (slack-sdk sends these as JSON strings in forms)
JSON_FIELDS = frozenset({"blocks", "attachments", "view", "files", "metadata"})


@dataclass
class SlackFile:
    """A file uploaded through the files_upload_v2 steps."""

    id: str
    filename: str
    length: int
    data: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None


class FakeSlack(HttpFake):
    """Slack Web API fake; ``token=None`` accepts any bearer token."""

    def __init__(self, token: str | None = DEFAULT_TOKEN, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token = token or DEFAULT_TOKEN
        self._check_token = token is not None
        self.users: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        #: posted/updated messages by (channel, ts)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.reactions: set[tuple[str, str, str]] = set()
        self.uploads: dict[str, SlackFile] = {}
        #: Socket Mode: ``apps.connections.open`` with ``socket.app_token``, then WebSocket
        self.socket = SocketMode()
        self._seq = 0

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/`` for ``AsyncWebClient(base_url=...)``."""
        return f"{self.root_url}/api/"

    def _routes(self) -> Iterable[web.RouteDef]:
        return [
            web.route("*", "/api/{method}", self._api),
            web.post("/upload/{file_id}", self._upload),
            web.get("/link/", self.socket.handle),
        ]

    # --- configuration -------------------------------------------------------------
    def add_user(self, user_id: str, email: str, name: str, **profile: Any) -> dict[str, Any]:
        """Make ``users.info`` know a user (unknown ids answer ``user_not_found``)."""
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": name,
            "deleted": False,
            "is_bot": False,
            "is_admin": False,
            "tz": "America/Santiago",
            "profile": {"email": email, "real_name": name, "display_name": name, **profile},
        }
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, is_private: bool = False) -> None:
        """Make ``conversations.info`` know a channel (unknown: ``channel_not_found``)."""
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": not is_private,
            "is_group": is_private,
            "is_im": False,
            "is_private": is_private,
            "is_archived": False,
            "is_member": True,
            "created": int(time.time()),
        }

    # --- HTTP --------------------------------------------------------------------
    def _next(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:08d}"

    def _ts(self) -> str:
        self._seq += 1
        return f"{int(time.time())}.{self._seq:06d}"

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, files = await read_params(request)
        for key in JSON_FIELDS & params.keys():
            if isinstance(params[key], str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)

        async def run() -> web.StreamResponse:
            self._authorize(request, params)
            result = await handler(params) if handler else {}
            return web.json_response({"ok": True, **result})

        return await self._serve(request, method, params, files, run)

    def _rate_key(self, method: str, params: dict[str, Any]) -> str | None:
        """Slack limits chat.postMessage to about 1/s per channel."""
        if method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
            return f"channel:{params.get('channel')}"
        return None

    def _authorize(self, request: web.Request, params: dict[str, Any]) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.get("token")
        if not token:
            raise ApiError(200, "not_authed")
        if request.match_info.get("method") == "apps.connections.open":
            # the one method that takes the app-level token, and only that token
            if token != self.socket.app_token:
                raise ApiError(200, "invalid_auth" if token.startswith("xapp-")
                               else "not_allowed_token_type")
            return
        if self._check_token and token != self.token:
            raise ApiError(200, "invalid_auth")

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        """The upload URL of step 2 of files_upload_v2 (recorded as ``files.upload``)."""
        file_id = request.match_info["file_id"]
        data = await request.read()

        async def run() -> web.StreamResponse:
            if file_id not in self.uploads:
                return web.Response(status=404, text="Not Found")
            self.uploads[file_id].data = data
            return web.Response(text=f"OK - {len(data)}")

        files = {"file": UploadedFile(None, request.content_type, data)}
        return await self._serve(request, "files.upload", {"file_id": file_id}, files, run)

    def _error_response(self, status: int, description: str, **extra: Any) -> web.Response:
        return web.json_response({"ok": False, "error": description, **extra}, status=status)

    def _fault_response(self, method: str, status: int, retry_after: int) -> web.Response:
        if status == 429:
            response = self._error_response(429, "ratelimited")
            response.headers["Retry-After"] = str(retry_after)
            return response
        return self._error_response(status, "fatal_error" if status >= 500 else "invalid_request")

    # --- methods (``_m_<method with _>``) ------------------------------------------
    @staticmethod
    def _need(params: dict[str, Any], name: str, error: str) -> Any:
        if not params.get(name):
            raise ApiError(200, error)
        return params[name]

    async def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"url": self.socket.open_url(self.root_url)}

    async def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": TEAM_URL,
            "team": "Atiende Test",
            "user": "atiende",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, p: dict[str, Any], ts: str) -> dict[str, Any]:
        if not (p.get("text") or p.get("blocks") or p.get("attachments")):
            raise ApiError(200, "no_text")
        try:
            block_kit.check_message(p)
        except block_kit.Invalid as invalid:
            if invalid.messages == ["msg_too_long"]:
                raise ApiError(200, "msg_too_long") from None
            raise ApiError(200, "invalid_blocks", errors=invalid.messages) from None
        message = {
            "type": "message",
            "text": p.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "team": TEAM_ID,
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if p.get(key):
                message[key] = p[key]
        return message

    def _channel(self, p: dict[str, Any]) -> str:
        channel = str(self._need(p, "channel", "channel_not_found"))
        return "D" + channel[1:] if channel[:1] in "UW" else channel  # a DM to a user

    async def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(p), self._ts()
        message = self.messages[(channel, ts)] = self._message(p, ts)
        return {"channel": channel, "ts": ts, "message": message}

    async def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(p), str(self._need(p, "ts", "message_not_found"))
        message = self._message(p, ts)
        message["edited"] = {"user": BOT_USER_ID, "ts": self._ts()}
        self.messages[(channel, ts)] = message
        return {"channel": channel, "ts": ts, "text": message["text"], "message": message}

    async def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self._channel(p)
        self._need(p, "user", "user_not_in_channel")
        self._message(p, "0")
        return {"message_ts": self._ts()}

    async def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel, ts = self._channel(p), str(self._need(p, "message_ts", "message_not_found"))
        link = f"{TEAM_URL}archives/{channel}/p{ts.replace('.', '')}"
        return {"channel": channel, "permalink": link}

    async def _m_reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        key = (
            self._channel(p),
            str(self._need(p, "timestamp", "no_item_specified")),
            str(self._need(p, "name", "invalid_name")),
        )
        if key in self.reactions:
            raise ApiError(200, "already_reacted")
        self.reactions.add(key)
        return {}

    async def _m_users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(p.get("user", "")))
        if user is None:
            raise ApiError(200, "user_not_found")
        return {"user": user}

    async def _m_conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(p.get("channel", "")))
        if channel is None:
            raise ApiError(200, "channel_not_found")
        return {"channel": channel}

    def _view(self, p: dict[str, Any], view_id: str, **extra: Any) -> dict[str, Any]:
        view = self._need(p, "view", "invalid_arguments")
        if not isinstance(view, dict) or "type" not in view:
            raise ApiError(200, "invalid_arguments")
        try:
            block_kit.check_view(view)
        except block_kit.Invalid as invalid:
            raise ApiError(200, "invalid_arguments",
                           response_metadata={"messages": invalid.messages}) from None
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "app_id": "A0ATIENDE",
            "bot_id": BOT_ID,
            "state": {"values": {}},
            "hash": self._next("h"),
            "private_metadata": "",
            "callback_id": "",
            "root_view_id": view_id,
            "previous_view_id": None,
            "external_id": "",
            **view,
            **extra,
        }
        self.views[view_id] = stored
        return {"view": stored}

    async def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "trigger_id", "invalid_trigger_id")
        return self._view(p, self._next("V"))

    async def _m_views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        self._need(p, "trigger_id", "invalid_trigger_id")
        return self._view(p, self._next("V"))

    async def _m_views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id") or next(
            (
                v["id"]
                for v in self.views.values()
                if p.get("external_id") and v.get("external_id") == p.get("external_id")
            ),
            None,
        )
        if not view_id:
            raise ApiError(200, "not_found")
        return self._view(p, str(view_id))

    async def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = str(self._need(p, "user_id", "invalid_arguments"))
        return self._view(p, f"VH{user_id}")

    async def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        filename = str(self._need(p, "filename", "invalid_arguments"))
        length = int(p.get("length") or 0)
        if length < 1:  # the upload's size in bytes: "must be greater than or equal to 1"
            raise ApiError(200, "invalid_arguments", response_metadata={"messages": [
                "[ERROR] must be greater than or equal to 1 [json-pointer:/length]"]})
        file_id = self._next("F")
        self.uploads[file_id] = SlackFile(file_id, filename, length)
        return {"upload_url": f"{self.root_url}/upload/{file_id}", "file_id": file_id}

    def _file_object(self, f: SlackFile) -> dict[str, Any]:
        return {
            "id": f.id,
            "created": int(time.time()),
            "name": f.filename,
            "title": f.title or f.filename,
            "mimetype": "application/octet-stream",
            "filetype": f.filename.rsplit(".", 1)[-1],
            "user": BOT_USER_ID,
            "size": len(f.data or b""),
            "url_private": f"{self.root_url}/files/{f.id}",
            "permalink": f"{TEAM_URL}files/{BOT_USER_ID}/{f.id}/{f.filename}",
        }

    async def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = self._need(p, "files", "invalid_arguments")
        done = []
        for entry in entries:
            upload = self.uploads.get(str(entry.get("id")))
            if upload is None or upload.data is None:
                raise ApiError(200, "file_not_found")
            upload.title = entry.get("title")
            upload.channel_id = p.get("channel_id") or p.get("channels")
            upload.initial_comment = p.get("initial_comment")
            upload.thread_ts = p.get("thread_ts")
            done.append(self._file_object(upload))
        return {"files": done}

    async def _m_files_info(self, p: dict[str, Any]) -> dict[str, Any]:
        upload = self.uploads.get(str(p.get("file", "")))
        if upload is None:
            raise ApiError(200, "file_not_found")
        return {"file": self._file_object(upload)}

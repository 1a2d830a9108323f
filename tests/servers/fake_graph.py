"""A fake WhatsApp Cloud API (Meta Graph) on 127.0.0.1, for our thin httpx client.

Serves ``POST /{version}/{phone_number_id}/messages`` (text, template, interactive,
media; mark-as-read), ``POST /{version}/{phone_number_id}/media`` (upload),
``GET /{version}/{media_id}`` (media URL lookup) and ``GET /media/{id}`` (the bytes).
Every route wants ``Authorization: Bearer <access_token>``, like Graph. Errors use
Graph's ``{"error": {"message", "type", "code", "fbtrace_id"}}`` shape.

Recorded method names: ``messages``, ``media.upload``, ``media.info``, ``media.download``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import graph_limits
from ._httpfake import ApiError, HttpFake, UploadedFile, read_params

DEFAULT_ACCESS_TOKEN = "EAAtest-atiende-access-token"
DEFAULT_PHONE_NUMBER_ID = "100000000000001"
GRAPH_VERSION = "v21.0"
MESSAGE_TYPES = frozenset(
    {
        "text",
        "template",
        "interactive",
        "image",
        "document",
        "audio",
        "video",
        "sticker",
        "location",
        "contacts",
        "reaction",
    }
)
MEDIA_TYPES = frozenset({"image", "document", "audio", "video", "sticker"})


def sign_whatsapp(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` header Meta puts on webhook POSTs: ``sha256=<hex>``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass
class Media:
    """Media the fake can describe and serve."""

    media_id: str
    data: bytes
    mime_type: str

    def info(self, url: str) -> dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "url": url,
            "mime_type": self.mime_type,
            "sha256": hashlib.sha256(self.data).hexdigest(),
            "file_size": len(self.data),
            "id": self.media_id,
        }


class FakeGraph(HttpFake):
    """WhatsApp Cloud API fake: one business phone number, one access token."""

    def __init__(
        self,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        phone_number_id: str = DEFAULT_PHONE_NUMBER_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.media: dict[str, Media] = {}
        #: accepted outgoing messages: wamid -> request body
        self.sent: dict[str, dict[str, Any]] = {}
        self.read_receipts: list[str] = []
        #: customers whose 24-hour customer-service window is closed (see close_window)
        self.closed_windows: set[str] = set()
        self._seq = 0

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/v21.0`` (append ``/{phone_number_id}/messages``)."""
        return f"{self.root_url}/{GRAPH_VERSION}"

    @property
    def messages_url(self) -> str:
        return f"{self.api_url}/{self.phone_number_id}/messages"

    def add_media(self, media_id: str, data: bytes, mime_type: str) -> Media:
        """Make ``GET /{version}/{media_id}`` and its download URL serve ``data``."""
        self.media[media_id] = Media(media_id, data, mime_type)
        return self.media[media_id]

    def close_window(self, wa_id: str) -> None:
        """The customer last wrote over 24 hours ago: from now on only a template reaches
        them (anything else is refused with #131047, as Graph does)."""
        self.closed_windows.add(wa_id.lstrip("+"))

    def _routes(self) -> Iterable[web.RouteDef]:
        # /media/{id} first: it would also match /{version}/{media_id}
        return [
            web.get("/media/{media_id}", self._download),
            web.post("/{version}/{node}/messages", self._messages),
            web.post("/{version}/{node}/media", self._upload),
            web.get("/{version}/{media_id}", self._media_info),
        ]

    # --- errors ------------------------------------------------------------------
    def _error_response(self, status: int, description: str, **extra: Any) -> web.Response:
        self._seq += 1
        error = {
            "message": description,
            "type": "OAuthException",
            "code": extra.pop("code", 100),
            "fbtrace_id": f"AtestTrace{self._seq:06d}",
            **extra,
        }
        return web.json_response({"error": error}, status=status)

    def _fault_response(self, method: str, status: int, retry_after: int) -> web.Response:
        if status == 429:  # Cloud API throughput limit; Retry-After is a courtesy of the fake
            response = self._error_response(429, "(#130429) Rate limit hit", code=130429)
            response.headers["Retry-After"] = str(retry_after)
            return response
        if status >= 500:
            return self._error_response(status, "(#131000) Something went wrong", code=131000)
        return self._error_response(status, "(#100) Invalid parameter")

    def _rate_key(self, method: str, params: dict[str, Any]) -> str | None:
        """Cloud API limits messages per business number (80/s by default); use
        ``rate_limit = (80, 1.0)``."""
        return self.phone_number_id if method == "messages" else None

    def _authorize(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bearer {self.access_token}":
            raise ApiError(401, "Invalid OAuth access token - Cannot parse access token", code=190)

    def _check_node(self, request: web.Request) -> None:
        if request.match_info["node"] != self.phone_number_id:
            raise ApiError(
                400,
                f"Unsupported post request. Object with ID "
                f"'{request.match_info['node']}' does not exist",
                code=100,
                error_subcode=33,
            )

    # --- routes ------------------------------------------------------------------
    async def _messages(self, request: web.Request) -> web.StreamResponse:
        params, files = await read_params(request)

        async def run() -> web.StreamResponse:
            self._authorize(request)
            self._check_node(request)
            return web.json_response(self._send(params))

        return await self._serve(request, "messages", params, files, run)

    def _send(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("messaging_product") != "whatsapp":
            raise ApiError(400, "(#100) The parameter messaging_product is required.")
        if body.get("status") == "read":
            self.read_receipts.append(str(body.get("message_id")))
            return {"success": True}
        to, kind = str(body.get("to") or ""), body.get("type", "text")
        if not to.lstrip("+").isdigit():
            raise ApiError(
                400,
                "(#100) Invalid parameter",
                error_data={"messaging_product": "whatsapp", "details": "Invalid 'to' parameter"},
            )
        if kind not in MESSAGE_TYPES:
            raise ApiError(400, f"(#100) Param type must be one of {sorted(MESSAGE_TYPES)}")
        self._check_payload(kind, body.get(kind))
        try:
            graph_limits.check(kind, body[kind])
        except graph_limits.Refused as refused:
            raise ApiError(400, str(refused), code=refused.code) from None
        if kind != "template" and to.lstrip("+") in self.closed_windows:
            raise ApiError(400, "(#131047) Re-engagement message: more than 24 hours have "
                                "passed since the recipient last replied", code=131047)
        self._seq += 1
        wamid = f"wamid.HBgLNTY5{self._seq:010d}FQIAERgSQUTIENDE"
        self.sent[wamid] = body
        message: dict[str, Any] = {"id": wamid}
        if kind == "template":
            message["message_status"] = "accepted"
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": to.lstrip("+")}],
            "messages": [message],
        }

    def _check_payload(self, kind: str, payload: Any) -> None:
        """The required parts Graph checks first (a 400 #100 names what is missing)."""
        missing = None
        if not isinstance(payload, dict):
            missing = kind
        elif kind == "text" and not payload.get("body"):
            missing = "text['body']"
        elif kind == "template" and not (
            payload.get("name") and (payload.get("language") or {}).get("code")
        ):
            missing = "template['name'] and template['language']['code']"
        elif kind == "interactive" and not (payload.get("type") and payload.get("action")):
            missing = "interactive['type'] and interactive['action']"
        elif kind in MEDIA_TYPES and not (payload.get("id") or payload.get("link")):
            missing = f"{kind}['id'] or {kind}['link']"
        if missing:
            raise ApiError(400, f"(#100) The parameter {missing} is required.")

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        params, files = await read_params(request)

        async def run() -> web.StreamResponse:
            self._authorize(request)
            self._check_node(request)
            upload: UploadedFile | None = files.get("file")
            if upload is None or params.get("messaging_product") != "whatsapp":
                raise ApiError(400, "(#100) The parameter file is required.")
            self._seq += 1
            media_id = f"{900_000_000_000 + self._seq}"
            self.add_media(
                media_id,
                upload.data,
                str(params.get("type") or upload.content_type or "application/octet-stream"),
            )
            return web.json_response({"id": media_id})

        return await self._serve(request, "media.upload", params, files, run)

    async def _media_info(self, request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]

        async def run() -> web.StreamResponse:
            self._authorize(request)
            media = self.media.get(media_id)
            if media is None:
                raise ApiError(
                    400,
                    f"Unsupported get request. Object with ID '{media_id}' does not exist",
                    code=100,
                    error_subcode=33,
                )
            return web.json_response(media.info(f"{self.root_url}/media/{media_id}"))

        return await self._serve(request, "media.info", {"media_id": media_id}, {}, run)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]

        async def run() -> web.StreamResponse:
            self._authorize(request)
            media = self.media.get(media_id)
            if media is None:
                return web.Response(status=404, text="Not Found")
            return web.Response(body=media.data, content_type=media.mime_type)

        return await self._serve(request, "media.download", {"media_id": media_id}, {}, run)

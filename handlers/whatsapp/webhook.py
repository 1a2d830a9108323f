"""``/webhooks/whatsapp``: Meta's verification handshake (GET) and notifications (POST).

The POST checks the signature header and the body's size before parsing anything;
a bad request gets a clear 4xx and stores nothing. A verified payload is handled before
the 200 goes back, so a crash never loses a message Meta thinks we have (it redelivers
on anything but 2xx, and the wamid makes a redelivery harmless).
"""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from .inbound import WhatsAppInbound
from .signature import HEADER, is_valid

log = logging.getLogger(__name__)

PATH = "/webhooks/whatsapp"
# Meta's notifications are a few KB (batched ones stay far below this).
MAX_BODY_BYTES = 1024 * 1024


class _TooLarge(Exception):
    pass


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_capped(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks: list[bytes] = []
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


class WhatsAppWebhook:
    """The two endpoints; ``routes()`` hands them to the shared web server."""

    def __init__(self, inbound: WhatsAppInbound, app_secret: str, verify_token: str) -> None:
        self._inbound = inbound
        self._secret = app_secret
        self._verify_token = verify_token

    def routes(self) -> list[Route]:
        return [Route(PATH, self.verify, methods=["GET"]),
                Route(PATH, self.receive, methods=["POST"])]

    async def verify(self, request: Request) -> Response:
        """Meta's subscription handshake: echo ``hub.challenge`` for our verify token."""
        params = request.query_params
        token = params.get("hub.verify_token", "")
        good = bool(self._verify_token) and hmac.compare_digest(
            token.encode(), self._verify_token.encode())
        if params.get("hub.mode") != "subscribe" or not good:
            log.warning("whatsapp webhook verification refused")
            return PlainTextResponse("verification failed", status_code=403)
        return PlainTextResponse(params.get("hub.challenge", ""))

    async def receive(self, request: Request) -> Response:
        """A notification: verify, parse, hand over; 200 once it is stored."""
        signature = request.headers.get(HEADER)
        if not signature:
            log.warning("whatsapp webhook without signature refused")
            return _error(401, "missing signature")
        try:
            body = await _read_capped(request, MAX_BODY_BYTES)
        except _TooLarge:
            return _error(413, "payload too large")
        except ClientDisconnect:
            return _error(400, "incomplete body")
        if not is_valid(self._secret, body, signature):
            log.warning("whatsapp webhook with a bad signature refused")
            return _error(401, "bad signature")
        try:
            payload = json.loads(body)
        except (UnicodeDecodeError, ValueError):
            return _error(400, "body is not JSON")
        if not isinstance(payload, dict) or not isinstance(payload.get("entry", []), list):
            return _error(400, "unexpected payload shape")
        if payload.get("object") != "whatsapp_business_account":
            log.info("whatsapp webhook for object=%r ignored", payload.get("object"))
            return JSONResponse({"status": "ignored"})
        try:
            handled = await self._inbound.handle_payload(payload)
        except Exception:  # stored nothing more; Meta retries on 5xx, the wamid dedupes
            log.exception("whatsapp webhook could not be handled now; Meta will retry")
            return _error(503, "temporarily unavailable, retry later")
        return JSONResponse({"status": "ok", "handled": handled})

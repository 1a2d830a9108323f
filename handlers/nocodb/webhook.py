"""``POST /webhooks/nocodb``: NocoDB's record webhooks (edits made in the base).

Checked by the secret header ``X-Atiende-Secret`` (set by ``atiende nocodb setup``) and
a capped body before anything is parsed; the edits are applied before the 200, so a
crash makes NocoDB's retry (or the reconciliation) bring them again, harmlessly.
"""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.nocodb.pull import Puller
from bot.nocodb.schema import SECRET_HEADER

log = logging.getLogger(__name__)

PATH = "/webhooks/nocodb"
MAX_BODY_BYTES = 2 * 1024 * 1024


class NocoWebhook:
    def __init__(self, puller: Puller, secret: str) -> None:
        self._puller = puller
        self._secret = secret

    @property
    def has_secret(self) -> bool:
        return bool(self._secret)

    def routes(self) -> list[Route]:
        return [Route(PATH, self.receive, methods=["POST"])]

    async def receive(self, request: Request) -> JSONResponse:
        """Verify the secret, read at most MAX_BODY_BYTES, hand the rows to the puller."""
        given = request.headers.get(SECRET_HEADER, "")
        if not self._secret or not hmac.compare_digest(given.encode(), self._secret.encode()):
            log.warning("nocodb webhook refused: bad or missing secret")
            return JSONResponse({"error": "forbidden"}, status_code=401)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            return JSONResponse({"error": "too large"}, status_code=413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY_BYTES:
                return JSONResponse({"error": "too large"}, status_code=413)
        try:
            payload = json.loads(body or b"{}")
        except (ValueError, UnicodeDecodeError):
            return JSONResponse({"error": "bad json"}, status_code=400)
        if not isinstance(payload, dict):
            return JSONResponse({"error": "bad payload"}, status_code=400)
        handled = await self._puller.receive(payload)
        return JSONResponse({"ok": True, "handled": handled})

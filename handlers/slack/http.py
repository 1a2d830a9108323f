"""HTTP mode: ``POST /slack/events`` on the shared web server, through bolt's handler.

Everything bolt would do with a stranger's bytes is done here first, cheaply and in
this order, so a hostile request costs a bounded read and one log line:

1. the body is capped (``MAX_BODY_BYTES``; Slack's payloads are a few KB) before it is
   read: a Content-Length over it is refused unread, a chunked body is counted (413);
2. the signature is checked on the raw bytes (HMAC-SHA256 of ``v0:<ts>:<body>``, the
   timestamp within 5 minutes): slack-sdk's verifier decodes the body first and raises
   on bytes that are not UTF-8, and bolt logs the whole rejected body at INFO (401);
3. the body is parsed, and a field bolt indexes into unguarded must have the right type;
   anything unreadable, JSON nested too deeply included, is the sender's fault (400).

Only then does bolt see the request (it verifies the signature again, at no risk).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections.abc import Callable

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.request.internals import parse_body
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from handlers.web import BodyRejected, read_body, rejected

log = logging.getLogger(__name__)

PATH = "/slack/events"
MAX_BODY_BYTES = 1024 * 1024
MAX_AGE_SECONDS = 5 * 60


def signature_ok(secret: str, body: bytes, timestamp: str | None, signature: str | None,
                 now: float) -> bool:
    """Slack's request signature, on the bytes as they came (never decoded first)."""
    if not secret or not timestamp or not signature or not timestamp.isdigit() \
            or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return False
    digest = hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                      hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace"))


def routes(handler: AsyncSlackRequestHandler, signing_secret: str,
           now: Callable[[], float] = time.time) -> list[BaseRoute]:
    async def slack_events(request: Request) -> Response:
        """Every Slack request (events, commands, interactivity) arrives here."""
        try:
            body = await read_body(request, MAX_BODY_BYTES)
        except BodyRejected as exc:
            return rejected(request, exc.status, f"slack: {exc.reason}", log)
        headers = request.headers
        if not signature_ok(signing_secret, body, headers.get("x-slack-request-timestamp"),
                            headers.get("x-slack-signature"), now()):
            return rejected(request, 401, "slack: bad or missing signature", log)
        try:
            parsed = parse_body(body.decode("utf-8"), headers.get("content-type"))
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
            _check_shape(parsed)
        except RecursionError:
            return rejected(request, 400, "slack: JSON nested too deeply", log)
        except (UnicodeDecodeError, ValueError) as exc:
            return rejected(request, 400, f"slack: unreadable body ({exc})"[:200], log)
        return await handler.handle(request)  # bolt reads the body kept by read_body

    return [Route(PATH, slack_events, methods=["POST"])]


# Fields bolt indexes into before any listener runs: a wrong type there is a 500 in bolt.
_SHAPES: dict[str, type] = {"event": dict, "actions": list, "view": dict, "user": dict,
                            "team": dict, "channel": dict, "container": dict}


def _check_shape(parsed: dict[str, object]) -> None:
    """Raise ValueError when a field bolt relies on has the wrong type."""
    for key, kind in _SHAPES.items():
        if key in parsed and parsed[key] is not None and not isinstance(parsed[key], kind):
            raise ValueError(f"field {key!r} is not a {kind.__name__}")
    for key in ("event", "view"):  # bolt's matchers read their "type" unguarded
        value = parsed.get(key)
        if isinstance(value, dict) and not isinstance(value.get("type"), str):
            raise ValueError(f"field {key!r} has no type")
    actions = parsed.get("actions")
    if isinstance(actions, list) and not all(isinstance(a, dict) for a in actions):
        raise ValueError("an action is not an object")

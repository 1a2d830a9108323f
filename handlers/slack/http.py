"""HTTP mode: ``POST /slack/events`` on the shared web server, through bolt's handler.

bolt verifies the signature (401 for a bad one or a timestamp over 5 minutes old). Two
things it does not survive, both checked here first: a body that is not UTF-8 (bolt's
Starlette adapter decodes it and would raise: a 500) and a body it cannot parse. Both
are the sender's fault: 400.
"""

from __future__ import annotations

import logging

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.request.internals import parse_body
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

log = logging.getLogger(__name__)

PATH = "/slack/events"


def routes(handler: AsyncSlackRequestHandler) -> list[BaseRoute]:
    async def slack_events(request: Request) -> Response:
        """Every Slack request (events, commands, interactivity) arrives here."""
        body = await request.body()  # cached: bolt's handler reads it again
        try:
            parsed = parse_body(body.decode("utf-8"), request.headers.get("content-type"))
            if not isinstance(parsed, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError) as exc:
            log.info("slack request rejected: unreadable body (%s)", exc)
            return PlainTextResponse("bad request", status_code=400)
        return await handler.handle(request)

    return [Route(PATH, slack_events, methods=["POST"])]

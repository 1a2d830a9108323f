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
            _check_shape(parsed)
        except (UnicodeDecodeError, ValueError) as exc:
            log.info("slack request rejected: unreadable body (%s)", exc)
            return PlainTextResponse("bad request", status_code=400)
        return await handler.handle(request)

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

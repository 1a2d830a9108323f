"""Slack's Socket Mode, faked on the fake Web API's own server (127.0.0.1).

``apps.connections.open`` (called with the app-level ``xapp-`` token) hands out a
``ws://`` URL on this server; slack-sdk's real Socket Mode client connects to it, gets
``hello``, and then receives envelopes the test sends: slash commands, interactivity
(``block_actions``, ``view_submission``) and Events API callbacks. The client must
acknowledge each envelope by sending back ``{"envelope_id": ...}`` (plus an optional
``payload``, e.g. a modal's ``response_action``).

As Slack does (https://api.slack.com/apis/socket-mode): an envelope not acknowledged
when its connection drops is delivered again on the next connection, with
``retry_attempt`` counted up; a ``disconnect`` message (``refresh_requested``) asks the
client to open a new connection, after which the old one is closed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_TOKEN = "xapp-1-A0ATIENDE-0000-atiende-test"
APP_ID = "A0ATIENDE"
#: the three envelope types Slack sends, and whether each may carry a response payload
ENVELOPE_TYPES = {"slash_commands": True, "interactive": True, "events_api": False}


@dataclass
class Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    retry_attempt: int = 0
    #: the client's acknowledgement (``{"envelope_id", "payload"?}``) once it came
    ack: dict[str, Any] | None = None
    acked: asyncio.Event = field(default_factory=asyncio.Event)

    def wire(self) -> str:
        return json.dumps({
            "envelope_id": self.envelope_id, "type": self.type, "payload": self.payload,
            "accepts_response_payload": ENVELOPE_TYPES[self.type],
            "retry_attempt": self.retry_attempt,
            "retry_reason": "timeout" if self.retry_attempt else "",
        })


class SocketMode:
    """The WebSocket side; ``FakeSlack.socket`` is one of these."""

    def __init__(self, app_token: str = APP_TOKEN) -> None:
        self.app_token = app_token
        self.connections: list[web.WebSocketResponse] = []
        self.opened = 0  # apps.connections.open calls answered
        self.envelopes: dict[str, Envelope] = {}
        self.unknown_acks: list[dict[str, Any]] = []
        self._connected = asyncio.Event()
        self._tickets: set[str] = set()

    # --- the Web API method ------------------------------------------------------
    def open_url(self, root_url: str) -> str:
        """A one-time ``ws://`` URL on the fake's server (``wss://`` at Slack)."""
        ticket = uuid.uuid4().hex
        self._tickets.add(ticket)
        self.opened += 1
        return f"{root_url.replace('http://', 'ws://')}/link/?ticket={ticket}"

    # --- the WebSocket endpoint ----------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self._tickets:
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(request.query["ticket"])  # a URL is good for one connection
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        await ws.send_str(json.dumps({
            "type": "hello", "num_connections": len(self.live()),
            "debug_info": {"host": "fake-socket-mode", "approximate_connection_time": 18060},
            "connection_info": {"app_id": APP_ID}}))
        for envelope in self.envelopes.values():  # Slack redelivers what was not acked
            if envelope.ack is None:
                envelope.retry_attempt += 1
                await ws.send_str(envelope.wire())
        self._connected.set()
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._on_ack(json.loads(message.data))
        finally:
            if ws in self.connections:
                self.connections.remove(ws)
            if not self.live():
                self._connected.clear()
        return ws

    def _on_ack(self, data: dict[str, Any]) -> None:
        envelope = self.envelopes.get(data.get("envelope_id", ""))
        if envelope is None or envelope.ack is not None:
            self.unknown_acks.append(data)
            return
        envelope.ack = data
        envelope.acked.set()

    def live(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self.connections if not ws.closed]

    # --- what tests do ---------------------------------------------------------------
    async def wait_connected(self, within: float = 10.0) -> None:
        await asyncio.wait_for(self._connected.wait(), within)

    async def send(self, type_: str, payload: dict[str, Any], *,
                   wait_ack: bool = True, within: float = 10.0) -> Envelope:
        """Deliver one envelope on the newest live connection; by default wait for its ack."""
        if type_ not in ENVELOPE_TYPES:
            raise ValueError(f"unknown envelope type {type_}")
        envelope = Envelope(uuid.uuid4().hex, type_, payload)
        self.envelopes[envelope.envelope_id] = envelope
        live = self.live()
        if live:
            try:
                await live[-1].send_str(envelope.wire())
            except ConnectionResetError:
                pass  # the connection just died: the envelope waits for the next one
        if wait_ack:
            await asyncio.wait_for(envelope.acked.wait(), within)
        return envelope

    async def drop(self) -> None:
        """The network drops every connection (no close frame from Slack's side)."""
        self._connected.clear()
        for ws in self.live():
            transport = ws._req.transport if ws._req is not None else None  # noqa: SLF001
            if transport is not None:
                transport.abort()
            self.connections.remove(ws)
        await asyncio.sleep(0)

    async def request_refresh(self) -> None:
        """Send ``disconnect`` (``refresh_requested``): the client must reconnect."""
        self._connected.clear()
        old = self.live()
        for ws in old:
            await ws.send_str(json.dumps({"type": "disconnect", "reason": "refresh_requested",
                                          "debug_info": {"host": "fake-socket-mode"}}))
        # Slack closes the old connection a little later; by then the client has a new one.
        await self.wait_connected()
        for ws in old:
            await ws.close()

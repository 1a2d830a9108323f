"""What a stranger's request may cost the shared web server: bounded memory, time, log.

``BodyGuard`` wraps every route (a body over the cap is refused from its Content-Length,
or counted while it streams; a body that has not arrived in time is refused; JSON nested
too deep is a 400, not a traceback); ``HeadTimeoutH11`` closes a connection whose request
head does not arrive in time, so idle sockets cannot hold the connection limit. A route
with a tighter limit reads its body with ``read_body`` and parses it with ``parse_json``;
each refusal is one short log line without the body (``rejected``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("handlers.web")

# Any route: far above a WhatsApp batch; routes that expect less cap themselves lower.
MAX_BODY_BYTES = 4 * 1024 * 1024
# A body that has not fully arrived by then is refused (408): a slow sender holds no slot.
BODY_TIMEOUT_SECONDS = 20.0
# A connection whose request head (line and headers) has not arrived by then is closed.
HEAD_TIMEOUT_SECONDS = 10.0


class BodyRejected(Exception):
    """A request refused for its body: ``status`` (400, 408, 413) and a short reason."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_LOGGED = "atiende.refusal_logged"  # scope key: this request's refusal has its line


def rejected(request: Request | Scope, status: int, reason: str,
             logger: logging.Logger = log) -> JSONResponse:
    """The one log line of a refused request (never its body) and its answer; a route
    passes its own logger, so the line names the front end."""
    scope = request.scope if isinstance(request, Request) else request
    client = scope.get("client")
    # %r and a cap: a path is the sender's text (a decoded %0A must not start a line)
    logger.warning("http request refused: %s %.200r -> %d (%.200s) from %s",
                   scope.get("method"), scope.get("path"), status, reason,
                   client[0] if client else "?")
    scope[_LOGGED] = True
    return JSONResponse({"error": reason}, status_code=status)


def _declared_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    """Content-Length as sent; None when absent (chunked); BodyRejected when unusable."""
    for name, value in headers:
        if name.lower() == b"content-length":
            if not value.isdigit() or len(value) > 18:
                raise BodyRejected(400, "unreadable Content-Length")
            return int(value)
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing (413) before holding more than ``limit`` bytes: a
    Content-Length over it is refused unread, a chunked body is counted as it streams.
    The body is kept on the request, so a library reading it again gets it for free."""
    declared = _declared_length(request.scope.get("headers", ()))
    if declared is not None and declared > limit:
        raise BodyRejected(413, f"body of {declared} bytes, limit {limit}")
    chunks: list[bytes] = []
    total = 0
    try:
        async for chunk in request.stream():
            total += len(chunk)
            if total > limit:
                raise BodyRejected(413, f"body over the limit of {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise BodyRejected(400, "client left before the body ended") from None
    body = b"".join(chunks)
    request._body = body  # noqa: SLF001 (Starlette's cache: request.body() returns it)
    return body


def parse_json(body: bytes) -> Any:
    """JSON, or BodyRejected(400) for anything unparseable, too deeply nested included
    (the parser raises RecursionError there, which is no ValueError)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise BodyRejected(400, "JSON nested too deeply") from None
    except ValueError:  # UnicodeDecodeError included
        raise BodyRejected(400, "body is not JSON") from None


class BodyGuard:
    """ASGI middleware: every request body bounded in size (413) and in time (408); a
    route that fails on hostile nesting (RecursionError) answers 400, not a traceback.

    Refusals met while a route reads the body surface as ``BodyRejected`` from
    ``receive``; the route lets them through and this answers, once.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int = MAX_BODY_BYTES,
                 body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            declared = _declared_length(scope.get("headers", ()))
        except BodyRejected as exc:
            await rejected(scope, exc.status, exc.reason)(scope, receive, send)
            return
        if declared is not None and declared > self.max_body_bytes:
            await rejected(scope, 413, f"body of {declared} bytes, limit "
                                       f"{self.max_body_bytes}")(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        received = 0
        body_done = False
        started = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done
            if body_done:
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyRejected(408, f"body not received within "
                                        f"{self.body_timeout:g} s") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyRejected(413, f"body over the limit of "
                                            f"{self.max_body_bytes} bytes")
                body_done = not message.get("more_body", False)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                status = message.get("status")
                if status in (408, 413) and not scope.get(_LOGGED):  # a route's own cap
                    rejected(scope, status, "refused by the route")
            await send(message)

        try:
            await self.app(scope, guarded_receive, tracked_send)
        except BodyRejected as exc:
            if not started:
                await rejected(scope, exc.status, exc.reason)(scope, receive, send)
        except RecursionError:
            if not started:
                await rejected(scope, 400, "body nested too deeply")(scope, receive, send)


class HeadTimeoutH11(H11Protocol):
    """uvicorn's h11 protocol, closing a connection when no request head has arrived
    ``head_timeout`` seconds after it opened or after its last response: uvicorn's own
    keep-alive timer stops at the first byte, so a head sent byte by byte would
    otherwise hold a connection (and, with the connection limit, lock others out)."""

    head_timeout = HEAD_TIMEOUT_SECONDS

    @classmethod
    def after(cls, seconds: float) -> type[HeadTimeoutH11]:
        return type(cls.__name__, (cls,), {"head_timeout": seconds})

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio types the argument as a BaseTransport; a stream server passes a Transport
        super().connection_made(cast(asyncio.Transport, transport))
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._disarm_head_timer()
        waiting_for = self.cycle  # a new request replaces it

        def expire() -> None:
            idle = self.cycle is waiting_for and (self.cycle is None or
                                                  self.cycle.response_complete)
            if idle and not self.transport.is_closing():
                log.info("http connection closed: no request head within %g s from %s",
                         self.head_timeout, self.client[0] if self.client else "?")
                self.transport.close()

        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(
            self.head_timeout, expire)

    def _disarm_head_timer(self) -> None:
        timer = getattr(self, "_head_timer", None)
        if timer is not None:
            timer.cancel()
            self._head_timer = None

"""The one web server: Starlette routes of every front end, served by uvicorn.

Webhooks (WhatsApp, and Slack/Telegram in webhook mode) and ``/healthz`` share one
port (``ATIENDE_HTTP_HOST``/``ATIENDE_HTTP_PORT``). Front ends contribute routes through
an optional ``routes()`` method; when none does, there is no server and no port is
opened (the console-only mode).

The server runs as a task in the running loop, created after ``bot/app.py`` has opened
the database: Tortoise 1.x keeps its context in a contextvar, which a task copies when
it is created. uvicorn's own signal capture is switched off, because the composition
root owns SIGTERM/SIGINT and stops every front end, this one included.

Nothing a stranger sends may cost us more than a bounded amount of memory, time or log:
every route is wrapped in ``BodyGuard`` and uvicorn gets a connection limit and a head
timeout (``handlers/web_guard.py``, whose helpers routes use through this module).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from bot.frontend import Offers
from bot.services import Services
from handlers.web_guard import (
    BODY_TIMEOUT_SECONDS,
    HEAD_TIMEOUT_SECONDS,
    MAX_BODY_BYTES,
    BodyGuard,
    BodyRejected,
    HeadTimeoutH11,
    parse_json,
    read_body,
    rejected,
)

__all__ = ["MAX_BODY_BYTES", "BodyGuard", "BodyRejected", "WebServer", "build_app",
           "build_web_server", "parse_json", "read_body", "rejected"]

log = logging.getLogger(__name__)

STOP_TIMEOUT_SECONDS = 10.0
# Open connections beyond this are answered 503 by uvicorn at once.
MAX_CONNECTIONS = 200
KEEP_ALIVE_SECONDS = 5


class _EmbeddedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the composition root owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def health_route(services: Services) -> Route:
    """``GET /healthz``: 200 when the database answers (with the leases this instance
    holds), 503 otherwise."""

    async def healthz(request: Request) -> JSONResponse:
        try:
            await services.kv.get("web", "healthz")
        except Exception as exc:  # any failure means "not healthy", never a 500
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", **_leases(services)})

    return Route("/healthz", healthz, methods=["GET"])


def _leases(services: Services) -> dict[str, Any]:
    """Which once-only loops run here (issue 14): a load balancer may route on it, and
    an operator sees where Telegram polling or the IMAP reader went after a failover."""
    leases = services.leases
    return {"instance": leases.holder,
            "leases": [{"name": lease.name, "expires_at": lease.expires_at.isoformat()
                        if lease.expires_at else None} for lease in leases.held()]}


def build_app(routes: Sequence[BaseRoute], *, max_body_bytes: int = MAX_BODY_BYTES,
              body_timeout: float = BODY_TIMEOUT_SECONDS) -> Starlette:
    """The Starlette app; no lifespan (the ORM is opened by the composition root)."""
    guard = Middleware(BodyGuard, max_body_bytes=max_body_bytes,
                       body_timeout=body_timeout)
    return Starlette(routes=list(routes), middleware=[guard])


class WebServer:
    """A ``FrontEnd`` that serves the shared Starlette app on one port."""

    name = "web"
    offers = Offers()  # routes only: it serves the others'

    def __init__(self, app: Starlette, host: str, port: int, *,
                 max_connections: int = MAX_CONNECTIONS,
                 head_timeout: float = HEAD_TIMEOUT_SECONDS) -> None:
        self.app = app
        self._host = host
        self._port = port
        self._max_connections = max_connections
        self._head_timeout = head_timeout
        self._server: _EmbeddedServer | None = None
        self._task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0: a free one)."""
        if self._socket is None:
            raise RuntimeError("the web server is not started")
        return int(self._socket.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def _bind(self) -> socket.socket:
        """Bind ourselves, so port 0 works and a busy port fails loudly, naming itself."""
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only when the
        # protocol says TCP; without it every response waits ~40 ms for a delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self._host, self._port))
        except OSError as exc:
            sock.close()
            raise RuntimeError(f"ATIENDE_HTTP_HOST/ATIENDE_HTTP_PORT: cannot listen on "
                               f"{self._host}:{self._port}: {exc.strerror}") from None
        sock.listen(128)
        sock.setblocking(False)
        return sock

    async def start(self) -> None:
        if self._task is not None:
            return
        self._socket = self._bind()
        # log_config=None: uvicorn's few lines go through our handler and format.
        config = uvicorn.Config(self.app, lifespan="off", access_log=False, log_config=None,
                                log_level="warning", timeout_graceful_shutdown=5,
                                limit_concurrency=self._max_connections,
                                timeout_keep_alive=KEEP_ALIVE_SECONDS,
                                http=HeadTimeoutH11.after(self._head_timeout))
        self._server = _EmbeddedServer(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]),
                                         name="web-server")
        # Wait for uvicorn's start-up, or its failure (no fixed sleep: poll the flag).
        while not self._server.started:
            if self._task.done():
                self._task.result()  # re-raise why it could not start
                raise RuntimeError("the web server stopped during start-up")
            await asyncio.sleep(0.005)
        log.info("web server listening on %s", self.url)

    async def stop(self) -> None:
        server, task = self._server, self._task
        if server is None or task is None:
            return
        server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(task), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            server.force_exit = True
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        finally:
            if self._socket is not None:
                self._socket.close()
            self._server = self._task = None
        log.info("web server stopped")


def collect_routes(fronts: Iterable[Any]) -> list[BaseRoute]:
    """Every route the front ends offer; two front ends claiming one path is an error."""
    routes: list[BaseRoute] = []
    seen: dict[str, str] = {}
    for front in fronts:
        provider = getattr(front, "routes", None)
        if provider is None:
            continue
        for route in provider():
            path = getattr(route, "path", None)
            methods = tuple(sorted(getattr(route, "methods", None) or ()))
            key = f"{path} {methods}"
            if path is not None and key in seen:
                raise RuntimeError(f"route {path} offered by both {seen[key]} and "
                                   f"{getattr(front, 'name', front)}")
            if path is not None:
                seen[key] = str(getattr(front, "name", front))
            routes.append(route)
    return routes


def build_web_server(services: Services, fronts: Iterable[Any]) -> WebServer | None:
    """The shared server with ``/healthz`` and every front end's routes; None if no
    front end needs HTTP (so the console-only mode opens no port)."""
    routes = collect_routes(fronts)
    if not routes:
        return None
    app = build_app([health_route(services), *routes])
    return WebServer(app, services.settings.http_host, services.settings.http_port)

"""What the fake HTTP APIs share: an aiohttp server on 127.0.0.1, call recording,
waiting for calls, and fault injection.

The fakes run in the test's own event loop (no threads), so a test can ``await
fake.wait_for(...)`` and inspect ``fake.calls`` without locks. Each fake subclass
parses its platform's requests, answers with its platform's shapes and renders
faults the way that platform does (``_error_response``).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import socket
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any, Self

from aiohttp import web

from ._support import LOOPBACK

#: ``fail_next(method, status=TIMEOUT)``: hang past the client's timeout; the call has no effect.
TIMEOUT = "timeout"
#: ``fail_next(method, status=LATE)``: do the call, then hang: the client times out although
#: the call took effect (the case that makes naive retries send twice).
LATE = "late"
#: ``fail_next(ANY, ...)`` matches every method.
ANY = "*"

Fault = int | str
Handler = Callable[[], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class UploadedFile:
    """One file part of a multipart request (or a raw upload body)."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Call:
    """One request the fake received, faulted or not."""

    method: str
    params: dict[str, Any]
    files: dict[str, UploadedFile] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: the fault answered (429, 500, TIMEOUT, LATE; 429 also for ``rate_limit``), None if served
    fault: Fault | None = None
    #: HTTP status and decoded JSON body the fake answered with (None for raw bodies)
    status: int = 200
    response: Any = None
    at: float = field(default_factory=time.monotonic)


class ApiError(Exception):
    """Raised by a fake's handler to answer with the platform's error shape."""

    def __init__(self, status: int, description: str, **extra: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.extra = extra


@dataclass
class _Planned:
    method: str
    fault: Fault
    retry_after: int
    remaining: int


class HttpFake:
    """Base of the fake APIs: lifecycle, recording, waiting and faults."""

    def __init__(self, *, seed: int = 0, hang_seconds: float = 45.0) -> None:
        self.calls: list[Call] = []
        #: probability (0..1) that any call gets a random fault from ``fault_kinds``
        self.fault_rate = 0.0
        self.fault_kinds: tuple[Fault, ...] = (429, 500, TIMEOUT)
        #: restrict random faults to these methods (None: all)
        self.fault_methods: frozenset[str] | None = None
        #: Retry-After seconds used for random 429s
        self.random_retry_after = 1
        #: how long TIMEOUT / LATE faults hold a request: past any client timeout (slack-sdk's
        #: default is 30 s), so the client times out; stop() releases it at once
        self.hang_seconds = hang_seconds
        #: platform-like rate limit: at most N calls per window seconds per key (a chat, a
        #: channel, a recipient: see ``_rate_key``); beyond it a 429 with Retry-After
        self.rate_limit: tuple[int, float] | None = None
        self._windows: dict[str, deque[float]] = {}
        self._rng = random.Random(seed)
        self._planned: list[_Planned] = []
        self._recorded = asyncio.Event()
        self._stopping = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port = 0

    # --- lifecycle -----------------------------------------------------------------
    def _routes(self) -> Iterable[web.RouteDef]:
        raise NotImplementedError

    async def start(self) -> Self:
        """Bind a free port on 127.0.0.1 (the socket is ours: no race) and serve."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(list(self._routes()))
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, 0))
        self._port = int(sock.getsockname()[1])
        await web.SockSite(runner, sock).start()
        self._runner = runner
        return self

    async def stop(self) -> None:
        """Release hanging requests and close the server (idempotent)."""
        self._stopping.set()
        self._on_stop()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    def _on_stop(self) -> None:
        """Hook: wake anything a subclass keeps waiting (long polls)."""

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def host(self) -> str:
        return LOOPBACK

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._port

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT`` (no trailing slash)."""
        return f"http://{LOOPBACK}:{self.port}"

    # --- recording -----------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        """Every recorded call to ``method`` (faulted ones included), oldest first."""
        return [c for c in self.calls if method in (ANY, c.method)]

    def last(self, method: str) -> Call:
        """The latest call to ``method``; AssertionError naming what was called if none."""
        found = self.calls_to(method)
        if not found:
            seen = [c.method for c in self.calls]
            raise AssertionError(f"no call to {method!r}; calls so far: {seen}")
        return found[-1]

    def clear(self) -> None:
        """Forget recorded calls (state such as sent messages and planned faults stays)."""
        self.calls.clear()

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 (documented API)
    ) -> list[Call]:
        """Wait until ``count`` calls to ``method`` were recorded; returns them.

        AssertionError after ``timeout`` seconds, listing the calls that did arrive.
        """
        try:
            async with asyncio.timeout(timeout):
                while True:
                    self._recorded.clear()
                    found = self.calls_to(method)
                    if len(found) >= count:
                        return found
                    await self._recorded.wait()
        except TimeoutError:
            seen = [c.method for c in self.calls]
            raise AssertionError(
                f"expected {count} call(s) to {method!r} within {timeout}s, "
                f"got {len(self.calls_to(method))}; calls so far: {seen}"
            ) from None

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._recorded.set()

    # --- faults --------------------------------------------------------------------
    def fail_next(
        self, method: str, status: Fault = 429, retry_after: int = 1, times: int = 1
    ) -> None:
        """Answer the next ``times`` calls to ``method`` (``ANY`` for all) with a fault:
        an HTTP status (429 with retry_after, 500, 503...), ``TIMEOUT`` or ``LATE``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._planned.append(_Planned(method, status, retry_after, times))

    def _pick_fault(self, method: str) -> tuple[Fault, int] | None:
        for plan in self._planned:
            if plan.method in (ANY, method):
                plan.remaining -= 1
                if plan.remaining == 0:
                    self._planned.remove(plan)
                return plan.fault, plan.retry_after
        if self.fault_rate > 0 and (self.fault_methods is None or method in self.fault_methods):
            if self._rng.random() < self.fault_rate:
                return self._rng.choice(self.fault_kinds), self.random_retry_after
        return None

    def _rate_key(self, method: str, params: dict[str, Any]) -> str | None:
        """Hook: what ``rate_limit`` counts per (None: the call is not limited)."""
        return None

    def _over_rate(self, method: str, params: dict[str, Any]) -> int | None:
        """Seconds to wait if this call exceeds ``rate_limit``, else None (and count it)."""
        key = self._rate_key(method, params) if self.rate_limit else None
        if key is None or self.rate_limit is None:
            return None
        limit, window = self.rate_limit
        now = time.monotonic()
        stamps = self._windows.setdefault(key, deque())
        while stamps and now - stamps[0] >= window:
            stamps.popleft()
        if len(stamps) >= limit:
            return max(1, math.ceil(window - (now - stamps[0])))
        stamps.append(now)
        return None

    async def _hang(self) -> None:
        with suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), self.hang_seconds)

    # --- dispatch ------------------------------------------------------------------
    def _error_response(self, status: int, description: str, **extra: Any) -> web.Response:
        """Render an error the platform's way (subclasses override)."""
        return web.json_response({"error": description, **extra}, status=status)

    def _fault_response(self, method: str, status: int, retry_after: int) -> web.Response:
        """Render an injected HTTP fault (subclasses override for 429 details)."""
        return self._error_response(status, f"injected fault {status} on {method}")

    async def _serve(
        self,
        request: web.Request,
        method: str,
        params: dict[str, Any],
        files: dict[str, UploadedFile],
        handler: Handler,
    ) -> web.StreamResponse:
        """Apply faults, run ``handler``, record the call with what was answered."""
        call = Call(method, params, files, dict(request.headers))
        picked = self._pick_fault(method)
        if picked is None and (wait := self._over_rate(method, params)) is not None:
            picked = (429, wait)
        if picked is not None:
            fault, retry_after = picked
            call.fault = fault
            if fault == TIMEOUT:
                call.status = 504  # what it answers once the client has long given up
                self._record(call)
                await self._hang()
                return web.Response(status=504, text="gateway timeout (injected)")
            if fault != LATE:
                if not isinstance(fault, int):
                    raise ValueError(f"unknown fault {fault!r}")
                response = self._fault_response(method, fault, retry_after)
                return self._finish(call, response)
        served: web.StreamResponse
        try:
            served = await handler()
        except ApiError as err:
            served = self._error_response(err.status, err.description, **err.extra)
        result = self._finish(call, served)
        if call.fault == LATE:
            await self._hang()
        return result

    def _finish(self, call: Call, response: web.StreamResponse) -> web.StreamResponse:
        call.status = response.status
        if isinstance(response, web.Response) and response.content_type == "application/json":
            assert response.text is not None
            call.response = json.loads(response.text)
        self._record(call)
        return response


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, UploadedFile]]:
    """Query string plus a JSON, urlencoded or multipart body, as (params, files).

    Form values stay strings: each platform decides which ones carry JSON.
    """
    params: dict[str, Any] = dict(request.query)
    files: dict[str, UploadedFile] = {}
    if not request.body_exists:
        return params, files
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
        return params, files
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        for name, value in (await request.post()).items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files[name] = UploadedFile(value.filename, value.content_type, data)
            else:
                params[name] = value
        return params, files
    files["body"] = UploadedFile(None, request.content_type, await request.read())
    return params, files

"""The Bot API's HTTP client: PTB's ``BaseRequest`` on aiohttp, bodies sent as JSON.

PTB's own ``HTTPXRequest`` spends most of a call's CPU on our side in httpx, httpcore
and anyio, and form-encodes every body (each byte of a card's text and keyboard quoted
in Python): one call to a local Bot API fake cost 0.72 ms of CPU through httpx and
0.22 ms through aiohttp's client (whose HTTP parser is compiled), both ends counted. Every button press makes two calls
(the answer and the card's edit) on the one event loop that also runs the handlers, so
that CPU is latency. The requests are the same Bot API calls: a body without files goes
as ``application/json`` (which the Bot API documents beside forms), uploads stay
``multipart/form-data``; timeouts, errors and retries mean what they meant
(``TimedOut``, ``NetworkError``; see ``transport.RetryingRequest``).
"""

from __future__ import annotations

import json
import ssl
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import certifi
from telegram._utils.defaultvalue import DEFAULT_NONE, DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

_JSON = {"Content-Type": "application/json"}


class AiohttpRequest(BaseRequest):
    """A pool of keep-alive connections to the Bot API (one session per request object),
    with PTB's four timeouts: ``connect``, ``read``, ``write`` and ``pool`` (waiting for a
    free connection). aiohttp has no write timeout of its own: the whole call is bounded
    by the sum of the four, as a write that never ends would be."""

    def __init__(self, connection_pool_size: int = 1, read_timeout: float | None = 5.0,
                 write_timeout: float | None = 5.0, connect_timeout: float | None = 5.0,
                 pool_timeout: float | None = 1.0, media_write_timeout: float | None = 20.0,
                 ) -> None:
        self._pool_size = connection_pool_size
        self._read = read_timeout
        self._write = write_timeout
        self._connect = connect_timeout
        self._pool = pool_timeout
        self._media_write = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str], str | None] = {}

    @property
    def read_timeout(self) -> float | None:
        return self._read

    def _open(self) -> aiohttp.ClientSession:
        # certifi's roots, as httpx (PTB's default client) trusts them. No cookies (the
        # Bot API sets none) and no ``trust_env``: aiohttp would then read ~/.netrc and
        # the proxy variables in a worker thread on every call (two thread hops each);
        # the proxy is looked up once per host instead (``proxy_for``).
        context = ssl.create_default_context(cafile=certifi.where())
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._pool_size, ssl=context),
            headers={"User-Agent": self.USER_AGENT}, cookie_jar=aiohttp.DummyCookieJar())

    def proxy_for(self, url: str) -> str | None:
        """The proxy of the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) for this
        URL's host, as httpx honours them; read once per host."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "")
        if key not in self._proxies:
            found = getproxies().get(parts.scheme)
            self._proxies[key] = None if not found or (
                parts.hostname and proxy_bypass(parts.hostname)) else found
        return self._proxies[key]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = self._open()

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: ODVInput[float] = DEFAULT_NONE,
                         write_timeout: ODVInput[float] = DEFAULT_NONE,
                         connect_timeout: ODVInput[float] = DEFAULT_NONE,
                         pool_timeout: ODVInput[float] = DEFAULT_NONE,
                         ) -> tuple[int, bytes]:
        """One call: the status and the raw answer (PTB's ``post`` reads it)."""
        if self._session is None:
            self._session = self._open()
        elif self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = bool(request_data is not None and request_data.contains_files)
        read = self._read if isinstance(read_timeout, DefaultValue) else read_timeout
        connect = self._connect if isinstance(connect_timeout, DefaultValue) else connect_timeout
        pool = self._pool if isinstance(pool_timeout, DefaultValue) else pool_timeout
        write = (self._media_write if files else self._write) \
            if isinstance(write_timeout, DefaultValue) else write_timeout
        parts = (read, connect, pool, write)
        timeout = aiohttp.ClientTimeout(
            total=None if None in parts else sum(p for p in parts if p is not None),
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect, sock_read=read)
        body: bytes | aiohttp.FormData | None = None
        headers = None
        if request_data is not None and files:
            body = _form(request_data)
        elif request_data is not None:
            body, headers = json.dumps(request_data.parameters).encode(), _JSON
        try:
            async with self._session.request(method, url, data=body, headers=headers,
                                             timeout=timeout,
                                             proxy=self.proxy_for(url)) as response:
                return response.status, await response.read()
        except TimeoutError as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc


def _form(request_data: RequestData) -> aiohttp.FormData:
    """An upload: the parameters as form fields (PTB's JSON of each) and the files."""
    form = aiohttp.FormData(quote_fields=False)  # file names as written, like httpx
    for name, value in request_data.json_parameters.items():
        form.add_field(name, value)
    for name, part in request_data.multipart_data.items():
        filename, content, *rest = part
        extra: dict[str, Any] = {"content_type": rest[0]} if rest and rest[0] else {}
        form.add_field(name, content, filename=filename, **extra)
    return form

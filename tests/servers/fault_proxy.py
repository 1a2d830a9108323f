"""A small HTTP proxy in front of a real server that can fail on purpose.

Each request takes the next planned fault (``plan([...])``), else passes through:
``"refuse"`` closes the connection unanswered, ``"429"``/``"500"`` answer without
reaching the server, ``"lost"`` forwards the request (the server acts on it) and then
answers 502, as when the response is lost on the way back. Runs in the test's loop.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Self

from ._support import LOOPBACK


class FaultProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._upstream = (upstream_host, upstream_port)
        self._faults: deque[str] = deque()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0
        self.seen: list[str] = []  # "<fault or pass> <method> <path>" per request
        self.after = 0  # let this many requests pass before the planned faults start

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def plan(self, faults: list[str], after: int = 0) -> None:
        self._faults.extend(faults)
        self.after = after

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._handle, LOOPBACK, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                length = 0
                kept = []
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value.strip())
                    if name.lower() not in ("connection", "keep-alive") and line:
                        kept.append(line)
                body = await reader.readexactly(length) if length else b""
                if self.after > 0:
                    self.after -= 1
                    fault = "pass"
                else:
                    fault = self._faults.popleft() if self._faults else "pass"
                self.seen.append(f"{fault} {lines[0].rsplit(' ', 1)[0]}")
                if fault == "refuse":
                    writer.transport.abort()
                    return
                if fault in ("429", "500"):
                    writer.write(f"HTTP/1.1 {fault} Fault\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n".encode())
                    await writer.drain()
                    break
                request = "\r\n".join([lines[0], *kept, "Connection: close", "", ""]).encode()
                response = await self._forward(request + body)
                if fault == "lost":
                    response = (b"HTTP/1.1 502 Lost\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\n\r\n")
                writer.write(response)
                await writer.drain()
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _forward(self, raw: bytes) -> bytes:
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        try:
            up_writer.write(raw)
            await up_writer.drain()
            return await up_reader.read()  # the server closes after its answer
        finally:
            up_writer.close()

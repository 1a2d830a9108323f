"""A raw HTTP/1.1 client for the web server's limits: what a client can do that httpx
would not (lie about sizes, stall, stream without end), and hostile bodies."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

MB = 1024 * 1024


@dataclass
class RawResult:
    status: int
    body: bytes
    sent: int  # body bytes the client managed to write before the answer came


async def raw_post(port: int, path: str, headers: dict[str, str],
                   chunks: Iterator[bytes], *, chunked: bool = False,
                   finish: bool = True) -> RawResult:
    """POST ``chunks`` (as they come, never joined), reading the answer concurrently:
    the writer stops as soon as the server has answered or closed. ``finish=False``
    never ends the body (no final chunk): only a server that stops reading can answer."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in
                                                          headers.items())]
    if chunked:
        head.append("Transfer-Encoding: chunked")
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = 0

    async def write_all() -> None:
        nonlocal sent
        with contextlib.suppress(ConnectionError):
            for chunk in chunks:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await writer.drain()
                sent += len(chunk)
            if chunked and finish:
                writer.write(b"0\r\n\r\n")
                await writer.drain()
            if not finish:
                await asyncio.Event().wait()  # hold the connection open, send nothing more

    async def read_answer() -> tuple[int, bytes]:
        status_line = await reader.readline()
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        return int(status_line.split()[1]), await reader.readexactly(length)

    writing = asyncio.create_task(write_all())
    try:
        async with asyncio.timeout(30):
            status, body = await read_answer()
    finally:
        writing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await writing
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    return RawResult(status, body, sent)


def pieces(total: int, size: int = 64 * 1024, byte: bytes = b"a") -> Iterator[bytes]:
    """``total`` bytes in pieces of one reused buffer: the client itself holds ~64 KB."""
    piece = byte * size
    for _ in range(total // size):
        yield piece


def deep_json(depth: int = 200_000) -> bytes:
    return b"[" * depth + b"]" * depth

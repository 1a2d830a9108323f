"""Small helpers shared by the test servers: free ports, waiting for a port, skip rules."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from typing import NoReturn

import pytest

LOOPBACK = "127.0.0.1"
INSTALL_HINT = "install it with: sudo bash scripts/install-test-servers.sh"


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago.

    For servers that cannot bind port 0 themselves (aiosmtpd, Dovecot, PostgreSQL);
    callers retry on the rare race where someone else takes it first.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK) -> bool:
    """True if something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def wait_port(port: int, timeout: float, host: str = LOOPBACK) -> None:
    """Block until host:port accepts connections; TimeoutError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port, host):
            return
        time.sleep(0.01)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout:.1f}s")


async def async_wait_port(port: int, limit: float, host: str = LOOPBACK) -> None:
    """Like ``wait_port`` without blocking the event loop (``limit`` in seconds)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            _reader, writer = await asyncio.open_connection(host, port)
        except OSError:
            await asyncio.sleep(0.01)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise TimeoutError(f"nothing listening on {host}:{port} after {limit:.1f}s")


def server_unavailable(message: str) -> NoReturn:
    """Skip the test locally, but fail it in CI (``CI=true``), where a missing server
    means the install step is broken and a green run would hide it."""
    text = f"{message}; {INSTALL_HINT}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(text, pytrace=False)
    pytest.skip(text)

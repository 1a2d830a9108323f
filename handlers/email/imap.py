"""Inbound email over IMAP (aioimaplib): IDLE where the server supports it, polling else.

A message is fetched with ``BODY.PEEK[]`` (a plain ``RFC822`` fetch would mark it seen
before we stored it) and marked ``\\Seen`` -- or moved to the processed folder -- only
after the ingest committed its ticket and interaction. A crash in between leaves it
unseen; the next pass delivers it again and the intake recognises the Message-ID, so
nothing is lost and nothing is doubled. Connection failures reconnect with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable

from aioimaplib import IMAP4, IMAP4_SSL

from bot.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
IDLE_MAX_SECONDS = 29 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
_FETCH_UID = re.compile(rb"UID (\d+)")

Ingest = Callable[[bytes], Awaitable[object]]


class ImapError(Exception):
    """The server refused a command (login, select, search, ...)."""


class ImapReader:
    """Reads the configured folder until ``stop`` is set; one message at a time."""

    def __init__(self, settings: Settings, ingest: Ingest) -> None:
        self._s = settings
        self._ingest = ingest
        self.passes = 0  # completed passes over the folder (tests and health checks)
        self.failures = 0  # failed sessions since start (each one reconnects with backoff)
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                await self._session(stop)
                delay = 1.0
            except Exception as exc:
                self.connected.clear()
                self.failures += 1
                log.warning("IMAP session failed (%s: %s); reconnecting in %.0f s",
                            type(exc).__name__, exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    async def _connect(self) -> IMAP4:
        s = self._s
        cls = IMAP4_SSL if s.imap_tls else IMAP4
        client = cls(host=s.imap_host, port=s.imap_port, timeout=30)
        await client.wait_hello_from_server()
        _ok(await client.login(s.imap_user, s.imap_password), "LOGIN")
        if s.imap_processed_folder:
            await client.create(s.imap_processed_folder)  # NO when it exists: fine
        _ok(await client.select(s.imap_folder), f"SELECT {s.imap_folder}")
        return client

    async def _session(self, stop: asyncio.Event) -> None:
        client = await self._connect()
        self.connected.set()
        idle = "IDLE" in client.protocol.capabilities
        log.info("IMAP connected folder=%s mode=%s", self._s.imap_folder,
                 "idle" if idle else "polling")
        try:
            while not stop.is_set():
                await self.process_new(client)
                self.passes += 1
                if idle:
                    await self._idle(client, stop)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), self._s.imap_poll_seconds)
        finally:
            self.connected.clear()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.logout(), 5)

    async def _idle(self, client: IMAP4, stop: asyncio.Event) -> None:
        """Wait for the server to push anything (new mail), the poll period, or stop."""
        idle = await client.idle_start(timeout=min(self._s.imap_poll_seconds, IDLE_MAX_SECONDS))
        push = asyncio.ensure_future(client.wait_server_push(timeout=IDLE_MAX_SECONDS + 60))
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({push, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            push.cancel()
            client.idle_done()
            await asyncio.wait_for(idle, 30)

    async def process_new(self, client: IMAP4) -> int:
        """Ingest every unseen message; returns how many were handled."""
        response = await client.uid_search("UNSEEN", charset=None)
        _ok(response, "UID SEARCH")
        uids = [uid for line in response.lines[:-1] if isinstance(line, bytes | bytearray)
                for uid in bytes(line).split() if uid.isdigit()]
        handled = 0
        for uid in uids:
            raw = await self._fetch(client, uid.decode())
            if raw is None:
                continue
            try:
                await self._ingest(raw)
            except Exception:  # left unseen: retried on the next pass, never lost
                log.exception("IMAP message not ingested uid=%s; left unseen", uid.decode())
                continue
            await self._done(client, uid.decode())
            handled += 1
        return handled

    async def _fetch(self, client: IMAP4, uid: str) -> bytes | None:
        response = await client.uid("fetch", uid, "(BODY.PEEK[])")
        _ok(response, "UID FETCH")
        for line in response.lines:
            if isinstance(line, bytearray):
                return bytes(line)
        log.warning("IMAP fetch returned no body uid=%s", uid)
        return None

    async def _done(self, client: IMAP4, uid: str) -> None:
        """After the commit: mark seen, or move to the processed folder."""
        folder = self._s.imap_processed_folder
        if not folder:
            _ok(await client.uid("store", uid, "+FLAGS", "(\\Seen)"), "UID STORE")
            return
        if "MOVE" in client.protocol.capabilities:
            _ok(await client.uid("move", uid, folder), "UID MOVE")
            return
        _ok(await client.uid("copy", uid, folder), "UID COPY")
        _ok(await client.uid("store", uid, "+FLAGS", "(\\Seen \\Deleted)"), "UID STORE")
        if "UIDPLUS" in client.protocol.capabilities:
            await client.uid("expunge", uid)
        else:
            await client.expunge()


def _ok(response: object, what: str) -> None:
    result = getattr(response, "result", None)
    if result != "OK":
        lines = getattr(response, "lines", [])
        raise ImapError(f"{what} failed: {result} {lines[-1:] if lines else ''}")

"""Inbound email over IMAP (aioimaplib): IDLE where the server supports it, polling else.

Progress is tracked by UID (with the folder's UIDVALIDITY), kept in our database, not by
``\\Seen``: a person who reads the support mailbox first changes nothing. Each new
message's size is read first (``RFC822.SIZE``): one over the limit is not downloaded,
only its headers, and still becomes a ticket that says so. A message is fetched with
``BODY.PEEK[]``, stored in the inbox (committed), marked ``\\Seen`` or moved to the
processed folder (for people), and only then is the progress recorded. A crash or a
dropped connection in between fetches it again; the inbox knows its Message-ID, so
nothing is lost, nothing is doubled, and every stored message ends up marked. Connection failures
reconnect with backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Protocol

from aioimaplib import IMAP4, IMAP4_SSL

from bot.process.settings import Settings

log = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 300.0
IDLE_MAX_SECONDS = 29 * 60  # RFC 2177: re-issue IDLE at least every 29 minutes
_FETCH_UID = re.compile(rb"UID (\d+)")
_FETCH_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UIDNEXT = re.compile(rb"UIDNEXT (\d+)")
TOO_BIG_NOTE = ("\r\n(Este correo pesa {size} bytes, más que el máximo de {limit}: no se "
                "descargó. Queda en el buzón, UID {uid}.)\r\n")

Ingest = Callable[[bytes], Awaitable[object]]


class ProgressStore(Protocol):
    """Where the reader keeps its place (``{"uidvalidity": V, "last_uid": N}``)."""

    async def load(self, key: str) -> dict[str, int] | None: ...

    async def save(self, key: str, value: dict[str, int]) -> None: ...


class MemoryProgress:
    """Progress for one process only (tests, and a reader without a database)."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, int]] = {}

    async def load(self, key: str) -> dict[str, int] | None:
        return self.values.get(key)

    async def save(self, key: str, value: dict[str, int]) -> None:
        self.values[key] = dict(value)


# Sizes are asked for this many messages at a time: aioimaplib parses one answer line by
# line recursively, and an answer of about a thousand lines (a mailbox that filled up
# while we were off) overflows the interpreter's stack.
SIZE_BATCH = 200


class ImapError(Exception):
    """The server refused a command (login, select, search, ...)."""


class ImapReader:
    """Reads the configured folder until ``stop`` is set; one message at a time."""

    def __init__(self, settings: Settings, ingest: Ingest,
                 progress: ProgressStore | None = None,
                 after_pass: Callable[[], Awaitable[object]] | None = None) -> None:
        self._s = settings
        self._ingest = ingest  # stores the raw message (committed) before we move on
        self._progress = progress or MemoryProgress()
        self._after_pass = after_pass  # e.g. process what was stored, if no worker runs
        self._key = f"{settings.imap_user}@{settings.imap_host}/{settings.imap_folder}"
        self._validity = 0
        self._uidnext = 0
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
        selected = await client.select(s.imap_folder)
        _ok(selected, f"SELECT {s.imap_folder}")
        self._validity = _number(_UIDVALIDITY, selected.lines)
        self._uidnext = _number(_UIDNEXT, selected.lines)
        return client

    async def _session(self, stop: asyncio.Event) -> None:
        client = await self._connect()
        self.connected.set()
        idle = "IDLE" in client.protocol.capabilities
        log.info("IMAP connected folder=%s mode=%s", self._s.imap_folder,
                 "idle" if idle else "polling")
        try:
            while not stop.is_set():
                if await self.process_new(client) and self._after_pass is not None:
                    await self._after_pass()
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
        """Store every message after our last UID, in order; returns how many."""
        state = await self._progress.load(self._key)
        if state is None or state.get("uidvalidity") != self._validity:
            # First run (or the folder was rebuilt): what nobody has read yet. The inbox
            # recognises any message it already has by its Message-ID.
            response = await client.uid_search("UNSEEN", charset=None)
            _ok(response, "UID SEARCH")
            uids = sorted(int(u) for line in response.lines[:-1]
                          if isinstance(line, bytes | bytearray)
                          for u in bytes(line).split() if u.isdigit())
            last = max(self._uidnext - 1, 0) if not uids else min(uids) - 1
        else:
            last = int(state.get("last_uid", 0))
            uids = None
        sizes = await self._sizes(client, last, uids)
        handled = 0
        for uid, size in sizes:
            raw = await self._fetch_limited(client, str(uid), size)
            if raw is None:
                continue
            try:
                await self._ingest(raw)
            except Exception:  # not stored: the pass stops here and retries from this UID
                log.exception("IMAP message not stored uid=%s; retried on the next pass", uid)
                break
            try:  # marked before the progress: a crash in between fetches it again
                await self._done(client, str(uid))
            except ImapError as refused:  # e.g. a read-only mailbox: stored all the same
                log.warning("IMAP message stored but not marked uid=%s: %s", uid, refused)
            await self._progress.save(self._key, {"uidvalidity": self._validity,
                                                  "last_uid": uid})
            last = uid
            handled += 1
        else:
            if uids is not None:  # first run: everything before UIDNEXT is behind us now
                await self._progress.save(self._key, {"uidvalidity": self._validity,
                                                      "last_uid": max(last, self._uidnext - 1)})
        return handled

    async def _sizes(self, client: IMAP4, last: int,
                     uids: list[int] | None) -> list[tuple[int, int]]:
        """(uid, RFC822.SIZE) of the messages to read, in UID order."""
        if uids is None:
            uids = await self._uids_after(client, last)
        found: dict[int, int] = {}
        for start in range(0, len(uids), SIZE_BATCH):
            wanted = ",".join(map(str, uids[start:start + SIZE_BATCH]))
            response = await client.uid("fetch", wanted, "(RFC822.SIZE)")
            _ok(response, "UID FETCH SIZE")
            for line in response.lines:
                if not isinstance(line, bytes | bytearray):
                    continue
                uid, size = _FETCH_UID.search(line), _FETCH_SIZE.search(line)
                if uid and int(uid.group(1)) > last:
                    found[int(uid.group(1))] = int(size.group(1)) if size else 0
        return sorted(found.items())

    async def _uids_after(self, client: IMAP4, last: int) -> list[int]:
        """The UIDs above ``last`` (one line, however many there are)."""
        response = await client.uid_search(f"UID {last + 1}:*", charset=None)
        _ok(response, "UID SEARCH")
        return sorted(int(u) for line in response.lines[:-1]
                      if isinstance(line, bytes | bytearray)
                      for u in bytes(line).split() if u.isdigit() and int(u) > last)

    async def _fetch_limited(self, client: IMAP4, uid: str, size: int) -> bytes | None:
        """The whole message, or only its headers and a note when it is over the limit."""
        limit = self._s.mail_max_message_bytes
        if size <= limit:
            return await self._fetch(client, uid)
        log.warning("IMAP message over the size limit uid=%s size=%s: headers only", uid, size)
        response = await client.uid("fetch", uid, "(BODY.PEEK[HEADER])")
        _ok(response, "UID FETCH HEADER")
        head = next((bytes(line) for line in response.lines if isinstance(line, bytearray)),
                    b"")
        head = head[:self._s.mail_max_header_bytes].rstrip(b"\r\n")
        note = TOO_BIG_NOTE.format(size=f"{size:,}".replace(",", "."),
                                   limit=f"{limit:,}".replace(",", "."), uid=uid)
        head = b"\r\n".join(line for line in head.split(b"\r\n")
                             if not line.lower().startswith(b"content-"))
        return head + b"\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + note.encode()

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


def _number(pattern: re.Pattern[bytes], lines: list[object]) -> int:
    for line in lines:
        if isinstance(line, bytes | bytearray):
            found = pattern.search(bytes(line))
            if found:
                return int(found.group(1))
    return 0


def _ok(response: object, what: str) -> None:
    result = getattr(response, "result", None)
    if result != "OK":
        lines = getattr(response, "lines", [])
        raise ImapError(f"{what} failed: {result} {lines[-1:] if lines else ''}")

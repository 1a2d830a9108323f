"""A real SMTP server (aiosmtpd) on 127.0.0.1 that captures what our code sends.

aiosmtpd's ``Controller`` runs the server in its own thread and event loop, so the
capture list is guarded by a lock and ``wait_for`` polls it. AUTH (PLAIN/LOGIN) is
offered without TLS, so a client configured with a user and password works;
unauthenticated mail is accepted too. Faults: ``fail_next(times, code)`` answers the
next DATA commands with 451 (try again later) or 421 (service closing).
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any, Self, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServerProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from ._support import LOOPBACK, free_port

# RFC 5322 §3.6.4: msg-id = "<" id-left "@" id-right ">"; In-Reply-To and References are
# lists of msg-ids (folding whitespace between them), never encoded-words (RFC 2047 §5).
_MSG_ID = r"<[^<>\s@]+@[^<>\s]+>"
_ID_HEADERS = {"message-id": re.compile(rf"^\s*{_MSG_ID}\s*$"),
               "in-reply-to": re.compile(rf"^\s*(?:{_MSG_ID}\s*)+$"),
               "references": re.compile(rf"^\s*(?:{_MSG_ID}\s*)+$")}
LINE_MAX = 998  # RFC 5322 §2.1.1: each line at most 998 characters, CRLF excluded


def header_problems(raw: bytes) -> list[str]:
    """What breaks RFC 5322 in the header block of ``raw`` (empty when fine)."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    problems = [f"line over {LINE_MAX} characters" for line in head.splitlines()
                if len(line) > LINE_MAX]
    unfolded = re.sub(rb"\r?\n[ \t]", b" ", head).decode("ascii", "replace")
    for line in unfolded.splitlines():
        name, _, value = line.partition(":")
        rule = _ID_HEADERS.get(name.strip().lower())
        if rule is not None and ("=?" in value or not rule.match(value)):
            problems.append(f"{name.strip()} is not a list of msg-ids: {value.strip()[:80]}")
    return problems

_REPLIES = {
    421: "421 4.3.2 Service shutting down (injected)",
    451: "451 4.3.0 Temporary failure, try again later (injected)",
    452: "452 4.3.1 Insufficient system storage (injected)",
    554: "554 5.6.0 Message rejected (injected)",
}
_SYNTAX = "554 5.6.0 Message header syntax error: {}"


@dataclass(frozen=True)
class CapturedMail:
    """One accepted message as the server received it."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    #: the AUTH login used, None if the client did not authenticate
    login: str | None = None


class SmtpServer:
    """aiosmtpd on a free loopback port; ``messages`` fills as mail arrives."""

    def __init__(self, user: str = "atiende", password: str = "smtp-secret") -> None:
        self.user = user
        self.password = password
        self.messages: list[CapturedMail] = []
        #: messages refused for their header syntax, with the problems found
        self.rejected: list[tuple[bytes, list[str]]] = []
        self._lock = threading.Lock()
        self._faults: list[int] = []
        self._controller: Controller | None = None
        self.port = 0

    @property
    def host(self) -> str:
        return LOOPBACK

    def start(self) -> Self:
        """Start (retrying if the picked port was taken meanwhile)."""
        last_error: Exception | None = None
        for _attempt in range(5):
            port = free_port()
            controller = Controller(
                self,
                hostname=LOOPBACK,
                port=port,
                authenticator=self._authenticate,
                auth_require_tls=False,
            )
            try:
                controller.start()
            except OSError as err:  # port raced away: try another one
                last_error = err
                continue
            self._controller, self.port = controller, port
            return self
        raise RuntimeError(f"could not start aiosmtpd: {last_error}")

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- test API ------------------------------------------------------------------
    def fail_next(self, times: int = 1, code: int = 451) -> None:
        """Answer the next ``times`` DATA commands with ``code`` (421, 451, 452, 554)."""
        if code not in _REPLIES:
            raise ValueError(f"code must be one of {sorted(_REPLIES)}")
        with self._lock:
            self._faults.extend([code] * times)

    async def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 (documented API)
    ) -> list[CapturedMail]:
        """Wait until ``count`` messages arrived; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                got = list(self.messages)
            if len(got) >= count:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {count} mail(s) within {timeout}s, got {len(got)}")
            await asyncio.sleep(0.01)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()

    # --- aiosmtpd hooks (run in the server's thread) ---------------------------------
    def _authenticate(
        self,
        server: SMTPServerProtocol,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user.encode()
            and auth_data.password == self.password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def handle_DATA(
        self, server: SMTPServerProtocol, session: Session, envelope: Envelope
    ) -> str:
        with self._lock:
            if self._faults:
                return _REPLIES[self._faults.pop(0)]
        raw = cast(bytes, envelope.original_content or envelope.content or b"")
        if problems := header_problems(raw):
            with self._lock:
                self.rejected.append((raw, problems))
            return _SYNTAX.format("; ".join(problems))[:500]
        message = BytesParser(policy=policy.default).parsebytes(raw)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        mail = CapturedMail(str(envelope.mail_from), list(envelope.rcpt_tos), raw, message, login)
        with self._lock:
            self.messages.append(mail)
        return "250 2.0.0 OK: queued"

"""Real servers and small fakes that the test suite starts on 127.0.0.1.

Fakes (HTTP, in the test's event loop): ``FakeTelegram`` (Bot API), ``FakeSlack``
(Web API), ``FakeGraph`` (WhatsApp Cloud API). Real servers: ``SmtpServer`` (aiosmtpd),
``DovecotServer``/``ImapAccount`` (IMAP), ``PostgresServer`` (PostgreSQL 15),
``NocoDBServer`` (NocoDB, with ``FaultProxy`` to put failures in front of it). Fixtures
for all of them live in ``tests.servers.fixtures``.
"""

from ._httpfake import ANY, LATE, TIMEOUT, Call, UploadedFile
from .fake_graph import FakeGraph, sign_whatsapp
from .fake_slack import FakeSlack
from .fake_telegram import FakeTelegram
from .fault_proxy import FaultProxy
from .imap import DovecotServer, ImapAccount
from .nocodb import NocoDBServer
from .postgres import PostgresServer
from .slack_signing import signed_headers
from .smtp import CapturedMail, SmtpServer
from .telegram_updates import make_callback_update, make_message_update

__all__ = [
    "ANY",
    "LATE",
    "TIMEOUT",
    "Call",
    "CapturedMail",
    "DovecotServer",
    "FaultProxy",
    "FakeGraph",
    "FakeSlack",
    "FakeTelegram",
    "ImapAccount",
    "NocoDBServer",
    "PostgresServer",
    "SmtpServer",
    "UploadedFile",
    "make_callback_update",
    "make_message_update",
    "sign_whatsapp",
    "signed_headers",
]

"""pytest fixtures for the test servers (load with ``pytest_plugins = ["tests.servers.fixtures"]``).

Fakes are per test and run in the test's event loop. Dovecot and PostgreSQL start once
per session (start-up and shutdown cost) and hand each test a fresh mailbox user or a
fresh database. Every fixture stops what it started, even when the test fails. Where
Dovecot or PostgreSQL is missing the test is skipped locally and fails in CI (CI=true).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from .fake_graph import FakeGraph
from .fake_slack import FakeSlack
from .fake_telegram import FakeTelegram
from .imap import DovecotServer, ImapAccount
from .nocodb import NocoDBServer
from .postgres import PostgresServer
from .smtp import SmtpServer

__all__ = [
    "dovecot_server",
    "fake_graph",
    "fake_slack",
    "fake_telegram",
    "imap_server",
    "nocodb_server",
    "postgres_server",
    "postgres_url",
    "smtp_server",
]


@pytest_asyncio.fixture
async def fake_telegram() -> AsyncIterator[FakeTelegram]:
    """A fake Bot API; use ``.token``, ``.base_url``, ``.base_file_url``."""
    async with FakeTelegram() as fake:
        yield fake


@pytest_asyncio.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """A fake Slack Web API; use ``.token`` and ``.api_url`` (ends in ``/api/``)."""
    async with FakeSlack() as fake:
        yield fake


@pytest_asyncio.fixture
async def fake_graph() -> AsyncIterator[FakeGraph]:
    """A fake WhatsApp Cloud API; use ``.access_token``, ``.api_url``, ``.phone_number_id``."""
    async with FakeGraph() as fake:
        yield fake


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """aiosmtpd capturing mail; ``.host``, ``.port``, ``.user``/``.password`` for AUTH."""
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """The session's Dovecot (tests normally want ``imap_server`` instead)."""
    with DovecotServer() as server:
        yield server


@pytest.fixture
def imap_server(dovecot_server: DovecotServer) -> ImapAccount:
    """A fresh IMAP user with an empty INBOX on the session's Dovecot."""
    return dovecot_server.new_account()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL (or ``ATIENDE_TEST_POSTGRES_URL``'s server)."""
    with PostgresServer() as server:
        yield server


@pytest_asyncio.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """URL of a new empty database (``postgres://postgres@127.0.0.1:PORT/atiende_test_…``),
    dropped after the test."""
    url = await postgres_server.create_database()
    try:
        yield url
    finally:
        await postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def nocodb_server() -> Iterator[NocoDBServer]:
    """The session's real NocoDB (signed-up user, API token); ``.new_base()`` per test."""
    with NocoDBServer() as server:
        yield server

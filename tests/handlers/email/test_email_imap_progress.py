"""IMAP against a real Dovecot: progress by UID (a person reading the mailbox changes
nothing), a connection dropped mid-FETCH or mid-STORE, a message over the size limit."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from bot.process.domain import InteractionKind
from bot.services import Services
from db.models import InboxItem, Interaction
from handlers.email import KeyValueProgress
from handlers.email.imap import ImapReader
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail
from tests.handlers.email.test_email_imap import with_imap
from tests.servers import ImapAccount

pytestmark = pytest.mark.imap


class Dropped(Exception):
    pass


async def _pass(reader: ImapReader) -> int:
    client = await reader._connect()
    try:
        return await reader.process_new(client)
    finally:
        try:
            await asyncio.wait_for(client.logout(), 2)
        except Exception:  # a dropped connection has nothing to log out of
            pass


def _reader(live: Services) -> ImapReader:
    return ImapReader(live.settings, EmailIngestor(live).ingest, KeyValueProgress(live.kv))


async def test_a_person_reading_the_mailbox_hides_nothing(
        services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server)
    reader = _reader(live)
    assert await _pass(reader) == 0  # first run: our place is recorded
    await imap_server.append(mail(body="Leído por alguien antes que nosotros.",
                                  message_id="<read@example.cl>"), flags="\\Seen")
    assert await _pass(reader) == 1
    assert await Interaction.filter(external_id="<read@example.cl>").count() == 1
    assert await _pass(reader) == 0  # and never again


@pytest.mark.parametrize("where", ["fetch", "store"])
async def test_a_connection_dropped_mid_command_loses_and_doubles_nothing(
        where: str, services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server)
    reader = _reader(live)
    await _pass(reader)
    await imap_server.append(mail(body="Primero.", message_id="<d1@example.cl>"))
    await imap_server.append(mail(body="Segundo.", message_id="<d2@example.cl>",
                                  sender="Beto <beto@example.cl>"))
    connect = reader._connect
    armed = {"on": True}

    async def flaky_connect():  # type: ignore[no-untyped-def]
        client = await connect()
        real = client.uid

        async def uid(command: str, *args: Any) -> Any:
            wanted = (command == "fetch" and "BODY.PEEK[]" in args[-1]) if where == "fetch" \
                else command == "store"
            if armed["on"] and wanted:
                armed["on"] = False
                client.protocol.transport.close()  # the server is gone, mid-command
                raise Dropped(f"connection dropped during {command}")
            return await real(command, *args)

        client.uid = uid  # type: ignore[method-assign]
        return client

    reader._connect = flaky_connect  # type: ignore[method-assign]
    with pytest.raises(Dropped):
        await _pass(reader)
    await _pass(reader)  # reconnects, carries on from its place
    await _pass(reader)
    for ref in ("<d1@example.cl>", "<d2@example.cl>"):
        assert await Interaction.filter(external_id=ref,
                                        kind=InteractionKind.INBOUND).count() == 1
    assert await InboxItem.all().count() == 2
    assert await imap_server.seen_count() == 2  # the one dropped mid-STORE is marked too


async def test_a_refused_mark_still_moves_on(
        services: Services, team: Team, imap_server: ImapAccount,
        caplog: pytest.LogCaptureFixture) -> None:
    """A mailbox that refuses ``STORE`` (read-only for our user): stored, progress kept,
    one warning per message, never fetched again."""
    live = with_imap(services, imap_server)
    reader = _reader(live)
    await _pass(reader)
    await imap_server.append(mail(body="Buzón de solo lectura.", message_id="<ro@example.cl>"))
    connect = reader._connect

    async def read_only_connect():  # type: ignore[no-untyped-def]
        client = await connect()
        real = client.uid

        async def uid(command: str, *args: Any) -> Any:
            if command == "store":
                return SimpleNamespace(result="NO", lines=[b"[READ-ONLY] not allowed"])
            return await real(command, *args)

        client.uid = uid  # type: ignore[method-assign]
        return client

    reader._connect = read_only_connect  # type: ignore[method-assign]
    assert await _pass(reader) == 1
    assert await _pass(reader) == 0
    assert await Interaction.filter(external_id="<ro@example.cl>").count() == 1
    assert await imap_server.seen_count() == 0
    assert sum("stored but not marked" in r.getMessage() for r in caplog.records) == 1


async def test_over_the_size_limit_only_headers_are_fetched(
        services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server, mail_max_message_bytes=4096)
    reader = _reader(live)
    await _pass(reader)
    await imap_server.append(mail(body="x" * 20000, message_id="<huge@example.cl>"))
    assert await _pass(reader) == 1
    row = await Interaction.get(external_id="<huge@example.cl>")
    assert "no se descargó" in row.body and "x" * 100 not in row.body


@pytest.mark.parametrize("first_run", [True, False], ids=["first-run", "later"])
async def test_a_thousand_new_messages_are_read_in_one_pass(
        first_run: bool, services: Services, imap_server: ImapAccount) -> None:
    """A support mailbox that filled up while Atiende was off: 1,000 new messages. One
    answer listing them all overflowed the IMAP library's parser (RecursionError) and
    the reader never got past its first pass."""
    stored: list[bytes] = []

    async def ingest(raw: bytes) -> None:
        stored.append(raw)

    reader = ImapReader(with_imap(services, imap_server).settings, ingest,
                        KeyValueProgress(services.kv))
    if not first_run:
        assert await _pass(reader) == 0  # our place is recorded: read by UID from here
    await imap_server.append_many([mail(body=f"Mensaje {n}.", message_id=f"<m{n}@example.cl>")
                                   for n in range(1000)])
    assert await _pass(reader) == 1000
    assert len(stored) == 1000 and b"<m999@example.cl>" in stored[-1]
    assert await _pass(reader) == 0

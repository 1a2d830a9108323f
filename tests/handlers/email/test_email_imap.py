"""Email in over IMAP against a real Dovecot: IDLE push, seen-after-commit, duplicates."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from bot.app.frontend import wired
from bot.process.domain import InteractionKind
from bot.services import Services, build_services
from db.models import Interaction
from handlers.email import EmailFrontEnd, build_front_end
from handlers.email.imap import ImapReader
from handlers.email.ingest import EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail
from tests.servers import ImapAccount

pytestmark = pytest.mark.imap


def with_imap(services: Services, account: ImapAccount, **extra: object) -> Services:
    settings = services.settings.model_copy(update={
        "imap_host": account.host, "imap_port": account.port, "imap_tls": False,
        "imap_user": account.user, "imap_password": account.password,
        "imap_poll_seconds": 60.0, **extra})
    return build_services(settings, services.clock)


async def until(check: Callable[[], Awaitable[bool]], within: float = 5.0) -> None:
    """Wait for something a real server does (bounded; not a sleep standing in for time)."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_idle_push_creates_ticket_and_marks_seen_only_after_commit(
        services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server)
    front = wired(live, build_front_end(live))
    assert isinstance(front, EmailFrontEnd) and front.reader is not None
    seen_at_commit: list[int] = []
    real = front.ingestor.ingest

    async def observed(raw: bytes):  # type: ignore[no-untyped-def]
        result = await real(raw)  # committed here
        seen_at_commit.append(await imap_server.seen_count())
        return result

    front.reader._ingest = observed
    await front.start()
    try:
        await until(lambda: _passes(front, 1))  # connected, first pass done, now in IDLE
        await imap_server.append(mail(body="Mi sitio no carga desde ayer."))
        await until(lambda: _count_inbound(1), within=5)  # IDLE push, poll is 60 s
        await until(lambda: _seen(imap_server, 1))
    finally:
        await front.stop()
    assert seen_at_commit == [0]
    [ticket] = await live.queries.all()
    assert ticket.customer.email == "ana@example.cl"


async def test_same_message_twice_in_the_mailbox_is_one_interaction(
        services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server)
    raw = mail(body="Hola, necesito ayuda.")
    await imap_server.append(raw)
    await imap_server.append(raw)
    front = wired(live, build_front_end(live))
    await front.start()
    try:
        await until(lambda: _seen(imap_server, 2))
    finally:
        await front.stop()
    assert await Interaction.filter(kind=InteractionKind.INBOUND).count() == 1


async def test_failed_ingest_leaves_the_message_unseen_for_the_next_pass(
        services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server)
    await imap_server.append(mail())

    async def crash(raw: bytes) -> None:
        raise RuntimeError("database went away")

    broken = ImapReader(live.settings, crash)
    client = await broken._connect()
    try:
        assert await broken.process_new(client) == 0
    finally:
        await client.logout()
    assert await imap_server.seen_count() == 0 and await live.queries.all() == []
    healthy = ImapReader(live.settings, EmailIngestor(live).ingest)
    client = await healthy._connect()
    try:
        assert await healthy.process_new(client) == 1
    finally:
        await client.logout()
    assert await imap_server.seen_count() == 1 and len(await live.queries.all()) == 1


async def test_processed_folder_receives_the_message(services: Services, team: Team,
                                                     imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server, imap_processed_folder="Procesados")
    await imap_server.append(mail())
    reader = ImapReader(live.settings, EmailIngestor(live).ingest)
    client = await reader._connect()
    try:
        assert await reader.process_new(client) == 1
    finally:
        await client.logout()
    assert await imap_server.list_flags() == []
    assert len(await imap_server.list_flags("Procesados")) == 1


async def _passes(front: EmailFrontEnd, n: int) -> bool:
    return front.reader is not None and front.reader.passes >= n


async def _count_inbound(n: int) -> bool:
    return await Interaction.filter(kind=InteractionKind.INBOUND).count() >= n


async def _seen(account: ImapAccount, n: int) -> bool:
    return await account.seen_count() >= n


async def test_unreachable_server_retries_quietly_and_stops_promptly(
        services: Services, team: Team, imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server, imap_password="wrong")
    front = wired(live, build_front_end(live))
    await front.start()
    started = time.monotonic()
    assert front.reader is not None

    async def failed() -> bool:
        return front.reader is not None and front.reader.failures >= 1

    await until(failed)  # the login failed, and the loop is still alive, backing off
    assert front._task is not None and not front._task.done()
    await front.stop()
    assert time.monotonic() - started < 5
    assert front.reader.passes == 0


async def test_without_idle_the_reader_polls(services: Services, team: Team,
                                             imap_server: ImapAccount) -> None:
    live = with_imap(services, imap_server, imap_poll_seconds=0.2)
    front = wired(live, build_front_end(live))
    reader = front.reader
    assert reader is not None
    connect = reader._connect

    async def no_idle():  # type: ignore[no-untyped-def]
        client = await connect()
        client.protocol.capabilities.discard("IDLE")  # a server without IDLE
        return client

    reader._connect = no_idle  # type: ignore[method-assign]
    await front.start()
    try:
        await until(lambda: _passes(front, 1))
        await imap_server.append(mail(body="Consulta por correo."))
        await until(lambda: _count_inbound(1))
        await until(lambda: _seen(imap_server, 1))
    finally:
        await front.stop()
    assert reader.passes >= 2

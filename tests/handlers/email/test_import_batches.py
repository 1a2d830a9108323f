"""``atiende mail import`` commits a batch of messages at a time: a failing message is
rolled back alone, a crash rolls back its whole batch (the files stay), importing again
stores each message exactly once, and subscribers hear only of committed changes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.process.events import TicketEvent
from bot.services import Services
from db.models import InboxItem, Interaction, MessageRef, Ticket
from handlers.email import import_path
from handlers.email.ingest import EmailIngestor, IngestResult, MailIn
from tests.conftest import Team
from tests.handlers.email.harness import mail

BATCH = 4


class Crash(BaseException):
    """Stands for the process dying (not an ``Exception``: nothing may catch it)."""


def write_mails(folder: Path, count: int) -> list[str]:
    """``count`` new customers' mails, one day apart (the import's order), an hour later
    each month past the 28th; their ids."""
    folder.mkdir()
    ids = []
    for n in range(count):
        ids.append(f"<m{n}@cliente{n}.cl>")
        (folder / f"{n:03d}.eml").write_bytes(mail(
            sender=f"Cliente {n} <c{n}@cliente{n}.cl>", subject=f"Consulta {n}",
            body=f"Hola, consulta número {n}.", message_id=ids[-1], day=1 + n % 28,
            hour=9 + n // 28))
    return ids


def fail_on(monkeypatch: pytest.MonkeyPatch, message_id: str, error: BaseException) -> None:
    """The message is fully ingested (ticket, history, inbox row), then ``error`` escapes:
    what a fault after the writes and before the commit looks like, whether its batch
    is tried at once or one mail at a time."""
    one, many = EmailIngestor.ingest_unstored, EmailIngestor.ingest_all_unstored

    async def ingest_unstored(self: EmailIngestor, mail: MailIn) -> IngestResult:
        result = await one(self, mail)
        if result.message_id == message_id:
            raise error
        return result

    async def ingest_all_unstored(self: EmailIngestor,
                                  mails: Sequence[MailIn]) -> list[IngestResult]:
        results = await many(self, mails)
        if any(r.message_id == message_id for r in results):
            raise error
        return results

    monkeypatch.setattr(EmailIngestor, "ingest_unstored", ingest_unstored)
    monkeypatch.setattr(EmailIngestor, "ingest_all_unstored", ingest_all_unstored)


async def stored_ids() -> list[str]:
    return sorted(await Interaction.filter(external_id__not_isnull=True)
                  .values_list("external_id", flat=True))


async def test_a_failing_message_is_rolled_back_alone_and_imported_next_time(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = write_mails(tmp_path / "mails", 6)
    fail_on(monkeypatch, ids[2], RuntimeError("disk hiccup"))
    report = await import_path(services, tmp_path / "mails", batch=BATCH)
    assert report.total == 6 and report.created == 5
    assert [source for source, _ in report.errors] == ["002.eml"]
    assert await stored_ids() == sorted(ids[:2] + ids[3:])
    # Nothing of the failed message survived its savepoint: no inbox row, no refs.
    assert not await InboxItem.filter(key=f"email:{ids[2]}").exists()
    assert not await MessageRef.filter(ref=ids[2]).exists()
    assert await Ticket.all().count() == 5

    monkeypatch.undo()
    again = await import_path(services, tmp_path / "mails", batch=BATCH)
    assert again.created == 1 and again.duplicates == 5 and not again.errors
    assert await stored_ids() == sorted(ids)
    assert await Ticket.all().count() == 6


async def test_a_crash_mid_batch_loses_the_batch_only_and_a_rerun_stores_each_once(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    ids = write_mails(tmp_path / "mails", 10)
    heard: list[TicketEvent] = []

    async def listen(event: TicketEvent) -> None:
        heard.append(event)

    services.bus.subscribe(listen)
    fail_on(monkeypatch, ids[6], Crash())  # the second batch: ids[4:8]
    with pytest.raises(Crash):
        await import_path(services, tmp_path / "mails", batch=BATCH)
    # The first batch is committed; nothing of the second (4, 5 and 6 were written).
    assert await stored_ids() == sorted(ids[:4])
    assert await InboxItem.all().count() == 4
    assert await MessageRef.filter(ref__in=ids[4:]).count() == 0
    # Subscribers heard of the committed batch only, and only after its commit.
    assert sorted(e.ticket.number for e in heard) == \
        sorted(await Ticket.all().values_list("id", flat=True))
    assert len(heard) == 4

    monkeypatch.undo()
    again = await import_path(services, tmp_path / "mails", batch=BATCH)
    assert again.created == 6 and again.duplicates == 4 and not again.errors
    assert await stored_ids() == sorted(ids)  # each message once
    assert await Interaction.filter(external_id__in=ids).count() == 10
    assert await Ticket.all().count() == 10
    assert len(heard) == 10


async def test_batches_thread_replies_across_batch_boundaries(
        services: Services, team: Team, tmp_path: Path) -> None:
    folder = tmp_path / "thread"
    folder.mkdir()
    for n in range(5):  # one conversation, each reply naming the one before
        parent = f"<t{n - 1}@example.cl>" if n else None
        (folder / f"{n}.eml").write_bytes(mail(
            subject="Re: Consulta" if n else "Consulta", body=f"Mensaje {n}.",
            message_id=f"<t{n}@example.cl>", in_reply_to=parent, references=parent,
            day=1 + n))
    report = await import_path(services, folder, batch=2)
    assert report.created == 1 and report.outcomes["appended"] == 4
    assert await Ticket.all().count() == 1

"""``atiende mail import`` stores a new mail already processed: a batch of new mails at
once, without savepoints, their inbox rows inserted together (no claim or "processed"
mark); should anything fail, each mail in its own savepoint. Every other outcome (a
failure, a key stored meanwhile, a second copy) is the one the long way (stored, then
processed) gives, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.incoming.inbox_items import DONE, PENDING, QUARANTINED, PermanentInboxError
from bot.incoming.intake import IncomingMessage, IntakeResult, IntakeService
from bot.services import Services
from db.models import InboxItem, InboxRaw, Interaction, MessageRef, Ticket
from handlers.email import import_path
from handlers.email.importer import ImportReport, import_messages
from handlers.email.ingest import INBOX_KIND, EmailIngestor
from tests.conftest import Team
from tests.handlers.email.harness import mail
from tests.statements import count_statements


def write(folder: Path, count: int) -> list[tuple[str, bytes]]:
    """``count`` new customers' mails, one day apart (the import's order)."""
    folder.mkdir(exist_ok=True)
    out = []
    for n in range(count):
        raw = mail(sender=f"Cliente {n} <c{n}@cliente{n}.cl>", subject=f"Consulta {n}",
                   body=f"Hola, consulta número {n}.", message_id=f"<m{n}@cliente{n}.cl>",
                   day=1 + n, hour=9)
        (folder / f"{n:03d}.eml").write_bytes(raw)
        out.append((f"{n:03d}.eml", raw))
    return out


def refuse(monkeypatch: pytest.MonkeyPatch, message_id: str,
           error: Callable[[], Exception]) -> list[str]:
    """The intake fails on ``message_id`` (every time); the ids it was asked about."""
    real = IntakeService.receive
    asked: list[str] = []

    async def receive(self: IntakeService, msg: IncomingMessage) -> IntakeResult:
        asked.append(msg.external_id or "")
        if msg.external_id == message_id:
            raise error()
        return await real(self, msg)

    monkeypatch.setattr(IntakeService, "receive", receive)
    return asked


async def test_a_batch_of_new_mails_writes_its_inbox_rows_together_already_processed(
        services: Services, team: Team, tmp_path: Path) -> None:
    mails = write(tmp_path / "mails", 3)
    await services.message_ids.secret()  # made before any batch, in a commit of its own
    with count_statements() as seen:
        report = await import_path(services, tmp_path / "mails")
    assert report.created == 3 and not report.errors
    inbox = [s.split(" ")[0] for s in seen.sql if '"inbox"' in s.split(" WHERE")[0]]
    # One look-up of the batch's keys, then the rows of the three together and their ids:
    # no claim, no "processed" mark, no insert a mail.
    assert inbox == ["SELECT", "INSERT", "SELECT"], seen
    assert len([s for s in seen.sql if s.startswith('INSERT INTO "inbox_raw"')]) == 1
    # One transaction and not a single savepoint (the tickets' units of work included).
    assert seen.transactions == ["begin", "commit"]
    rows = await InboxItem.all().order_by("id")
    tickets = dict(await Interaction.filter(external_id__not_isnull=True)
                   .values_list("external_id", "ticket_id"))
    assert [(r.key, r.status, r.attempts, r.ticket_id_ref, r.last_error) for r in rows] == [
        (f"email:<m{n}@cliente{n}.cl>", DONE, 1, tickets[f"<m{n}@cliente{n}.cl>"], "")
        for n in range(3)]
    assert all(r.processed_at is not None for r in rows)
    raws = dict(await InboxRaw.all().values_list("item_id", "data"))
    assert [bytes(raws[r.id]) for r in rows] == [raw for _, raw in mails]


async def test_a_failing_mail_is_stored_pending_with_its_error_and_the_rest_land(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "mails", 4)
    asked = refuse(monkeypatch, "<m1@cliente1.cl>", lambda: RuntimeError("the database hiccupped"))
    report = await import_path(services, tmp_path / "mails")
    assert report.created == 3 and report.outcomes["pending"] == 1 and not report.errors
    # Tried with its batch at once, then the short way, each rolled back, then stored and
    # tried once more the long way.
    assert asked.count("<m1@cliente1.cl>") == 3
    row = await InboxItem.get(key="email:<m1@cliente1.cl>")
    assert (row.status, row.attempts, row.ticket_id_ref) == (PENDING, 1, None)
    assert "the database hiccupped" in row.last_error
    assert await InboxRaw.filter(item_id=row.id).exists()  # kept for the retry
    assert not await Interaction.filter(external_id="<m1@cliente1.cl>").exists()
    assert not await MessageRef.filter(ref="<m1@cliente1.cl>").exists()
    assert await Ticket.all().count() == 3

    monkeypatch.undo()  # the retry of the stored mail lands it, once
    services.inbox.register(INBOX_KIND, EmailIngestor(services).process)
    await services.inbox.requeue(row.id)
    await services.inbox.drain()
    assert (await InboxItem.get(id=row.id)).status == DONE
    assert await Interaction.filter(external_id="<m1@cliente1.cl>").count() == 1
    assert await Ticket.all().count() == 4


async def test_a_mail_that_can_never_land_is_quarantined_as_before(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path / "mails", 2)
    refuse(monkeypatch, "<m0@cliente0.cl>", lambda: PermanentInboxError("remitente inutilizable"))
    report = await import_path(services, tmp_path / "mails")
    assert report.created == 1 and report.outcomes["quarantined"] == 1 and not report.errors
    row = await InboxItem.get(key="email:<m0@cliente0.cl>")
    assert (row.status, row.attempts, row.last_error) == (QUARANTINED, 1,
                                                          "remitente inutilizable")


async def test_a_key_stored_meanwhile_rolls_the_processing_back_and_is_a_duplicate(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The key look-up misses a row another importer stored in between: the insert
    fails (on PostgreSQL, aborting the savepoint), the mail's processing is rolled back
    and the long way finds the stored row."""
    mails = write(tmp_path / "mails", 3)
    first = await import_messages(services, mails[:1], ImportReport("a"))
    assert first.created == 1

    async def nothing_known(keys: list[str]) -> set[str]:
        return set()

    monkeypatch.setattr("handlers.email.importer.known_keys", nothing_known)
    report = await import_messages(services, mails, ImportReport("b"))
    assert report.duplicates == 1 and report.created == 2 and not report.errors
    assert await Interaction.filter(external_id="<m0@cliente0.cl>").count() == 1
    assert await Ticket.all().count() == 3
    assert await InboxItem.all().count() == 3


async def test_two_copies_in_one_batch_store_one_and_reimporting_changes_nothing(
        services: Services, team: Team, tmp_path: Path) -> None:
    mails = write(tmp_path / "mails", 2)
    report = await import_messages(services, [*mails, ("copia.eml", mails[0][1])],
                                   ImportReport("x"))
    assert report.created == 2 and report.duplicates == 1 and not report.errors
    again = await import_path(services, tmp_path / "mails")
    assert again.duplicates == 2 and again.created == 0
    assert await InboxItem.all().count() == 2
    assert await Interaction.filter(external_id__not_isnull=True).count() == 2

"""``atiende mail import`` tries a batch of new mails at once, in one transaction without
savepoints; anything that fails in it, even a failure caught on the way, rolls the whole
batch back and it is done again one mail at a time. What the redo leaves is what the
one-by-one import leaves: each mail once, subscribers told once, after the commit."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from bot.incoming.intake import IncomingMessage, IntakeResult
from bot.outgoing.message_ids import MessageIdSigner
from bot.process.errors import StaleAction
from bot.process.events import TicketEvent
from bot.services import Services
from db.models import InboxItem, Interaction, Ticket
from handlers.email.importer import ImportReport, import_messages
from tests.conftest import Team
from tests.handlers.email.harness import mail
from tests.handlers.email.test_import_stored_processed import refuse, write
from tests.statements import count_statements


async def test_a_failure_caught_inside_a_batch_redoes_it_one_mail_at_a_time(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A note on a stale version is refused and caught: with no savepoint to roll back
    to, the batch cannot tell what it left behind, so it is redone whole."""
    mails = write(tmp_path / "mails", 4)
    heard: list[TicketEvent] = []

    async def listen(event: TicketEvent) -> None:
        heard.append(event)

    services.bus.subscribe(listen)
    asked = refuse(monkeypatch, "<never@example.cl>", RuntimeError)  # records, refuses none
    real_receive = services.intake.receive
    stale = ["<m2@cliente2.cl>"]

    async def receive_then_stale_note(message: IncomingMessage) -> IntakeResult:
        result = await real_receive(message)
        if message.external_id in stale and result.ticket is not None:
            stale.clear()  # once
            with contextlib.suppress(StaleAction):
                await services.tickets.note(team.admin, result.ticket.number, "nota",
                                            expected_version=99)
        return result

    monkeypatch.setattr(services.intake, "receive", receive_then_stale_note)
    with count_statements() as seen:
        report = await import_messages(services, mails, ImportReport("x"))
    ids = [f"<m{n}@cliente{n}.cl>" for n in range(4)]
    assert asked == ids + ids  # the batch at once, then each mail on its own
    assert "savepoint" in seen.transactions  # the redo's, one a mail
    assert report.total == 4 and report.created == 4 and not report.errors
    assert sorted(await Interaction.filter(external_id__not_isnull=True)
                  .values_list("external_id", flat=True)) == sorted(ids)
    assert await Ticket.all().count() == 4 and await InboxItem.all().count() == 4
    assert len(heard) == 4  # the attempt's events went with its rollback


async def test_a_batch_with_a_mail_imported_before_goes_one_by_one_without_an_attempt(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    mails = write(tmp_path / "mails", 3)
    assert (await import_messages(services, mails[1:2], ImportReport("a"))).created == 1
    asked = refuse(monkeypatch, "<never@example.cl>", RuntimeError)
    report = await import_messages(services, mails, ImportReport("b"))
    assert report.created == 2 and report.duplicates == 1 and not report.errors
    assert asked == ["<m0@cliente0.cl>", "<m2@cliente2.cl>"]  # each processed once


async def test_the_message_id_secret_outlives_a_batch_rolled_back(
        services: Services, team: Team, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A mail naming an id shaped like ours makes the intake verify it, which needs the
    installation's secret. Made inside a batch rolled back, the secret would stay in this
    process's memory only, and the next process would sign with another one."""
    raws = [("0.eml", mail(message_id="<r0@example.cl>",
                           references="<atiende-7.0123456789abcdef@example.cl>")),
            ("1.eml", mail(sender="Luis <luis@example.cl>", message_id="<r1@example.cl>",
                           day=10))]
    refuse(monkeypatch, "<r1@example.cl>", lambda: RuntimeError("falla"))
    report = await import_messages(services, raws, ImportReport("x"))
    assert report.created == 1 and report.outcomes["pending"] == 1
    another_process = MessageIdSigner(services.settings, services.kv)
    assert await another_process.secret() == await services.message_ids.secret()

"""``atiende mail import`` translates the batches ahead in a helper process: what the
helper hands back is exactly what this process would have worked out (every mail of the
shared corpus included), a mail it cannot read is read here and reported as ever, and an
import whose helper dies goes on without it."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.services import Services
from db.models import Attachment, Interaction, Ticket
from handlers.email import importer
from handlers.email.ahead import Batch, can_fork, translated_ahead
from handlers.email.importer import ImportReport, import_messages
from handlers.email.ingest import EmailIngestor, MailIn
from handlers.email.translate import Translated, Translator
from tests.conftest import CORPUS, Team, requires_corpus
from tests.handlers.email.harness import mail

pytestmark = pytest.mark.skipif(not can_fork(), reason="the helper is forked, on Linux only")

AUTO_REPLY = {"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}
PDF = ("contrato.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 3000)


def varied() -> list[tuple[str, bytes]]:
    """A conversation with a reply, HTML, a file, an auto-reply, and bytes that are no mail."""
    return [
        ("0.eml", mail(message_id="<v0@example.cl>", day=1)),
        ("1.eml", mail(message_id="<v1@example.cl>", subject="Re: Consulta por hosting",
                       in_reply_to="<v0@example.cl>", references="<v0@example.cl>", day=2)),
        ("2.eml", mail(sender="Luis <luis@example.cl>", message_id="<v2@example.cl>",
                       html="<p>Hola, <b>no</b> puedo entrar</p>", attachments=[PDF], day=3)),
        ("3.eml", mail(sender="Luis <luis@example.cl>", message_id="<v3@example.cl>",
                       subject="Fuera de la oficina", headers=AUTO_REPLY,
                       in_reply_to="<v2@example.cl>", day=4)),
        ("4.eml", b"\x00\xff not a mail at all \xfe"),
        ("5.eml", mail(sender="Eva <eva@example.cl>", message_id="<v5@example.cl>", day=5)),
    ]


def here(translator: Translator, raw: bytes) -> tuple[str, str, Translated] | None:
    """What this process works out for ``raw`` (None: it cannot)."""
    try:
        read = translator.read(raw)
        return read.key, read.summary, translator.translate(raw, read.head)
    except Exception:
        return None


async def through_the_helper(translator: Translator, raws: list[bytes]
                             ) -> list[MailIn | None]:
    """``raws`` as the helper hands them back (the first batch is this process's own)."""
    batches: Iterator[Batch] = iter([[("first", raws[0])],
                                     *([(str(i), r)] for i, r in enumerate(raws))])
    out: list[MailIn | None] = []
    async with contextlib.aclosing(translated_ahead(translator, batches)) as each:
        async for batch, mails in each:
            if batch[0][0] != "first":
                assert mails is not None, "a batch after the first is the helper's"
                out.extend(mails)
    return out


async def assert_the_same(services: Services, raws: list[bytes]) -> None:
    translator = EmailIngestor(services).translator
    helped = await through_the_helper(translator, raws)
    assert len(helped) == len(raws)
    for raw, got in zip(raws, helped, strict=True):
        expected = here(translator, raw)
        if got is None:
            continue  # this process reads it itself: nothing to compare
        assert expected is not None
        assert (got.raw, got.key, got.summary, got.translated) == (raw, *expected)


async def test_the_helper_translates_as_this_process_does(services: Services) -> None:
    await assert_the_same(services, [raw for _, raw in varied()])


@requires_corpus
async def test_the_helper_translates_every_corpus_mail_as_this_process_does(
        services: Services) -> None:
    raws = [p.read_bytes() for p in sorted((CORPUS / "email").glob("*.eml"))]
    assert len(raws) >= 70
    await assert_the_same(services, raws)


async def test_an_import_with_the_helper_threads_files_and_reports_as_ever(
        services: Services, team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    helped: list[bool] = []
    real = importer._import_batch  # noqa: SLF001 (recording what the batches were given)

    async def recording(*args: Any) -> None:
        helped.append(args[-1] is not None)
        await real(*args)

    monkeypatch.setattr(importer, "_import_batch", recording)
    report = await import_messages(services, varied(), ImportReport("x"), batch=2,
                                   helper=True)
    assert helped == [False, True, True]  # the first batch read here, the rest ahead
    assert report.total == 6 and report.created == 3 and report.outcomes["appended"] == 1
    assert report.outcomes["automatic"] == 1 and report.outcomes["quarantined"] == 1
    assert await Ticket.all().count() == 3
    reply = await Interaction.get(external_id="<v1@example.cl>")
    first = await Interaction.get(external_id="<v0@example.cl>")
    assert reply.ticket_id == first.ticket_id  # threaded onto the first mail's ticket
    pdf = await Attachment.get(filename="contrato.pdf")
    assert pdf.stored_path and Path(pdf.stored_path).read_bytes() == PDF[2]


def _dies(translator: Translator, raws: list[bytes]) -> None:
    signal.raise_signal(signal.SIGKILL)  # the helper process is killed


async def test_an_import_whose_helper_dies_goes_on_without_it(
        services: Services, team: Team, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr("handlers.email.ahead.prepare", _dies)
    report = await import_messages(services, varied(), ImportReport("x"), batch=2,
                                   helper=True)
    assert report.total == 6 and report.created == 3 and not report.errors
    assert await Interaction.filter(external_id__not_isnull=True).count() == 5
    assert "helper process failed" in caplog.text

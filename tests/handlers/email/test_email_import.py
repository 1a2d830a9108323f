"""``import_path``: files, directories, Maildir, mbox; idempotent; threading accuracy on the
shared benchmark corpus (scored against its manifest)."""

from __future__ import annotations

import csv
import mailbox
import random
import subprocess
import sys
from pathlib import Path

import pytest

from bot.process.domain import InteractionKind
from bot.services import Services
from db.models import Interaction
from handlers.email import import_path
from handlers.email.ingest import EmailIngestor
from tests.conftest import CORPUS, NO_CORPUS, Team
from tests.handlers.email.harness import mail

MAKE_CORPUS = CORPUS.parent / "bench" / "make_corpus.py"
BENCH_N = 200


@pytest.fixture(scope="module")
def bench_corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    if not MAKE_CORPUS.is_file():
        pytest.skip(NO_CORPUS)
    out = tmp_path_factory.mktemp("bench") / "corpus"
    subprocess.run([sys.executable, str(MAKE_CORPUS), "--n", str(BENCH_N), "--out", str(out)],
                   check=True, capture_output=True, timeout=60)
    with (out.parent / "corpus.manifest.tsv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    assert len(rows) == BENCH_N
    return out, rows


async def threading_accuracy(services: Services, rows: list[dict[str, str]]) -> float:
    """Share of messages on the same ticket as their thread's root message."""
    ticket_of = {}
    for row in rows:
        ticket_of[row["index"]] = await services.intake.find_ticket_by_refs([row["message_id"]])
    good = sum(1 for row in rows if ticket_of[row["index"]] is not None
               and ticket_of[row["index"]] == ticket_of[row["thread_root"]])
    return good / len(rows)


async def test_bench_corpus_in_arrival_order_threads_and_reimports_as_no_op(
        services: Services, team: Team, bench_corpus: tuple[Path, list[dict[str, str]]]) -> None:
    folder, rows = bench_corpus
    report = await import_path(services, folder)
    roots = {row["thread_root"] for row in rows}
    assert report.total == BENCH_N and not report.errors
    assert report.created == len(roots)
    assert report.outcomes["appended"] == BENCH_N - len(roots)
    assert await threading_accuracy(services, rows) >= 0.99
    interactions = await Interaction.all().count()
    again = await import_path(services, folder)
    assert again.duplicates == BENCH_N and again.created == 0
    assert await Interaction.all().count() == interactions
    assert "200 correos leídos" in again.summary() and "200 ya importados" in again.summary()


async def test_bench_corpus_shuffled_still_threads(
        services: Services, team: Team, bench_corpus: tuple[Path, list[dict[str, str]]]) -> None:
    folder, rows = bench_corpus
    files = sorted(folder.glob("*.eml"))
    random.Random(20261209).shuffle(files)
    ingest = EmailIngestor(services).ingest
    for file in files:
        await ingest(file.read_bytes())
    assert await threading_accuracy(services, rows) >= 0.99
    assert len(await services.queries.all()) == len({row["thread_root"] for row in rows})


def _three() -> list[bytes]:
    first = mail(body="Primer mensaje.", day=7)
    reply = mail(subject="Re: Consulta por hosting", message_id="<a2@example.cl>",
                 in_reply_to="<a1@example.cl>", body="Segundo mensaje.", day=8)
    other = mail(sender="luis@example.cl", subject="Otra cosa", message_id="<l1@example.cl>",
                 body="Tercer mensaje.", day=9)
    return [first, reply, other]


async def test_maildir_sorted_by_date_and_mbox_and_single_file(services: Services, team: Team,
                                                               tmp_path: Path) -> None:
    first, reply, other = _three()
    box = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for raw in (reply, other, first):  # the reply is delivered first: Date decides
        box.add(raw)
    report = await import_path(services, tmp_path / "Maildir")
    assert (report.total, report.created, report.outcomes["appended"]) == (3, 2, 1)

    mbox_path = tmp_path / "historial.mbox"
    mbox = mailbox.mbox(mbox_path, create=True)
    for raw in (first, reply, other, mail(sender="eva@example.cl", message_id="<e1@x.cl>")):
        mbox.add(raw)
    mbox.flush()
    mbox.close()
    from_mbox = await import_path(services, mbox_path)
    assert (from_mbox.total, from_mbox.duplicates, from_mbox.created) == (4, 3, 1)

    single = tmp_path / "uno.eml"
    single.write_bytes(mail(sender="sol@example.cl", message_id="<s1@x.cl>"))
    assert (await import_path(services, single)).created == 1
    assert (await import_path(services, single)).duplicates == 1
    assert await Interaction.filter(kind=InteractionKind.INBOUND).count() == 5


async def test_directory_with_a_broken_file_reports_and_goes_on(services: Services, team: Team,
                                                                tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(mail())
    (tmp_path / "b.eml").write_bytes(b"\x00\xff not a mail at all \xfe")
    report = await import_path(services, tmp_path)
    assert report.total == 2 and report.created == 1
    assert report.outcomes["quarantined"] == 1  # no sender: kept for a person, no crash
    assert "2 correos leídos" in report.summary()

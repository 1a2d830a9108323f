"""``atiende mail import PATH``: a .eml file, a directory of them, a Maildir or an mbox.

Everything goes through the same ``EmailIngestor`` as IMAP, so imported history threads
and de-duplicates exactly like live mail, and importing the same messages again changes
nothing. Sources without an order of their own (directories, Maildirs) are fed in the
order of their Date headers, so parents usually precede replies; mbox keeps its order.
Messages are committed a batch at a time (``bot.incoming.batches``): the files stay where they
are, so a crash mid-batch loses nothing, and the next import stores each message once. A
batch of new mails is first tried at once, without savepoints; should anything in it fail,
it is rolled back and done one by one, each mail in a savepoint of its own.
"""

from __future__ import annotations

import contextlib
import logging
import mailbox
from collections import Counter
from collections.abc import AsyncGenerator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from bot.app.progress import Progress
from bot.incoming.batches import atomic
from bot.incoming.inbox_store import KnownKey, ProcessingFailed, known_keys
from bot.services import Services
from bot.storage.savepoints import optimistic
from handlers.email.ahead import Batch, can_fork, translated_ahead
from handlers.email.ingest import EmailIngestor, IngestResult, MailIn

log = logging.getLogger(__name__)

_HEAD_BYTES = 16 * 1024  # enough for the headers of nearly every message
# Messages per commit: each commit waits for the disk, so a batch turns dozens of fsyncs
# into one; small enough that a live ``atiende run`` on the same SQLite file waits for
# the import's write lock a fraction of a second at most.
BATCH_MESSAGES = 50


@dataclass
class ImportReport:
    """Counts per outcome, plus the sources that could not be read or ingested."""

    path: str
    total: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (source, error)
    tickets: set[int] = field(default_factory=set)

    @property
    def created(self) -> int:
        return self.outcomes["created"]

    @property
    def duplicates(self) -> int:
        return self.outcomes["duplicate"]

    def summary(self) -> str:
        """One line for the terminal (Spanish, like every text a person reads)."""
        o = self.outcomes
        text = (f"{self.total} correos leídos de {self.path}: {o['created']} tickets nuevos, "
                f"{o['appended'] + o['reopened']} respuestas en tickets existentes "
                f"({o['reopened']} reabiertos), {o['duplicate']} ya importados, "
                f"{o['automatic']} automáticos registrados, {o['dropped']} descartados, "
                f"{o['own']} propios, {len(self.errors)} con error.")
        if o["quarantined"] or o["third_party"] or o["pending"]:
            text += (f" {o['quarantined']} en cuarentena (atiende inbox list), "
                     f"{o['third_party']} de terceros, {o['pending']} por reintentar.")
        for source, error in self.errors[:10]:
            text += f"\n  error en {source}: {error}"
        return text


async def import_path(services: Services, path: Path | str,
                      progress: Progress | None = None,
                      batch: int = BATCH_MESSAGES) -> ImportReport:
    """Import every message under ``path``; never stops at one bad message.
    ``progress`` (``bot.app.progress``) learns the total once the messages are listed."""
    path = Path(path)
    count, messages = list_messages(path)
    if progress is not None:
        progress.total = count
    report = await import_messages(services, messages, ImportReport(str(path)), progress,
                                   batch)
    log.info("mail import done path=%s total=%s outcomes=%s errors=%s", path, report.total,
             dict(report.outcomes), len(report.errors))
    return report


async def import_messages(services: Services, messages: Iterable[tuple[str, bytes]],
                          report: ImportReport, progress: Progress | None = None,
                          batch: int = BATCH_MESSAGES, helper: bool | None = None
                          ) -> ImportReport:
    """(source, raw bytes) in the order given, ``batch`` messages per commit
    (``bot.incoming.batches``): the sources stay where they are, so a crash loses no message,
    and importing again stores each one once. ``helper``: translate the batches ahead in
    a helper process (``handlers/email/ahead.py``; by default where the platform forks)."""
    ingestor = EmailIngestor(services)
    # The installation's Message-ID secret is made on first use and then kept in memory:
    # made here, in a commit of its own, never inside a batch that may be rolled back.
    await services.message_ids.secret()
    batches = _batches(messages, max(1, batch))
    ahead = translated_ahead(ingestor.translator, batches) \
        if (can_fork() if helper is None else helper) else _alone(batches)
    async with contextlib.aclosing(ahead) as each:
        async for items, mails in each:
            await _import_batch(services, ingestor, report, items, progress, mails)
    return report


def _batches(messages: Iterable[tuple[str, bytes]], size: int) -> Iterator[Batch]:
    pending: Batch = []
    for item in messages:
        pending.append(item)
        if len(pending) >= size:
            yield pending
            pending = []
    if pending:
        yield pending


async def _alone(batches: Iterator[Batch]
                 ) -> AsyncGenerator[tuple[Batch, list[MailIn | None] | None], None]:
    for items in batches:
        yield items, None


async def _import_batch(services: Services, ingestor: EmailIngestor, report: ImportReport,
                        items: Batch, progress: Progress | None,
                        ahead: list[MailIn | None] | None) -> None:
    """One commit for ``items``; counted in ``report`` only once it is durable.
    ``ahead``: the mails as the helper read them (None where this process reads them)."""
    mails = [(ahead[i] if ahead is not None else None) or _read(ingestor, raw)
             for i, (_, raw) in enumerate(items)]
    done = await _at_once(services, ingestor, report.path, mails)
    if done is None:
        done = await _one_by_one(services, ingestor, report.path, items, mails)
    report.total += done.total
    report.outcomes.update(done.outcomes)
    report.errors.extend(done.errors)
    report.tickets |= done.tickets
    if progress is not None:
        for _ in items:
            progress.advance()


class _Redo(Exception):
    """A failure in the batch was caught on the way: roll it back, do it one by one."""


async def _at_once(services: Services, ingestor: EmailIngestor, path: str,
                   mails: list[MailIn | None]) -> ImportReport | None:
    """A batch of new mails in one transaction without a single savepoint
    (``bot.storage.savepoints.optimistic``), their inbox rows inserted together at the
    end: four round trips fewer a mail. Any failure, even one caught on the way (a stale
    ticket read again), rolls the whole batch back, and ``None`` says: one by one. So
    does a batch with a mail unreadable, imported before, or twice in it, which takes the
    long way anyway. On PostgreSQL a statement that failed aborts the transaction; the
    rows inserted at the end then fail too, so such a batch is never committed short."""
    readable = [m for m in mails if m is not None]
    keys = {m.key for m in readable}
    if len(readable) < len(mails) or len(keys) < len(mails) or await known_keys(list(keys)):
        return None
    done = ImportReport(path)
    try:
        async with atomic(services.bus), optimistic() as batch:
            results = await ingestor.ingest_all_unstored(readable)
            if batch.failed is not None:
                raise _Redo from batch.failed
    except Exception as exc:  # rolled back whole, events included
        cause = exc.__cause__ if isinstance(exc, _Redo) else exc
        log.info("mail import: a batch of %s done one by one after %s", len(mails),
                 type(cause).__name__)
        return None
    done.total = len(results)
    for result in results:
        _count(done, result)
    return done


async def _one_by_one(services: Services, ingestor: EmailIngestor, path: str,
                      items: list[tuple[str, bytes]], mails: list[MailIn | None]
                      ) -> ImportReport:
    """The batch in one transaction, each mail in a savepoint of its own, so that one
    failing mail is rolled back alone and recorded."""
    done = ImportReport(path)
    async with atomic(services.bus):
        # Keys the inbox holds already (imported before, or by the IMAP reader) take
        # the long way; so does a second copy of a mail within the batch.
        seen = await known_keys([m.key for m in mails if m is not None])
        for (source, raw), mail in zip(items, mails, strict=True):
            done.total += 1
            if mail is None:  # unreadable headers: the long way reports why
                await _import_one(services, ingestor, done, source, raw, None)
                continue
            await _import_one(services, ingestor, done, source, raw, mail,
                              known=mail.key in seen)
            seen.add(mail.key)
    return done


async def _import_one(services: Services, ingestor: EmailIngestor, report: ImportReport,
                      source: str, raw: bytes, mail: MailIn | None,
                      known: bool = True) -> None:
    """One message in a savepoint of its own: a failure undoes this one only (on
    PostgreSQL a failed statement aborts the transaction up to the savepoint).

    A new key is processed first and its inbox row stored already processed, in that
    one savepoint. Should the processing fail (or the key turn out stored meanwhile),
    the savepoint is rolled back and the message takes the long way: stored first,
    then processed, its failure recorded for a retry, as the inbox does for any item."""
    try:
        result = None
        if mail is not None and not known:
            with contextlib.suppress(ProcessingFailed, KnownKey):
                async with atomic(services.bus):
                    result = await ingestor.ingest_unstored(mail)
        if result is None:
            async with atomic(services.bus):
                result = await ingestor.ingest(raw, mail)
    except Exception as exc:  # one broken message must not stop a migration
        log.exception("import failed source=%s", source)
        report.errors.append((source, f"{type(exc).__name__}: {exc}"))
        return
    _count(report, result)


def _count(report: ImportReport, result: IngestResult) -> None:
    report.outcomes[result.outcome] += 1
    if result.ticket_number is not None:
        report.tickets.add(result.ticket_number)


def _read(ingestor: EmailIngestor, raw: bytes) -> MailIn | None:
    try:
        return ingestor.read(raw)
    except Exception:  # reported by the long way, which reads it again
        return None


def iter_messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(source label, raw bytes) for every message in a file, directory, Maildir or mbox."""
    yield from list_messages(path)[1]


def list_messages(path: Path) -> tuple[int, Iterator[tuple[str, bytes]]]:
    """How many messages ``path`` holds, and (source label, raw bytes) for each: the
    count comes from the listing (file names, the mbox's index), not from reading them."""
    if not path.exists():
        raise FileNotFoundError(f"no existe {path}")
    if path.is_dir() and all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
        # A Maildir is files in new/ and cur/ (tmp/ holds deliveries in progress).
        files = [p for sub in ("new", "cur") for p in (path / sub).iterdir()
                 if p.is_file() and not p.name.startswith(".")]
        return len(files), _by_date(path, files)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and _looks_like_mail(p)]
        return len(files), _by_date(path, files)
    if _is_mbox(path):
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
        return len(keys), ((f"{path.name}#{i + 1}", box.get_bytes(key))
                           for i, key in enumerate(keys))
    return 1, iter([(path.name, path.read_bytes())])


def _looks_like_mail(path: Path) -> bool:
    return path.suffix.lower() in (".eml", ".msg", "") and not path.name.startswith(".")


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _by_date(root: Path, files: list[Path]) -> Iterator[tuple[str, bytes]]:
    """Oldest first by the Date header; undated ones at the end, by name. Only the
    headers are read to sort, so a large migration is not held in memory."""
    latest = datetime.max.replace(tzinfo=UTC)
    keyed = []
    for file in files:
        with file.open("rb") as handle:
            keyed.append((_date_of(handle.read(_HEAD_BYTES)) or latest, str(file), file))
    for _date, _name, file in sorted(keyed):
        yield str(file.relative_to(root)), file.read_bytes()


def _date_of(raw: bytes) -> datetime | None:
    head = raw.split(b"\n\n", 1)[0].split(b"\r\n\r\n", 1)[0]
    value = None
    for line in head.splitlines():
        if line[:5].lower() == b"date:":
            value = line[5:].decode("ascii", "replace").strip()
            break
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

"""Backup, restore and anonymisation cost on SQLite, and what a backup does to writers.

Run: ``python bench/records_backup.py [10000 100000]`` (tickets per size).

Each size gets a fresh migrated SQLite file in a temporary directory, filled with
``bulk_create``: one customer per 10 tickets, four interactions of ~300 bytes per
ticket, and 200 attachment files of 50 KB in the store. Then, back to back:

- ``backup``: ``bot.records.backup.make_backup`` (online backup API + attachments +
  manifest), p50 of 3, and the archive's size;
- ``restore``: ``restore`` of that archive into an empty directory (checksums verified);
- ``writer``: 300 autocommit interaction inserts alone (the reference), then 300 while
  backups run back to back in a thread: p50/p99 per insert. The point: the online
  backup reads one snapshot beside the WAL writer, so writers are not stopped;
- ``anonymise``: one customer (10 tickets) through ``services.records.anonymise``,
  whose ``VACUUM`` rewrites the whole file: it grows with the database.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tortoise.transactions import in_transaction  # noqa: E402

from bot.process.clock import ManualClock  # noqa: E402
from bot.process.domain import Canal, Estado, InteractionKind  # noqa: E402
from bot.process.settings import Settings  # noqa: E402
from bot.process.views import Actor  # noqa: E402
from bot.records.backup import make_backup, restore  # noqa: E402
from bot.services import build_services  # noqa: E402
from db.connection import close_database, open_database, upgrade  # noqa: E402
from db.models import Attachment, Customer, Interaction, Ticket  # noqa: E402

NOW = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
CHUNK = 20_000
FILES = 200
WRITES = 300
BODY = "Buenas tardes, les escribo porque el cobro de diciembre aparece dos veces. " * 4


def _settings(base: Path) -> Settings:
    return Settings(_env_file=None, data_dir=base / "data",  # type: ignore[call-arg]
                    database_url=f"sqlite://{base / 'atiende.db'}")


async def _fill(size: int, settings: Settings) -> float:
    started = time.perf_counter()
    customers = [Customer(email=f"c{i}@example.cl", name=f"Cliente {i}", created_at=NOW)
                 for i in range(size // 10 + 1)]
    async with in_transaction():
        await Customer.bulk_create(customers, batch_size=CHUNK)
    first_customer = (await Customer.all().order_by("id").first()).id  # type: ignore[union-attr]
    for start in range(0, size, CHUNK):
        rows = [Ticket(customer_id=first_customer + i // 10, channel=Canal.EMAIL,
                       subject=f"t{i}", estado=Estado.RESOLVED, created_at=NOW,
                       updated_at=NOW, first_response_due=NOW + timedelta(hours=24),
                       resolution_due=NOW + timedelta(hours=48))
                for i in range(start, min(size, start + CHUNK))]
        async with in_transaction():
            await Ticket.bulk_create(rows, batch_size=CHUNK)
    first_ticket = (await Ticket.all().order_by("id").first()).id  # type: ignore[union-attr]
    for start in range(0, size * 4, CHUNK):
        rows = [Interaction(ticket_id=first_ticket + i // 4, kind=InteractionKind.INBOUND,
                            channel=Canal.EMAIL, author_name="Cliente", body=BODY,
                            created_at=NOW)
                for i in range(start, min(size * 4, start + CHUNK))]
        async with in_transaction():
            await Interaction.bulk_create(rows, batch_size=CHUNK)
    store = build_services(settings).attachments
    first_interaction = (await Interaction.all().order_by("id").first()).id  # type: ignore[union-attr]
    for i in range(FILES):
        stored = store.store(bytes([i % 256]) * 50_000 + str(i).encode(), f"f{i}.pdf",
                             "application/pdf")
        await Attachment.create(interaction_id=first_interaction + i * 4, filename=f"f{i}.pdf",
                                size=stored.size, sha256=stored.sha256,
                                stored_path=stored.stored_path)
    return time.perf_counter() - started


async def _writes(ticket_id: int) -> list[float]:
    samples = []
    for _ in range(WRITES):
        started = time.perf_counter()
        await Interaction.create(ticket_id=ticket_id, kind=InteractionKind.NOTE,
                                 channel=Canal.EMAIL, body="nota", created_at=NOW)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(size: int, base: Path) -> dict[str, float]:
    settings = _settings(base)
    await upgrade(settings.effective_database_url)
    await open_database(settings.effective_database_url)
    result: dict[str, float] = {"tickets": size}
    try:
        result["fill_s"] = await _fill(size, settings)
        db = Path(settings.effective_database_url.removeprefix("sqlite://"))
        result["db_mb"] = db.stat().st_size / 1e6
        runs = [make_backup(settings, base / "bk", NOW) for _ in range(3)]
        result["backup_s"] = statistics.median(r.seconds for r in runs)
        result["archive_mb"] = runs[-1].bytes / 1e6
        started = time.perf_counter()
        restore(_settings(base / "restored"), runs[-1].path)
        result["restore_s"] = time.perf_counter() - started

        alone = await _writes(1)
        stop = threading.Event()
        backups = 0

        def keep_backing_up() -> None:
            nonlocal backups
            while not stop.is_set():
                make_backup(settings, base / "bk2", NOW)
                backups += 1

        worker = threading.Thread(target=keep_backing_up)
        worker.start()
        during = await _writes(2)
        stop.set()
        worker.join()
        result.update(alone_p50=_p(alone, 0.5), alone_p99=_p(alone, 0.99),
                      during_p50=_p(during, 0.5), during_p99=_p(during, 0.99),
                      backups_during=backups)

        services = build_services(settings, ManualClock(NOW))
        started = time.perf_counter()
        await services.records.anonymise(Actor.system("bench"), "c5@example.cl")
        result["anonymise_s"] = time.perf_counter() - started
    finally:
        await close_database()
    return result


async def main(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(await measure(size, Path(tmp)))
    print(f"{'tickets':>8} | {'db MB':>6} | {'backup s':>8} | {'archive MB':>10} | "
          f"{'restore s':>9} | {'insert p50/p99 ms alone':>23} | "
          f"{'during backups':>16} | {'anonymise s':>11}")
    for r in rows:
        print(f"{int(r['tickets']):>8,} | {r['db_mb']:>6.1f} | {r['backup_s']:>8.2f} | "
              f"{r['archive_mb']:>10.1f} | {r['restore_s']:>9.2f} | "
              f"{r['alone_p50']:>10.2f} / {r['alone_p99']:>10.2f} | "
              f"{r['during_p50']:>6.2f} / {r['during_p99']:>7.2f} | {r['anonymise_s']:>11.2f}")
        print(f"{'':>8}   ({int(r['backups_during'])} backups ran during the "
              f"{WRITES} inserts)")


if __name__ == "__main__":
    asked = [int(a) for a in sys.argv[1:]] or [10_000, 100_000]
    asyncio.run(main(asked))

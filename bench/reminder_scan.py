"""Due-reminder query time at 10k, 100k and 1M tickets on SQLite.

Run: ``python bench/reminder_scan.py [10000 100000 1000000]``.

Each size gets a fresh migrated SQLite file in a temporary directory, filled with
``bulk_create`` (one transaction per 20k rows): 500 tickets have a reminder due, 30 %
have one in the future, the rest (closed, paused) have none. Then it times what a
scheduler pass and its wake-up actually run:

- ``due``: ``bot.reminders.scheduler.due_tickets`` (``next_reminder_at <= now``, ordered,
  ``LIMIT 200``, customer and assignee joined): the query of ``fire_due``;
- ``ids``: the same query returning only ids (the index walk without building objects);
- ``next``: the earliest ``next_reminder_at`` (what ``run`` sleeps until).

The point: both stay flat as the table grows, because both walk the index.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tortoise import Tortoise  # noqa: E402
from tortoise.transactions import in_transaction  # noqa: E402

from bot.process.domain import Canal, Estado  # noqa: E402
from bot.reminders.scheduler import EPOCH, due_tickets  # noqa: E402
from db.connection import close_database, open_database, upgrade  # noqa: E402
from db.models import Customer, Ticket  # noqa: E402

NOW = datetime(2026, 12, 7, 11, 0, tzinfo=UTC)
DUE = 500
CHUNK = 20_000
RUNS = 30


def _ticket(i: int, customer_id: int, size: int) -> Ticket:
    if i < DUE:
        nxt: datetime | None = NOW - timedelta(minutes=1 + i)
    elif i % 10 < 3:
        nxt = NOW + timedelta(minutes=i % 100_000 + 1)
    else:
        nxt = None
    created = NOW - timedelta(hours=i % 5000)
    return Ticket(customer_id=customer_id, channel=Canal.EMAIL, subject=f"t{i}",
                  estado=Estado.IN_PROGRESS if nxt else Estado.RESOLVED,
                  created_at=created, updated_at=created,
                  first_response_due=created + timedelta(hours=24),
                  resolution_due=created + timedelta(hours=48), next_reminder_at=nxt)


async def _fill(size: int) -> float:
    started = time.perf_counter()
    customer = await Customer.create(email="bench@example.cl", created_at=NOW)
    for start in range(0, size, CHUNK):
        rows = [_ticket(i, customer.id, size) for i in range(start, min(size, start + CHUNK))]
        async with in_transaction():
            await Ticket.bulk_create(rows, batch_size=CHUNK)
    return time.perf_counter() - started


async def _timed(work) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(RUNS):
        started = time.perf_counter()
        await work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def _next() -> object:
    return await Ticket.filter(next_reminder_at__gte=EPOCH).order_by(
        "next_reminder_at").first().values_list("next_reminder_at", flat=True)


async def measure(size: int, workdir: Path) -> tuple[int, float, float, float, float, str]:
    url = f"sqlite://{workdir / f'bench_{size}.db'}"
    await upgrade(url)
    await open_database(url)
    try:
        fill = await _fill(size)
        rows = await due_tickets(NOW)
        assert len(rows) == 200, len(rows)
        due_ms = await _timed(lambda: due_tickets(NOW))
        ids_ms = await _timed(lambda: Ticket.filter(next_reminder_at__lte=NOW).order_by(
            "next_reminder_at").limit(200).values_list("id", flat=True))
        next_ms = await _timed(_next)
        conn = Tortoise.get_connection("default")
        _, plan = await conn.execute_query(
            "EXPLAIN QUERY PLAN SELECT id FROM tickets WHERE next_reminder_at <= ? "
            "ORDER BY next_reminder_at LIMIT 200", [NOW.isoformat()])
        detail = "; ".join(str(dict(r).get("detail", r)) for r in plan)
    finally:
        await close_database()
    return size, fill, due_ms, ids_ms, next_ms, detail


async def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = [await measure(size, Path(tmp)) for size in sizes]
    print(f"{'tickets':>10} | {'fill (s)':>8} | {'due query, ms':>13} | {'ids only, ms':>12} | "
          f"{'next wake, ms':>13}")
    print(f"{'-' * 10}-|-{'-' * 8}-|-{'-' * 13}-|-{'-' * 12}-|-{'-' * 13}")
    for size, fill, due_ms, ids_ms, next_ms, _ in results:
        print(f"{size:>10,} | {fill:>8.1f} | {due_ms:>13.2f} | {ids_ms:>12.2f} | "
              f"{next_ms:>13.3f}")
    print(f"\n(p50 of {RUNS} runs; 200 of {DUE} due rows returned)")
    print(f"query plan: {results[-1][5]}")


if __name__ == "__main__":
    asked = [int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000]
    asyncio.run(main(asked))

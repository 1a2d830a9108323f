"""The cost of ``synchronous=FULL`` on SQLite (WAL), against ``NORMAL``, on this disk.

    python bench/sqlite_durability.py WORK_DIR [--messages 1000] [--commits 2000] [--rounds 3]

WORK_DIR must be on the disk the database will live on (the figure is the disk's fsync).
Each round makes two freshly migrated databases in WORK_DIR, one per mode, and runs on
each, back to back through the project's own connection (``db.connection``):

- **commit**: ``services.kv.set``, one small write transaction each;
- **message**: ``services.intake.receive`` of a new customer email, the whole
  transaction we commit before telling a provider "received" (customer, ticket,
  interaction).

Prints per-operation latency (p50, p99) and operations per second for each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from _common import machine, percentile, print_table  # type: ignore[import-not-found]

from bot.incoming.intake import IncomingMessage
from bot.process.clock import SystemClock
from bot.process.domain import Canal
from bot.process.settings import Settings
from bot.services import build_services
from db.connection import close_database, open_database, upgrade

MODES = ("NORMAL", "FULL")


async def _run(work: Path, mode: str, round_no: int, commits: int,
               messages: int) -> dict[str, list[float]]:
    path = work / f"r{round_no}-{mode.lower()}.db"
    for leftover in path.parent.glob(path.name + "*"):
        leftover.unlink()
    base = f"sqlite://{path}"
    await upgrade(base)
    await open_database(f"{base}?journal_mode=WAL&synchronous={mode}&busy_timeout=10000")
    services = build_services(Settings(_env_file=None, data_dir=work / "data",  # type: ignore[call-arg]
                                       database_url=base), SystemClock())
    timings: dict[str, list[float]] = {"commit": [], "message": []}
    try:
        for i in range(commits):
            started = time.perf_counter()
            await services.kv.set("bench", f"k{i % 50}", {"i": i})
            timings["commit"].append(time.perf_counter() - started)
        for i in range(messages):
            started = time.perf_counter()
            await services.intake.receive(IncomingMessage(
                channel=Canal.EMAIL, body=f"Consulta número {i}: no puedo entrar al panel.",
                external_id=f"<bench-{round_no}-{i}@example.cl>",
                email=f"cliente{i}@example.cl", name=f"Cliente {i}", subject="Consulta"))
            timings["message"].append(time.perf_counter() - started)
    finally:
        await close_database()
    return timings


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path, help="directory on the disk under test")
    parser.add_argument("--commits", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[tuple[str, str], list[float]] = {}
    for round_no in range(args.rounds):
        for mode in MODES if round_no % 2 == 0 else reversed(MODES):
            timings = await _run(args.work, mode, round_no, args.commits, args.messages)
            for kind, values in timings.items():
                results.setdefault((kind, mode), []).extend(values)
    rows = []
    for kind in ("commit", "message"):
        normal_p50 = percentile(results[(kind, "NORMAL")], 50)
        for mode in MODES:
            values = results[(kind, mode)]
            p50 = percentile(values, 50)
            rows.append([kind, mode, len(values), p50 * 1000, percentile(values, 99) * 1000,
                         len(values) / sum(values), f"{p50 / normal_p50:.2f}x"])
    print(machine())
    print_table(["operation", "synchronous", "n", "p50 ms", "p99 ms", "per s", "p50 vs NORMAL"],
                rows, title=f"SQLite WAL, {args.work}")


if __name__ == "__main__":
    asyncio.run(main())

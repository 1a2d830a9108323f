"""NocoDB: backfill throughput and change -> visible latency, against a real NocoDB.

    python bench/nocodb_backfill.py [--tickets 10000] [--interactions 50000]
        [--changes 200] [--nocodb-dir DIR | --url URL --token TOKEN] [--work DIR]

Without ``--url`` it starts the NocoDB installed by ``scripts/install-nocodb.sh``
(``--nocodb-dir``, default ``.cache/nocodb``) on a free port with a fresh metadata file.
It fills a migrated SQLite file with N tickets (one customer each) and M interactions
spread over them (bulk inserts, not timed), runs ``atiende nocodb setup`` on a fresh
base, then times the backfill (queue everything, push with the bulk endpoints). Then
the background pusher runs as in ``atiende run`` and each of K changes (a ticket's
Prioridad) is timed from the service call until NocoDB has acknowledged the write that
carries it (a read after that sees it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._common import fresh_database, machine, peak_rss_mb, percentile, print_table  # noqa: E402


class TimedApi:
    """The real client, noting when each update of a Tickets row was acknowledged."""

    def __init__(self, inner: Any, tickets_table: list[str]) -> None:
        self._inner = inner
        self._tickets = tickets_table
        self.acked: dict[int, float] = {}
        self.event = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def update(self, table_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        result = await self._inner.update(table_id, rows)
        if self._tickets and table_id == self._tickets[0]:
            now = time.perf_counter()
            for row in rows:
                self.acked[int(row["Id"])] = now
            self.event.set()
        return result


async def fill(tickets: int, interactions: int) -> None:
    from bot.process.domain import Canal, InteractionKind
    from db.models import Customer, Interaction, Ticket

    now = __import__("datetime").datetime.now(__import__("datetime").UTC)
    await Customer.bulk_create([Customer(name=f"Cliente {i}", email=f"c{i}@empresa.cl",
                                         phone=f"+5691{i:07d}", created_at=now)
                                for i in range(1, tickets + 1)], batch_size=2000)
    await Ticket.bulk_create([Ticket(customer_id=i, channel=Canal.EMAIL, subject=f"Asunto {i}",
                                     description=f"Descripción del problema {i}",
                                     created_at=now, updated_at=now,
                                     first_response_due=now + timedelta(hours=24),
                                     resolution_due=now + timedelta(hours=48))
                              for i in range(1, tickets + 1)], batch_size=2000)
    await Interaction.bulk_create([Interaction(ticket_id=1 + i % tickets,
                                               kind=InteractionKind.INBOUND,
                                               channel=Canal.EMAIL, author_name="Cliente",
                                               body=f"Mensaje {i} " + "texto " * 20,
                                               created_at=now)
                                   for i in range(interactions)], batch_size=2000)


async def run(args: argparse.Namespace, url: str, token: str, base_id: str, db_url: str
              ) -> dict[str, Any]:
    from bot.nocodb.backfill import backfill
    from bot.nocodb.push import Pusher
    from bot.nocodb.schema import setup
    from bot.process.clock import SystemClock
    from bot.process.domain import Prioridad
    from bot.process.settings import Settings
    from bot.process.views import Actor
    from bot.services import build_services
    from db.connection import close_database, open_database
    from handlers.nocodb.api import HttpNocoApi

    settings = Settings(_env_file=None, database_url=db_url, nocodb_url=url,  # type: ignore[call-arg]
                        nocodb_token=token, nocodb_base_id=base_id)
    await open_database(db_url)
    inner = HttpNocoApi(url, token)
    out: dict[str, Any] = {}
    try:
        t0 = time.perf_counter()
        await fill(args.tickets, args.interactions)
        out["fill_s"] = time.perf_counter() - t0
        await setup(inner, settings)
        services = build_services(settings, SystemClock())
        tables: list[str] = []
        api = TimedApi(inner, tables)
        pusher = Pusher(api, settings, services.clock)  # type: ignore[arg-type]
        t0 = time.perf_counter()
        queued, pushed = await backfill(pusher, services.clock)
        out.update(backfill_s=time.perf_counter() - t0, queued=queued, pushed=pushed)
        schema = await pusher.ensure_schema()
        tables.append(schema.tables["Tickets"])
        from db.models import NocoRow

        rows = {r.ref_id: r.row_id for r in await NocoRow.filter(kind="ticket")}
        stop = asyncio.Event()
        services.bus.subscribe(lambda _e: _wake(pusher))
        loop_task = asyncio.create_task(pusher.run(stop))
        latencies: list[float] = []
        admin = Actor.system()  # classify needs a member: use the administrator
        member = await services.team.add("Admin", __import__("bot.process.domain").domain.Rol.ADMIN)
        admin = Actor.of(member)
        values = list(Prioridad)
        for k in range(args.changes):
            number = 1 + (k * 37) % args.tickets
            row_id = rows[number]
            api.acked.pop(row_id, None)
            start = time.perf_counter()
            await services.tickets.classify(admin, number, prioridad=values[k % 3])
            while row_id not in api.acked:
                api.event.clear()
                await api.event.wait()
            latencies.append((api.acked[row_id] - start) * 1000)
        stop.set()
        await loop_task
        out["latency_ms"] = latencies
    finally:
        await inner.aclose()
        await close_database()
    return out


async def _wake(pusher: Any) -> None:
    pusher.wake()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tickets", type=int, default=10_000)
    p.add_argument("--interactions", type=int, default=50_000)
    p.add_argument("--changes", type=int, default=200)
    p.add_argument("--nocodb-dir", default=None)
    p.add_argument("--url", default="")
    p.add_argument("--token", default="")
    p.add_argument("--work", default="")
    args = p.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="atiende-bench-nocodb-"))
    if args.nocodb_dir:
        os.environ["NOCODB_DIR"] = args.nocodb_dir
    from tests.servers.nocodb import NocoDBServer

    server = None
    if args.url:
        url, token = args.url, args.token
        base_id = _new_base(url, token)
    else:
        server = NocoDBServer().start()
        url, token = server.url, server.token
        base_id = server.new_base()
    try:
        db_url = fresh_database(work / "run")
        out = asyncio.run(run(args, url, token, base_id, db_url))
    finally:
        if server is not None:
            server.stop()
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    lat = out["latency_ms"]
    print(machine())
    print_table(["what", "n", "seconds", "records/s"], [
        ["fill SQLite (not timed)", args.tickets * 2 + args.interactions, out["fill_s"], "-"],
        ["backfill: queue + push", out["pushed"], out["backfill_s"],
         out["pushed"] / out["backfill_s"]]], title="Backfill")
    print_table(["path", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"], [
        ["change -> acknowledged by NocoDB", len(lat), percentile(lat, 50),
         percentile(lat, 90), percentile(lat, 99), max(lat)]], title="Latency")
    print(f"peak RSS of this process: {peak_rss_mb():.0f} MB")


def _new_base(url: str, token: str) -> str:
    import json
    import urllib.request

    request = urllib.request.Request(f"{url.rstrip('/')}/api/v2/meta/bases", method="POST",
                                     data=json.dumps({"title": "Atiende bench"}).encode(),
                                     headers={"xc-token": token,
                                              "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return str(json.loads(response.read())["id"])


if __name__ == "__main__":
    main()

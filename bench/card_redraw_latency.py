"""Benchmark: how long a ticket change committed on instance A takes to reach the card
subscribers of instance B (the event relay, ``bot/jobs/event_relay.py``), against the
in-process path one instance uses.

Run: ``python bench/card_redraw_latency.py [--changes 300] [--admin-url postgres://…]``.

Without ``--admin-url`` a throw-away PostgreSQL 15 is started (``tests/servers/postgres.py``,
fsync off). One process holds two ``Services`` on one migrated database, as two
instances would: A changes a ticket (``classify``, alternating the Prioridad), B runs
the relay (``LISTEN`` on its own connection) and a subscriber that stands in for the
Telegram/Slack card workers notes when the event arrives. Each change waits for its
event before the next, so the figure is latency, not throughput. The reference is the
same change with the in-process bus (one instance): subscriber told right after commit.
The chat's own HTTP edit comes on top in both cases (see ``chat_latency.py``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, percentile, print_table  # noqa: E402

from bot.jobs.event_relay import carry_events  # noqa: E402
from bot.process.clock import SystemClock  # noqa: E402
from bot.process.domain import Canal, Prioridad, Rol  # noqa: E402
from bot.process.events import TicketEvent  # noqa: E402
from bot.process.settings import Settings  # noqa: E402
from bot.process.views import Actor  # noqa: E402
from bot.services import Services, build_services  # noqa: E402
from db.connection import close_database, open_database, upgrade  # noqa: E402
from tests.servers.postgres import PostgresServer  # noqa: E402


class Arrivals:
    """A card subscriber that only notes when each ticket version arrived."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self.changed = asyncio.Event()

    async def __call__(self, event: TicketEvent) -> None:
        self.seen[event.ticket.version] = time.perf_counter()
        self.changed.set()

    async def wait(self, version: int) -> float:
        while version not in self.seen:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 10)
        return self.seen[version]


async def measure(a: Services, arrivals: Arrivals, number: int, changes: int) -> list[float]:
    actor = Actor.of(await a.team.admin())  # type: ignore[arg-type]
    took = []
    for i in range(changes):
        started = time.perf_counter()
        view = await a.tickets.classify(actor, number,
                                        prioridad=(Prioridad.ALTA, Prioridad.BAJA)[i % 2])
        took.append((await arrivals.wait(view.version) - started) * 1000)
    return took


async def run(url: str, changes: int, data_dir: Path) -> list[list[object]]:
    settings = Settings(_env_file=None, data_dir=data_dir,  # type: ignore[call-arg]
                        database_url=url, timezone="America/Santiago")
    await upgrade(url)
    await open_database(url)
    try:
        clock = SystemClock()
        a = build_services(settings, clock)
        admin = Actor.of(await a.team.add("Carla", Rol.ADMIN))
        customer = await a.customers.find_or_create(email="ana@example.cl")
        ticket = await a.tickets.open(admin, customer_id=customer.id, channel=Canal.EMAIL,
                                      description="Consulta")
        local = Arrivals()
        a.bus.subscribe(local)
        in_process = await measure(a, local, ticket.number, changes)

        a2 = build_services(settings.model_copy(update={"instance_name": "bench-a"}), clock)
        b = build_services(settings.model_copy(update={"instance_name": "bench-b"}), clock)
        carry_events(a2)
        relay = carry_events(b)
        assert relay is not None
        remote = Arrivals()
        b.bus.subscribe(remote)
        stop = asyncio.Event()
        task = asyncio.create_task(relay.run(stop))
        await asyncio.sleep(0.5)  # the relay is listening
        across = await measure(a2, remote, ticket.number, changes)
        stop.set()
        await task
    finally:
        await close_database()
    rows = []
    for name, values in (("one instance: in process", in_process),
                         ("A -> B: row + NOTIFY + relay", across)):
        rows.append([name, len(values)] + [round(percentile(values, q), 2)
                                           for q in (50, 90, 99)] + [round(max(values), 2)])
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=300)
    parser.add_argument("--admin-url", help="an existing server's admin URL")
    parser.add_argument("--work", type=Path, default=Path("/tmp/atiende-bench-relay"))
    args = parser.parse_args()
    server = PostgresServer()
    if args.admin_url:
        server.admin_url = args.admin_url
    else:
        server.start()
    try:
        url = await server.create_database()
        try:
            rows = await run(url, args.changes, args.work)
        finally:
            await server.drop_database(url)
    finally:
        if not args.admin_url:
            server.stop()
    print(machine())
    print("change committed -> card subscriber told (ms, includes the commit itself)")
    print_table(["path", "n", "p50", "p90", "p99", "max"], rows)


if __name__ == "__main__":
    asyncio.run(main())

"""Benchmark: WhatsApp intake with one and with two ``atiende run`` on one PostgreSQL,
and failover time of the once-only loops after a SIGKILL.

Run: ``python bench/two_instances.py [--messages 1000] [--customers 200]
[--concurrency 16] [--lease-seconds 15] [--admin-url postgres://…]``.

Without ``--admin-url`` a throw-away PostgreSQL 15 is started (``tests/servers/postgres.py``,
fsync off). Each configuration gets a fresh migrated database and fresh real ``atiende run``
processes (WhatsApp front end: a signed webhook is verified, parsed and stored before its
200). The client (this process) posts ``messages`` pre-signed webhooks with
``concurrency`` workers, round-robin over the instances, as a load balancer would, then
checks that every message was stored exactly once. Failover: the instance holding the
leases is killed (SIGKILL) and the survivor's ``/healthz`` is polled every 50 ms until it
lists every once-only lease.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, print_table  # noqa: E402
from whatsapp_webhooks import APP_SECRET, PATH, PHONE_NUMBER_ID, signed_requests  # noqa: E402

from tests.reliability.crash_harness import AtiendeProcess  # noqa: E402
from tests.servers._support import free_port  # noqa: E402
from tests.servers.postgres import PostgresServer  # noqa: E402

ONCE_ONLY = {"conformity", "reminders", "ticket-events"}


def env_for(url: str, data_dir: Path, port: int, lease_seconds: float) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
        "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_DATABASE_URL": url,
        "ATIENDE_HTTP_HOST": "127.0.0.1", "ATIENDE_HTTP_PORT": str(port),
        "ATIENDE_LOG_LEVEL": "WARNING", "ATIENDE_LEASE_SECONDS": str(lease_seconds),
        "ATIENDE_WHATSAPP_API_URL": "http://127.0.0.1:9/v21.0",  # never called
        "ATIENDE_WHATSAPP_TOKEN": "bench", "ATIENDE_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "ATIENDE_WHATSAPP_APP_SECRET": APP_SECRET, "ATIENDE_WHATSAPP_VERIFY_TOKEN": "bench",
    })
    return env


async def stored(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        # Distinct ids: a message stored twice would count once here and twice in rows.
        rows, distinct = await conn.fetchrow(
            "SELECT count(*), count(DISTINCT external_id) FROM interacciones "
            "WHERE channel = 'whatsapp' AND kind = 'entrante'")
        return int(rows) if rows == distinct else -int(rows)
    finally:
        await conn.close()


async def post_all(procs: list[AtiendeProcess], requests: list[tuple[bytes, dict[str, str]]],
                   concurrency: int) -> float:
    queue = iter(enumerate(requests))
    targets = itertools.cycle(procs)

    async def worker(http: httpx.AsyncClient) -> None:
        for _i, (body, headers) in queue:
            proc = next(targets)
            reply = await http.post(f"{proc.url}{PATH}", content=body, headers=headers)
            reply.raise_for_status()

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return time.perf_counter() - started


async def held(http: httpx.AsyncClient, proc: AtiendeProcess) -> set[str]:
    try:
        reply = await http.get(f"{proc.url}/healthz", timeout=1)
    except httpx.HTTPError:
        return set()
    return {lease["name"] for lease in reply.json().get("leases", [])}


async def run_config(server: PostgresServer, base: Path, instances: int,
                     args: argparse.Namespace) -> dict[str, object]:
    from db.connection import upgrade

    url = await server.create_database()
    await upgrade(url)
    procs = [AtiendeProcess(env_for(url, base / "data", port, args.lease_seconds), base, port,
                            base / f"run-{instances}-{i}.log")
             for i, port in enumerate(free_port() for _ in range(instances))]
    result: dict[str, object] = {"instances": instances}
    try:
        for proc in procs:
            await proc.start(timeout=60)
        requests = signed_requests(args.messages, args.customers, f"i{instances}x")
        seconds = await post_all(procs, requests, args.concurrency)
        result.update(seconds=round(seconds, 2), per_second=round(args.messages / seconds, 1),
                      stored=await stored(url))
        if instances > 1:
            async with httpx.AsyncClient() as http:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    holders = [p for p in procs if await held(http, p) == ONCE_ONLY]
                    if len(holders) == 1:
                        break
                    await asyncio.sleep(0.1)
                holder = holders[0]
                survivor = next(p for p in procs if p is not holder)
                holder.kill()
                killed = time.monotonic()
                while await held(http, survivor) != ONCE_ONLY:  # noqa: ASYNC110 (a real process)
                    await asyncio.sleep(0.05)
                result["failover_s"] = round(time.monotonic() - killed, 2)
    finally:
        for proc in procs:
            proc.stop()
        await server.drop_database(url)
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--lease-seconds", type=float, default=15.0)
    parser.add_argument("--admin-url", help="an existing server's admin URL")
    args = parser.parse_args()
    server = PostgresServer()
    if args.admin_url:
        server.admin_url = args.admin_url
    else:
        server.start()
    try:
        with tempfile.TemporaryDirectory(prefix="atiende-two-") as tmp:
            rows = []
            for instances in (1, 2):
                base = Path(tmp) / f"n{instances}"
                base.mkdir()
                r = await run_config(server, base, instances, args)
                rows.append([r["instances"], args.messages, r["stored"], r["seconds"],
                             r["per_second"], r.get("failover_s", "")])
    finally:
        if not args.admin_url:
            server.stop()
    print(machine())
    print_table(["instances", "posted", "stored", "seconds", "msgs/s", "failover s"], rows)


if __name__ == "__main__":
    asyncio.run(main())

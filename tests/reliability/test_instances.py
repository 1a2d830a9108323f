"""Two instances on one database: the outbox never sends a row twice, and the once-only
loops (Telegram polling, reminders, conformity sweep, daily records jobs, weekly report)
run on one ``atiende run`` at a time and move to the other within the lease when it is
killed (SIGKILL).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from bot.outgoing.outbox import OutboundMessage, SendResult
from bot.process.clock import ManualClock
from bot.process.domain import Canal, DeliveryStatus, Rol
from bot.process.views import Actor
from bot.services import Services, build_services
from db.connection import close_database, open_database, upgrade
from db.models import OutboxMessage
from tests.servers import FakeGraph, FakeTelegram
from tests.servers._support import free_port

from .crash_harness import AtiendeProcess, wait_until

REPLIES = 120
LEASE_SECONDS = 1.5
ONCE_ONLY = {"conformity", "reminders", "telegram-polling", "records-daily", "weekly-report",
             "ticket-events"}


class Recorder:
    """A channel sender that yields mid-send, so two workers really interleave."""

    def __init__(self, name: str, sent: list[tuple[str, int]]) -> None:
        self.name, self.sent = name, sent

    async def send(self, message: OutboundMessage) -> SendResult:
        await asyncio.sleep(0)
        self.sent.append((self.name, message.outbox_id))
        return SendResult(provider_id=f"{self.name}-{message.outbox_id}")


async def test_two_outbox_workers_never_send_a_row_twice(services: Services,
                                                          clock: ManualClock) -> None:
    carla = Actor.of(await services.team.add("Carla", Rol.ADMIN))
    customer = await services.customers.find_or_create(email="ana@example.cl")
    view = await services.tickets.open(carla, customer_id=customer.id, channel=Canal.EMAIL,
                                       description="Consulta")
    for i in range(REPLIES):
        await services.tickets.reply(carla, view.number, text=f"Respuesta {i}")
    other = build_services(services.settings, clock)  # the second instance's services
    sent: list[tuple[str, int]] = []
    services.outbox.register(Canal.EMAIL, Recorder("one", sent))
    other.outbox.register(Canal.EMAIL, Recorder("two", sent))
    for _ in range(REPLIES):
        if not await OutboxMessage.filter(status=DeliveryStatus.PENDING).exists():
            break
        await asyncio.gather(services.outbox.deliver_due(limit=10),
                             other.outbox.deliver_due(limit=10))
    ids = [outbox_id for _, outbox_id in sent]
    assert len(ids) == REPLIES and len(set(ids)) == REPLIES  # each row once, none lost
    assert await OutboxMessage.filter(status=DeliveryStatus.SENT).count() == REPLIES
    assert {who for who, _ in sent} == {"one", "two"}  # both workers took part


def _env(url: str, data_dir: Path, port: int, graph: FakeGraph,
         telegram: FakeTelegram) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("ATIENDE_")}
    env.update({
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "ATIENDE_DATA_DIR": str(data_dir), "ATIENDE_DATABASE_URL": url,
        "ATIENDE_HTTP_HOST": "127.0.0.1", "ATIENDE_HTTP_PORT": str(port),
        "ATIENDE_LEASE_SECONDS": str(LEASE_SECONDS),
        "ATIENDE_TELEGRAM_TOKEN": telegram.token, "ATIENDE_TELEGRAM_API_URL": telegram.base_url,
        "ATIENDE_WHATSAPP_API_URL": graph.api_url, "ATIENDE_WHATSAPP_TOKEN": graph.access_token,
        "ATIENDE_WHATSAPP_PHONE_NUMBER_ID": graph.phone_number_id,
        "ATIENDE_WHATSAPP_APP_SECRET": "instances-secret",
        "ATIENDE_WHATSAPP_VERIFY_TOKEN": "instances-verify",
    })
    return env


async def _leases(http: httpx.AsyncClient, proc: AtiendeProcess) -> set[str]:
    reply = await http.get(f"{proc.url}/healthz")
    return {lease["name"] for lease in reply.json()["leases"]}


@pytest.mark.postgres
@pytest.mark.timeout(180)
async def test_two_processes_share_the_once_only_loops(postgres_url: str, tmp_path: Path,
                                                       fake_graph: FakeGraph,
                                                       fake_telegram: FakeTelegram) -> None:
    await upgrade(postgres_url)
    procs = [AtiendeProcess(_env(postgres_url, tmp_path / f"data{i}", port, fake_graph,
                                 fake_telegram), tmp_path, port, tmp_path / f"run{i}.log")
             for i, port in enumerate((free_port(), free_port()))]
    try:
        for proc in procs:
            await proc.start()
        async with httpx.AsyncClient(timeout=2.0) as http:
            async def split() -> object:
                held = [await _leases(http, p) for p in procs]
                return True if sorted(held, key=len) == [set(), ONCE_ONLY] else held

            await wait_until(split, 30, "one instance holding every once-only lease")
            holder, survivor = procs if await _leases(http, procs[0]) else procs[::-1]
            await fake_telegram.wait_for("getUpdates", 2)
            assert fake_telegram.poll_conflicts == 0  # one instance polls, never two
            holder.kill()
            killed = time.monotonic()

            async def taken_over() -> object:
                held = await _leases(http, survivor)
                return True if held == ONCE_ONLY else held

            await wait_until(taken_over, 30, "the survivor taking the leases over",
                             interval=0.05)
            failover = time.monotonic() - killed
            polls = len(fake_telegram.calls_to("getUpdates"))
            await fake_telegram.wait_for("getUpdates", polls + 1)  # the survivor polls
            # At most the dead instance's abandoned long poll, ended by the survivor's.
            assert fake_telegram.poll_conflicts <= 1
            # The lease length plus one retry interval, with room for a loaded machine.
            assert failover <= LEASE_SECONDS * 4 / 3 + 3.0, failover
        await open_database(postgres_url)
        try:
            from db.models import Lease

            rows = await Lease.all()
            assert {r.name for r in rows} == ONCE_ONLY
            assert {r.holder for r in rows} != set() and len({r.holder for r in rows}) == 1
        finally:
            await close_database()
    finally:
        for proc in procs:
            proc.stop()

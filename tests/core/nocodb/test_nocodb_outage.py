"""An outage mid-backfill (refused connections, 429, 500, responses lost after NocoDB
acted) delays the push and loses or duplicates nothing; the team is told once."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.nocodb import push
from bot.nocodb.backfill import backfill
from bot.nocodb.push import Pusher
from bot.nocodb.schema import setup
from bot.process.clock import ManualClock
from bot.process.domain import Canal
from bot.process.settings import Settings
from bot.process.views import Actor
from bot.services import Services
from db.models import Interaction, NocoSync
from handlers.nocodb.api import HttpNocoApi
from tests.core.nocodb.harness import nocodb_settings
from tests.servers.fault_proxy import FaultProxy
from tests.servers.nocodb import NocoDBServer


@pytest.fixture
def settings(tmp_path: Path, nocodb_server: NocoDBServer) -> Settings:
    # Queue nothing while the history is written: the backfill must find it all.
    s = nocodb_settings(tmp_path, nocodb_server, nocodb_unreachable_alert_seconds=20)
    return s.model_copy(update={"nocodb_url": ""})


@pytest.fixture
async def proxy(nocodb_server: NocoDBServer) -> AsyncIterator[FaultProxy]:
    host, port = nocodb_server.url.removeprefix("http://").split(":")
    async with FaultProxy(host, int(port)) as p:
        yield p


async def test_outage_mid_backfill_loses_nothing_and_duplicates_nothing(
        services: Services, settings: Settings, clock: ManualClock, proxy: FaultProxy,
        nocodb_server: NocoDBServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(push, "BATCH", 7)  # many small requests, so faults land mid-way
    for n in range(12):
        customer = await services.customers.find_or_create(
            email=f"cliente{n}@empresa.cl", name=f"Cliente {n}")
        await services.tickets.open(Actor.system("Correo"), customer_id=customer.id,
                                    channel=Canal.EMAIL, description=f"Problema {n}")
    assert await NocoSync.all().count() == 0
    api = HttpNocoApi(proxy.url, settings.nocodb_token)
    alerts: list[str] = []
    slept: list[float] = []

    async def alert(title: str, text: str) -> None:
        alerts.append(text)

    async def sleep(seconds: float) -> None:  # waiting out the outage moves the clock
        slept.append(seconds)
        clock.advance(seconds=seconds)

    try:
        await setup(api, settings)
        pusher = Pusher(api, settings, clock, alert, sleep=sleep)
        faults = ["refuse", "500", "429", "lost", "refuse", "500", "lost", "429", "refuse"]
        proxy.plan(faults, after=6)
        queued, pushed = await backfill(pusher, clock)
    finally:
        await api.aclose()
    seen = Counter(line.split()[0] for line in proxy.seen)
    assert all(seen[f] >= 1 for f in ("refuse", "500", "429", "lost"))
    assert len(slept) == len(faults)  # every fault was waited out, then retried
    assert queued == 12 + 12 + await Interaction.all().count()
    assert await NocoSync.all().count() == 0
    tables = nocodb_server.tables(settings.nocodb_base_id)
    for table, key, expected in (("Clientes", "Atiende_Id", 12), ("Tickets", "Ticket", 12),
                                 ("Interacciones", "Atiende_Id", queued - 24)):
        keys = [r[key] for r in nocodb_server.rows(tables[table])]
        assert len(keys) == expected and len(set(keys)) == expected, table
    assert all(r["Ticket"] for r in nocodb_server.rows(tables["Interacciones"]))
    assert len(alerts) == 1 and "no se pierde nada" in alerts[0]

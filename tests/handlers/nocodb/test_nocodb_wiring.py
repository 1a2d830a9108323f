"""NocoDB wiring without a NocoDB: the front end is built when the URL is set, nothing is
queued when it is not, and an outage longer than the setting is told to the team once."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.app.run import configured_front_ends
from bot.nocodb import push
from bot.nocodb.api import NocoUnavailable
from bot.nocodb.mapping import Schema, customer_fields
from bot.nocodb.push import Pusher
from bot.process.clock import ManualClock
from bot.process.domain import Canal
from bot.process.settings import Settings
from bot.process.views import Actor
from bot.services import Services, build_services
from db.models import Customer, NocoRow, NocoSync
from tests.conftest import Team
from tests.core.nocodb.harness import RecordingNotifier
from tests.servers._support import free_port


async def test_nothing_is_queued_while_nocodb_is_off(services: Services,
                                                     clock: ManualClock) -> None:
    services = build_services(services.settings.model_copy(update={"nocodb_url": ""}), clock)
    customer = await services.customers.find_or_create(email="a@b.cl", name="A")
    await services.tickets.open(Actor.system(), customer_id=customer.id, channel=Canal.EMAIL,
                                description="hola")
    assert await NocoSync.all().count() == 0
    assert all(front.name != "nocodb" for front in configured_front_ends(services))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data",  # type: ignore[call-arg]
                    database_url=f"sqlite://{tmp_path / 'atiende.db'}",
                    nocodb_url=f"http://127.0.0.1:{free_port()}", nocodb_token="t",
                    nocodb_base_id="p1", nocodb_webhook_secret="s",
                    nocodb_unreachable_alert_seconds=300, http_port=0)


async def test_outage_is_told_once_and_changes_wait_in_the_queue(
        services: Services, team: Team, clock: ManualClock) -> None:
    notifier = RecordingNotifier()
    services.notifiers.append(notifier)
    fronts = configured_front_ends(services)
    noco = next(front for front in fronts if front.name == "nocodb")
    paths = [getattr(r, "path", "") for r in noco.routes()]  # type: ignore[attr-defined]
    assert paths == ["/webhooks/nocodb"]
    customer = await services.customers.find_or_create(email="a@b.cl", name="A")
    await services.tickets.open(Actor.system(), customer_id=customer.id, channel=Canal.EMAIL,
                                description="hola")
    queued = await NocoSync.all().count()
    assert queued == 3  # the customer, the ticket, its first interaction
    pusher = noco.pusher  # type: ignore[attr-defined]
    for _ in range(4):  # nothing listens on that port: connection refused
        with pytest.raises(NocoUnavailable):
            await pusher.push_once()
        await pusher.unreachable(NocoUnavailable("refused"))
        clock.advance(seconds=120)
    await noco.api.aclose()  # type: ignore[attr-defined]
    assert await NocoSync.all().count() == queued
    assert len(notifier.digests) == 2  # once: to the channel and to the administrator
    assert {d.audience.value for d in notifier.digests} == {"channel", "admin"}
    assert "más de 5 min" in notifier.digests[0].summary


async def test_drain_goes_on_past_a_pass_where_nothing_changed(
        services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    class Refusing:  # any request would be a bug: every record is already up to date
        def __getattr__(self, name: str) -> object:
            raise AssertionError(f"unexpected NocoDB call {name}")

    customer = await services.customers.find_or_create(email="a@b.cl", name="A")
    pusher = Pusher(Refusing(), services.settings, services.clock)  # type: ignore[arg-type]
    pusher.schema = Schema(tables={"Clientes": "m1"})
    values = customer_fields(await Customer.get(id=customer.id))
    await NocoRow.create(kind="cliente", ref_id=customer.id, row_id=1, pushed=values,
                         pushed_at=services.clock.now())
    await NocoSync.filter().delete()
    await NocoSync.bulk_create([NocoSync(kind="cliente", ref_id=customer.id,
                                         created_at=services.clock.now()) for _ in range(5)])
    monkeypatch.setattr(push, "PASS_LIMIT", 2)
    assert await pusher.drain() == 0
    assert await NocoSync.all().count() == 0


async def test_the_sync_loops_are_handed_to_the_lease(services: Services) -> None:
    """Two instances must not both push (each could insert the same new row): the root
    runs the push and reconciliation loops under a lease, and start() leaves them."""
    from bot.app.run import exclusive_jobs

    fronts = configured_front_ends(services)
    noco = next(front for front in fronts if front.name == "nocodb")
    assert "nocodb-sync" in exclusive_jobs(fronts)
    await noco.start()
    try:
        assert noco._tasks == []  # type: ignore[attr-defined]
    finally:
        await noco.stop()

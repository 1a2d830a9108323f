"""Edits made in the real NocoDB come back through its webhooks (and the periodic
reconciliation) into the ticket's history; forbidden edits are put back, with a note."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app.frontend import wired
from bot.nocodb.schema import setup
from bot.process.domain import Canal, Estado, InteractionKind, Prioridad
from bot.process.settings import Settings
from bot.process.views import Actor
from bot.services import Services
from db.models import Customer, Interaction, NocoRow, Ticket
from handlers.nocodb import NocoFrontEnd
from handlers.nocodb.api import HttpNocoApi
from handlers.web import WebServer, build_app
from tests.conftest import Team
from tests.core.nocodb.harness import SECRET, RecordingNotifier, nocodb_settings
from tests.servers.nocodb import NocoDBServer


@pytest.fixture
def settings(tmp_path: Path, nocodb_server: NocoDBServer) -> Settings:
    return nocodb_settings(tmp_path, nocodb_server)


@dataclass
class Sync:
    front: NocoFrontEnd
    web: WebServer
    notifier: RecordingNotifier
    tables: dict[str, str]


@pytest.fixture
async def sync(services: Services, team: Team, settings: Settings,
               nocodb_server: NocoDBServer) -> AsyncIterator[Sync]:
    notifier = RecordingNotifier()
    services.notifiers.append(notifier)
    front = wired(services, NocoFrontEnd(services, HttpNocoApi(settings.nocodb_url, settings.nocodb_token)))
    web = WebServer(build_app(front.routes()), "127.0.0.1", 0)
    await web.start()
    try:
        await setup(front.api, settings, f"{web.url}/webhooks/nocodb")
        yield Sync(front, web, notifier, nocodb_server.tables(settings.nocodb_base_id))
    finally:
        await web.stop()
        await front.api.aclose()


async def until(check: Callable[[], Awaitable[bool]], limit: float = 20.0) -> None:
    """Wait for NocoDB's webhook (sent by another process) to have been handled."""
    deadline = time.monotonic() + limit
    while not await check():
        assert time.monotonic() < deadline, "NocoDB's webhook never arrived"
        await asyncio.sleep(0.05)


async def _ticket(services: Services, sync: Sync) -> tuple[int, int]:
    customer = await services.customers.find_or_create(phone="+56911112222", name="Luis Soto")
    view = await services.tickets.open(Actor.system("WhatsApp"), customer_id=customer.id,
                                       channel=Canal.WHATSAPP, description="Sin internet")
    await sync.front.pusher.drain()
    row = await NocoRow.get(kind="ticket", ref_id=view.number)
    return view.number, row.row_id


async def test_edits_in_nocodb_come_back_into_the_history(
        services: Services, sync: Sync, nocodb_server: NocoDBServer, team: Team) -> None:
    number, row_id = await _ticket(services, sync)
    nocodb_server.call("PATCH", f"/api/v2/tables/{sync.tables['Tickets']}/records",
                       [{"Id": row_id, "Prioridad": "Alta", "Tipo_Incidencia": "Consulta",
                         "Responsable": "Sofía"}])

    async def applied() -> bool:
        t = await Ticket.get(id=number)
        return t.prioridad == Prioridad.ALTA and t.assignee_id == team.sofia.id  # type: ignore[attr-defined]

    await until(applied)
    lines = [i for i in await Interaction.filter(ticket_id=number, kind=InteractionKind.EVENT)
             if i.meta.get("source") == "nocodb"]
    assert {(i.field, i.new_value) for i in lines} == {
        ("Prioridad", "Alta"), ("Tipo_Incidencia", "Consulta"), ("Responsable", "Sofía")}
    assert {i.author_name for i in lines} == {"admin@example.com (NocoDB)"}
    # The change goes back out and its echo is not taken for a new edit.
    await sync.front.pusher.drain()
    count = await Interaction.filter(ticket_id=number).count()
    [row] = nocodb_server.rows(sync.tables["Tickets"])
    echo = {"data": {"table_id": sync.tables["Tickets"], "rows": [row]}}
    assert await sync.front.puller.receive(echo) == 0
    assert await Interaction.filter(ticket_id=number).count() == count

    # A customer's phone corrected in NocoDB reaches the customer and the history.
    [client] = nocodb_server.rows(sync.tables["Clientes"])
    nocodb_server.call("PATCH", f"/api/v2/tables/{sync.tables['Clientes']}/records",
                       [{"Id": client["Id"], "Telefono": "+56 9 3333 4444", "RUT": "12.345.678-5"}])

    async def phone() -> bool:
        c = await Customer.get(id=client["Atiende_Id"])
        return c.phone == "+56933334444" and c.rut == "12.345.678-5"

    await until(phone)
    assert await Interaction.filter(ticket_id=number, field="Cliente.Telefono",
                                    new_value="+56933334444").exists()


async def test_forbidden_edit_is_put_back_with_a_note(
        services: Services, sync: Sync, nocodb_server: NocoDBServer) -> None:
    number, row_id = await _ticket(services, sync)
    nocodb_server.call("PATCH", f"/api/v2/tables/{sync.tables['Tickets']}/records",
                       [{"Id": row_id, "Estado": "Resuelto"}])

    async def noted() -> bool:
        return await Interaction.filter(ticket_id=number, kind=InteractionKind.NOTE).exists()

    await until(noted)
    ticket = await Ticket.get(id=number)
    assert ticket.estado == Estado.NEW and ticket.resolved_at is None
    note = await Interaction.get(ticket_id=number, kind=InteractionKind.NOTE)
    assert "no se aplicó" in note.body and "conformidad" in note.body
    assert any("conformidad" in text for text in sync.notifier.texts)
    await sync.front.pusher.drain()
    [row] = nocodb_server.rows(sync.tables["Tickets"])
    assert row["Estado"] == "Nuevo"  # put back


async def test_reconciliation_catches_a_missed_webhook(
        services: Services, sync: Sync, nocodb_server: NocoDBServer, settings: Settings
        ) -> None:
    number, row_id = await _ticket(services, sync)
    await services.kv.set("nocodb", "reconciled:Tickets", {"at": "2020-01-01 00:00:00+00:00"})
    hooks = nocodb_server.call("GET", f"/api/v2/meta/tables/{sync.tables['Tickets']}/hooks")
    for hook in hooks["list"]:  # the webhook is lost
        nocodb_server.call("DELETE", f"/api/v2/meta/hooks/{hook['id']}")
    nocodb_server.call("PATCH", f"/api/v2/tables/{sync.tables['Tickets']}/records",
                       [{"Id": row_id, "Prioridad": "Baja"}])
    assert (await Ticket.get(id=number)).prioridad is None
    assert await sync.front.puller.reconcile() == 1
    assert (await Ticket.get(id=number)).prioridad == Prioridad.BAJA
    assert await sync.front.puller.reconcile() == 0  # nothing new since


async def test_webhook_refuses_a_wrong_secret_and_a_huge_body(sync: Sync) -> None:
    import httpx

    async with httpx.AsyncClient(base_url=sync.web.url) as client:
        bad = await client.post("/webhooks/nocodb", json={}, headers={"X-Atiende-Secret": "x"})
        big = await client.post("/webhooks/nocodb", content=b"{" + b" " * (3 << 20) + b"}",
                                headers={"X-Atiende-Secret": SECRET})
        good = await client.post("/webhooks/nocodb", json={"data": {}},
                                 headers={"X-Atiende-Secret": SECRET})
    assert (bad.status_code, big.status_code, good.status_code) == (401, 413, 200)


async def test_a_row_we_have_not_written_yet_is_not_an_edit(
        services: Services, sync: Sync, nocodb_server: NocoDBServer) -> None:
    number, row_id = await _ticket(services, sync)
    await NocoRow.filter(kind="ticket", ref_id=number).update(pushed={})  # e.g. just imported
    row = {"Id": row_id, "Ticket": number, "Estado": "Resuelto", "Prioridad": "Alta"}
    payload = {"data": {"table_id": sync.tables["Tickets"], "rows": [row]}}
    assert await sync.front.puller.receive(payload) == 0
    assert not await Interaction.filter(ticket_id=number, kind=InteractionKind.NOTE).exists()
    assert (await Ticket.get(id=number)).prioridad is None


async def test_running_sync_shows_a_new_ticket_within_seconds(
        services: Services, sync: Sync, nocodb_server: NocoDBServer) -> None:
    await sync.front.start()  # as `atiende run` does: the pusher wakes on every change
    try:
        customer = await services.customers.find_or_create(email="rapido@c.cl", name="Rápido")
        view = await services.tickets.open(Actor.system("Correo"), customer_id=customer.id,
                                           channel=Canal.EMAIL, description="Urgente")

        async def visible() -> bool:
            rows = await asyncio.to_thread(nocodb_server.rows, sync.tables["Tickets"])
            return [r["Ticket"] for r in rows] == [view.number]

        await until(visible, limit=10)
    finally:
        await sync.front.stop()

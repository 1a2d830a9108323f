"""``atiende nocodb import`` of a base the company filled by hand, and the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.commands.nocodb import run
from bot.nocodb.importer import import_base
from bot.nocodb.push import Pusher
from bot.nocodb.schema import setup
from bot.process.domain import Canal, Estado, Prioridad
from bot.process.settings import Settings
from bot.process.views import Actor
from bot.services import Services
from db.models import Customer, NocoRow, Ticket
from handlers.nocodb.api import HttpNocoApi
from tests.core.nocodb.harness import nocodb_settings
from tests.servers.nocodb import NocoDBServer


@pytest.fixture
def settings(tmp_path: Path, nocodb_server: NocoDBServer) -> Settings:
    return nocodb_settings(tmp_path, nocodb_server)


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[HttpNocoApi]:
    client = HttpNocoApi(settings.nocodb_url, settings.nocodb_token)
    yield client
    await client.aclose()


async def test_import_of_a_base_filled_by_hand(
        services: Services, api: HttpNocoApi, settings: Settings,
        nocodb_server: NocoDBServer) -> None:
    known = await services.customers.find_or_create(phone="+56922223333", name="Marta")
    await setup(api, settings)
    tables = nocodb_server.tables(settings.nocodb_base_id)
    fk = next(c["title"] for c in nocodb_server.call(
        "GET", f"/api/v2/meta/tables/{tables['Tickets']}")["columns"] if c["uidt"] == "ForeignKey")
    clientes = nocodb_server.call("POST", f"/api/v2/tables/{tables['Clientes']}/records", [
        {"Nombre": "Marta Díaz", "Telefono": "9 2222 3333"},  # same phone, written otherwise
        {"Nombre": "Pedro Pérez", "Correo": "Pedro@Empresa.CL", "RUT": "11.111.111-1"},
        {"Nombre": "Sin datos"},
    ])
    ids = [c["Id"] for c in clientes]
    nocodb_server.call("POST", f"/api/v2/tables/{tables['Tickets']}/records", [
        {"Asunto": "Factura duplicada", "Descripcion": "Me cobraron dos veces",
         "Prioridad": "Alta", "Estado": "En proceso", fk: ids[0]},
        {"Asunto": "Consulta antigua", "Estado": "Resuelto", fk: ids[1]},
        {"Asunto": "Web caída", "Estado": "Nuevo", fk: ids[1]},
    ])
    pusher = Pusher(api, settings, services.clock)
    report = await import_base(api, services, pusher)
    assert (report.customers_matched, report.customers_created, report.tickets_created) == \
        (1, 2, 2)
    await pusher.drain()

    marta = await Customer.get(id=known.id)
    assert marta.name == "Marta" and marta.phone == "+56922223333"
    pedro = await Customer.get(email="pedro@empresa.cl")
    assert pedro.rut == "11.111.111-1"
    tickets = await Ticket.all().order_by("id")
    assert [(t.subject, t.customer_id, t.prioridad) for t in tickets] == [  # type: ignore[attr-defined]
        ("Factura duplicada", known.id, Prioridad.ALTA), ("Web caída", pedro.id, None)]
    rows = nocodb_server.rows(tables["Tickets"])
    assert len(rows) == 3  # the same rows, now carrying our numbers
    by_subject = {r["Asunto"]: r for r in rows}
    assert by_subject["Factura duplicada"]["Ticket"] == tickets[0].id
    assert by_subject["Factura duplicada"]["Estado"] == Estado.NEW.value
    assert by_subject["Consulta antigua"]["Ticket"] is None
    assert sorted(r["Atiende_Id"] for r in nocodb_server.rows(tables["Clientes"])) == sorted(
        [known.id, pedro.id, (await Customer.get(name="Sin datos")).id])

    again = await import_base(api, services, pusher)  # a second run brings nothing new
    assert (again.customers_created, again.customers_matched, again.tickets_created) == (0, 0, 0)
    assert await Ticket.all().count() == 2
    assert await NocoRow.filter(kind="ticket").count() == 2


async def test_cli_setup_check_and_backfill(
        services: Services, api: HttpNocoApi, settings: Settings,
        nocodb_server: NocoDBServer) -> None:
    out: list[str] = []
    assert await run("check", api, settings, out.append) == 1
    assert out[0] == "falta la tabla Clientes"
    out.clear()
    assert await run("setup", api, settings, out.append) == 0
    assert "tabla Clientes creada" in out and out[-1] == "Listo."
    out.clear()
    assert await run("setup", api, settings, out.append) == 0
    assert out[-1] == "Nada que hacer: la base ya está completa."
    out.clear()
    assert await run("check", api, settings, out.append) == 0 and out == ["Todo en orden."]

    customer = await services.customers.find_or_create(email="x@y.cl", name="X")
    await services.tickets.open(Actor.system(), customer_id=customer.id, channel=Canal.EMAIL,
                                description="hola")
    from bot.nocodb.backfill import backfill

    pusher = Pusher(api, settings, services.clock)
    queued, pushed = await backfill(pusher, services.clock)
    assert pushed == 3
    queued, pushed = await backfill(pusher, services.clock)  # resumable: nothing left
    assert (queued, pushed) == (0, 0)
